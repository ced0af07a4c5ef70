//! Cache metrics and the log lines that go with them: one function per occurrence emits
//! both, so the two never disagree.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec, register_int_counter, register_int_counter_vec};

/// Which backend answered, as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    Memcached,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Memcached => "memcached",
        }
    }
}

static HITS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_cache_hits_total",
        "Cache reads that found a value, by backend",
        &["backend"]
    )
    .expect("metric registers once")
});

static MISSES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_cache_misses_total",
        "Cache reads that found nothing (absent, expired or backend unreachable), by backend",
        &["backend"]
    )
    .expect("metric registers once")
});

static ERRORS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_cache_errors_total",
        "Memcached calls that failed; each was served as a miss or skipped"
    )
    .expect("metric registers once")
});

static SKIPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_cache_skipped_total",
        "Memcached calls not made: backing off after a failure, or every call slot busy"
    )
    .expect("metric registers once")
});

/// Reads answered: `hits` found, `misses` not.
pub(crate) fn looked_up(backend: Backend, hits: usize, misses: usize) {
    HITS.with_label_values(&[backend.label()])
        .inc_by(hits as u64);
    MISSES
        .with_label_values(&[backend.label()])
        .inc_by(misses as u64);
}

/// A memcached call failed. `warn` is set at most once per warning interval, so that an
/// outage logs one line per interval however many calls fail.
pub(crate) fn memcached_failed(operation: &'static str, error: &str, warn: bool) {
    ERRORS.inc();
    if warn {
        tracing::warn!(
            operation,
            error,
            "memcached failing; reads are served from the store"
        );
    } else {
        tracing::debug!(operation, error, "memcached call failed");
    }
}

/// Memcached answered again after failing.
pub(crate) fn memcached_recovered(down_for_ms: u64) {
    tracing::info!(down_for_ms, "memcached answers again; cache in use");
}

/// A call was not sent to memcached.
pub(crate) fn memcached_skipped(operation: &'static str, reason: &'static str) {
    SKIPPED.inc();
    tracing::trace!(operation, reason, "memcached call skipped");
}

/// Registers the cache metrics for the backend in use, so that `/metrics` lists each one
/// (at zero) before it first happens.
pub(crate) fn register(backend: Backend) {
    HITS.with_label_values(&[backend.label()]);
    MISSES.with_label_values(&[backend.label()]);
    if backend == Backend::Memcached {
        LazyLock::force(&ERRORS);
        LazyLock::force(&SKIPPED);
    }
}
