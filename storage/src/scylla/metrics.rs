//! What the ScyllaDB backend tells operators: each cluster failure it meets, as one counter
//! by kind and one log line, emitted together, and each append refused by a fence.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec, register_int_counter, register_int_counter_vec};

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
