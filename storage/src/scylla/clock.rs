//! Client timestamps for document writes: microseconds since the Unix epoch from this node's
//! clock, set on each put and delete so that a group replayed later by another node keeps
//! its place in last-write-wins order. Nodes' clocks are assumed to agree within
//! milliseconds (NTP); a node whose clock runs ahead makes its writes win over later ones.

use std::time::{SystemTime, UNIX_EPOCH};

use ::scylla::statement::prepared::PreparedStatement;

/// Now, in microseconds since the Unix epoch (0 for a clock set before 1970).
pub(super) fn now_us() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

/// A timestamp after `timestamp_us` and not before now, for a write that must supersede one
/// made at `timestamp_us` even if the clock stepped back since.
pub(super) fn after(timestamp_us: i64) -> i64 {
    now_us().max(timestamp_us.saturating_add(1))
}

/// The statement, to run with `timestamp_us` as its write time. A clone of a prepared
/// statement shares its preparation, so this is cheap.
pub(super) fn at(statement: &PreparedStatement, timestamp_us: i64) -> PreparedStatement {
    let mut statement = statement.clone();
    statement.set_timestamp(Some(timestamp_us));
    statement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_after_another_is_later_even_when_that_one_is_in_the_future() {
        let now = now_us();
        assert!(now > 1_600_000_000_000_000, "microseconds since 1970");
        let future = now + 60_000_000;
        assert_eq!(after(future), future + 1);
        assert!(after(now - 1) >= now);
    }
}
