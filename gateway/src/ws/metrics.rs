//! Gateway WebSocket metrics, with the log line of each occurrence beside its counter.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, IntGauge, register_int_counter_vec, register_int_gauge};

pub(super) static CONNECTIONS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "olymp_gateway_connections",
        "Open participant WebSocket connections"
    )
    .expect("metric registers once")
});

static REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "olymp_gateway_refused_total",
        "Frames and upgrades refused, by error code",
        &["code"]
    )
    .expect("metric registers once")
});

/// Registers the WebSocket metrics, so that `/metrics` lists them before the first
/// connection.
pub(crate) fn register() {
    LazyLock::force(&CONNECTIONS);
    LazyLock::force(&REFUSED);
}

/// A client mistake was answered: counted, logged at debug (nobody must act).
pub(super) fn refused(code: &'static str) {
    REFUSED.with_label_values(&[code]).inc();
    tracing::debug!(code, "client frame refused");
}
