//! Storage metrics, registered once in the process-wide Prometheus registry.

use std::sync::LazyLock;

use prometheus::{Histogram, IntCounter, register_histogram, register_int_counter};

/// Seconds one group commit took: batch write plus fsync.
pub(crate) static FLUSH_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "olymp_storage_flush_seconds",
        "Time of one group commit (write and fsync)",
        vec![
            0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5
        ]
    )
    .expect("metric registers once")
});

/// Append requests per group commit.
pub(crate) static FLUSH_REQUESTS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "olymp_storage_flush_requests",
        "Write requests that shared one fsync",
        vec![1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0, 1024.0, 4096.0]
    )
    .expect("metric registers once")
});

pub(crate) static EVENTS_STORED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!("olymp_storage_events_stored_total", "Events made durable")
        .expect("metric registers once")
});

pub(crate) static EVENTS_DUPLICATE: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_storage_events_duplicate_total",
        "Appended events skipped because their sequence was already stored"
    )
    .expect("metric registers once")
});

pub(crate) static WRITE_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "olymp_storage_write_failures_total",
        "Group commits that failed; the store refuses writes after one"
    )
    .expect("metric registers once")
});

/// Registers the embedded store's metrics, so that `/metrics` lists each one (at zero)
/// before it first happens.
pub fn register() {
    std::sync::LazyLock::force(&FLUSH_SECONDS);
    std::sync::LazyLock::force(&FLUSH_REQUESTS);
    std::sync::LazyLock::force(&EVENTS_STORED);
    std::sync::LazyLock::force(&EVENTS_DUPLICATE);
    std::sync::LazyLock::force(&WRITE_FAILURES);
}
