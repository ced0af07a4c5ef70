//! What the ScyllaDB backend tells operators: each cluster failure it meets, as one counter
//! by kind and one log line, emitted together, each append refused by a fence, and each
//! document group the group log's sweep settled or could not read.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec, register_int_counter, register_int_counter_vec};
use uuid::Uuid;

use super::group_log::Settlement;

/// Kinds of cluster failure, the `kind` label's only values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// The coordinator shed load (overloaded, rate limit reached).
    Overloaded,
    /// Too few replicas alive for the consistency level; nothing was written.
    Unavailable,
    /// Replicas did not answer in time; a write's outcome is unknown.
    Timeout,
    /// Anything else the driver reported.
    Other,
}

impl FailureKind {
    fn label(self) -> &'static str {
        match self {
            FailureKind::Overloaded => "overloaded",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Timeout => "timeout",
            FailureKind::Other => "other",
        }
    }
}

static FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_storage_scylla_failures_total",
        "ScyllaDB requests that failed after the driver's retries, by kind",
        &["kind"]
    )
    .expect("metric registers once")
});

static FENCED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_storage_scylla_fenced_appends_total",
        "Fenced appends refused because a newer lease epoch holds the stream"
    )
    .expect("metric registers once")
});

static GROUPS_SETTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_storage_scylla_document_groups_settled_total",
        "Document groups left behind by their writer that the sweep rolled forward or back",
        &["outcome"]
    )
    .expect("metric registers once")
});

static GROUPS_UNREADABLE: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_storage_scylla_document_groups_unreadable_total",
        "Group log intents a sweep met but could not decode; counted again at every sweep"
    )
    .expect("metric registers once")
});

/// A request failed after retries: counted, and logged where an operator may need to act.
pub(super) fn request_failed(operation: &str, kind: FailureKind, message: &str) {
    FAILURES.with_label_values(&[kind.label()]).inc();
    match kind {
        FailureKind::Overloaded => tracing::debug!(operation, message, "scylla request shed"),
        _ => tracing::warn!(
            operation,
            kind = kind.label(),
            message,
            "scylla request failed"
        ),
    }
}

/// A writer whose lease was taken over tried to append: expected after a takeover.
pub(super) fn append_fenced(stream: &str, epoch: u64, fence: u64) {
    FENCED.inc();
    tracing::info!(stream, epoch, fence, "append refused by the stream's fence");
}

/// Registers the ScyllaDB backend's metrics, so that `/metrics` lists each one (at zero)
/// before it first happens.
pub(super) fn register() {
    for kind in [
        FailureKind::Overloaded,
        FailureKind::Unavailable,
        FailureKind::Timeout,
        FailureKind::Other,
    ] {
        FAILURES.with_label_values(&[kind.label()]);
    }
    LazyLock::force(&FENCED);
    for outcome in ["forward", "back"] {
        GROUPS_SETTLED.with_label_values(&[outcome]);
    }
    LazyLock::force(&GROUPS_UNREADABLE);
}

/// The sweep settled a group its writer left behind: counted by outcome, and logged, since
/// it means a node died or a write failed midway.
pub(super) fn group_settled(group_id: Uuid, settlement: Settlement) {
    let outcome = match settlement {
        Settlement::Forward => "forward",
        Settlement::Back => "back",
    };
    GROUPS_SETTLED.with_label_values(&[outcome]).inc();
    tracing::info!(%group_id, outcome, "document group settled by the group log");
}

/// The sweep met an intent whose `writes` this build cannot decode; it stays in the log
/// until an operator settles it (its creates are tagged with the group id).
pub(super) fn group_unreadable(group_id: Uuid, shard: i32, reason: &str) {
    GROUPS_UNREADABLE.inc();
    tracing::error!(%group_id, shard, reason, "document group intent cannot be read");
}
