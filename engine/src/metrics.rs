//! Engine metrics and the log lines that go with them: one function per occurrence emits
//! both, so the two never disagree.

use std::sync::LazyLock;

use prometheus::{
    Histogram, IntCounter, IntCounterVec, IntGauge, register_histogram, register_int_counter,
    register_int_counter_vec, register_int_gauge,
};
use storage::StoreError;

use crate::proctoring::ViolationKind;
use crate::session::events::{FinishReason, SessionEvent};

pub(crate) static SESSIONS_LIVE: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("olymp_sessions_live", "Session actors alive on this node")
        .expect("metric registers once")
});

pub(crate) static ANSWER_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "olymp_session_answer_seconds",
        "Time from an answer reaching its session actor to its acknowledgement being sent",
        vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0]
    )
    .expect("metric registers once")
});

static ANSWERS_SAVED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_session_answers_saved_total",
        "Answers stored durably"
    )
    .expect("metric registers once")
});

static SESSIONS_STARTED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!("olymp_sessions_started_total", "Sessions started")
        .expect("metric registers once")
});

static SESSIONS_FINISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_sessions_finished_total",
        "Sessions finished, by reason",
        &["reason"]
    )
    .expect("metric registers once")
});

static VIOLATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_proctoring_violations_total",
        "Proctoring violations recorded, by kind",
        &["kind"]
    )
    .expect("metric registers once")
});

static LEASES_LOST: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_session_leases_lost_total",
        "Session actors stopped because another node took their session over"
    )
    .expect("metric registers once")
});

/// Another node claimed the session (this node's lease ran out): the actor stops and
/// nothing more is stored from here.
pub(crate) fn lease_lost(session_id: &str) {
    LEASES_LOST.inc();
    tracing::warn!(
        session_id,
        "session taken over by another node; its actor stops here"
    );
}

/// An append found some of its sequences stored already: a write reported as failed had
/// landed. Nothing was acknowledged; the actor rereads its stream.
pub(crate) fn stream_ahead(session_id: &str, duplicates: usize) {
    STORAGE_FAILURES.inc();
    tracing::warn!(
        session_id,
        duplicates,
        "session stream held writes the actor had not applied; rereading it"
    );
}

static STORAGE_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_session_storage_failures_total",
        "Session writes the store refused; nothing was acknowledged for them"
    )
    .expect("metric registers once")
});

/// A session write failed: the command is refused and the operator must look. Logged at
/// most once per `FAILURE_LOG_INTERVAL_MS` (a failed store refuses every write), counted
/// always.
pub(crate) fn storage_failed(session_id: &str, error: &StoreError) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_LOGGED_MS: AtomicU64 = AtomicU64::new(0);
    STORAGE_FAILURES.inc();
    let now = crate::clock::now_ms();
    let last = LAST_LOGGED_MS.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= FAILURE_LOG_INTERVAL_MS
        && LAST_LOGGED_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let refused_total = STORAGE_FAILURES.get();
        tracing::error!(session_id, %error, refused_total, "session write refused by the store");
    }
}

const FAILURE_LOG_INTERVAL_MS: u64 = 10_000;

/// An event was stored and applied.
pub(crate) fn event_applied(session_id: &str, event: &SessionEvent) {
    match event {
        SessionEvent::Started { .. } => {
            SESSIONS_STARTED.inc();
            tracing::info!(session_id, "session started");
        }
        SessionEvent::AnswerSaved { client_seq, .. } => {
            ANSWERS_SAVED.inc();
            tracing::trace!(session_id, seq = client_seq, "answer stored");
        }
        SessionEvent::ViolationRecorded { kind, .. } => {
            VIOLATIONS
                .with_label_values(&[violation_label(*kind)])
                .inc();
            tracing::debug!(session_id, ?kind, "violation recorded");
        }
        SessionEvent::EvidenceStored { kind, bytes, .. } => {
            tracing::debug!(session_id, ?kind, bytes, "evidence linked");
        }
        SessionEvent::FlaggedForReview { weight, .. } => {
            tracing::info!(session_id, weight, "session flagged for review");
        }
        SessionEvent::ExtraTimeGranted { seconds, by, .. }
        | SessionEvent::ExtraTimeGrantedOnce { seconds, by, .. } => {
            tracing::info!(session_id, seconds, by, "extra time granted");
        }
        SessionEvent::Finished { reason, .. } => {
            SESSIONS_FINISHED
                .with_label_values(&[finish_label(*reason)])
                .inc();
            tracing::info!(session_id, ?reason, "session finished");
        }
    }
}

/// Registers every engine metric, so that `/metrics` lists each one (at zero) before it
/// first happens: an alert on a counter's increase then fires on its first occurrence.
pub fn register() {
    LazyLock::force(&SESSIONS_LIVE);
    LazyLock::force(&ANSWER_SECONDS);
    LazyLock::force(&ANSWERS_SAVED);
    LazyLock::force(&SESSIONS_STARTED);
    LazyLock::force(&LEASES_LOST);
    LazyLock::force(&STORAGE_FAILURES);
    for reason in [
        FinishReason::Submitted,
        FinishReason::Expired,
        FinishReason::Terminated,
    ] {
        SESSIONS_FINISHED.with_label_values(&[finish_label(reason)]);
    }
    for kind in ViolationKind::ALL {
        VIOLATIONS.with_label_values(&[violation_label(kind)]);
    }
}

fn finish_label(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Submitted => "submitted",
        FinishReason::Expired => "expired",
        FinishReason::Terminated => "terminated",
    }
}

fn violation_label(kind: ViolationKind) -> &'static str {
    kind.name()
}
