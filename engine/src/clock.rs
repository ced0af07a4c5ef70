//! The server's clock, the only clock Olymp trusts. Times are milliseconds since the Unix
//! epoch, in `u64`, named with an `_ms` suffix.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on this server.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A session's deadline: start + duration + extra time, never past the window's close.
pub fn deadline_ms(started_at_ms: u64, duration_s: u64, extra_s: u64, closes_at_ms: u64) -> u64 {
    let own = started_at_ms
        .saturating_add(duration_s.saturating_mul(1000))
        .saturating_add(extra_s.saturating_mul(1000));
    own.min(closes_at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_MS: u64 = 60_000;

    #[test]
    fn late_starter_gets_the_window_close() {
        let noon = 12 * 60 * MINUTE_MS;
        let half_past_eleven = noon - 30 * MINUTE_MS;
        assert_eq!(deadline_ms(half_past_eleven, 60 * 60, 0, noon), noon);
    }

    #[test]
    fn early_starter_gets_the_full_duration_plus_extra_time() {
        let noon = 12 * 60 * MINUTE_MS;
        let ten = 10 * 60 * MINUTE_MS;
        assert_eq!(deadline_ms(ten, 60 * 60, 0, noon), ten + 60 * MINUTE_MS);
        assert_eq!(deadline_ms(ten, 60 * 60, 600, noon), ten + 70 * MINUTE_MS);
        // Extra time never passes the window's close either.
        assert_eq!(deadline_ms(ten, 60 * 60, 3 * 3600, noon), noon);
    }
}
