//! `/metrics` of a node that has done nothing yet lists every metric the operators'
//! documentation (dashboards/README.md) names, so that an alert on a counter's increase
//! fires on the first occurrence. Run on a fresh `olymp serve` process: in this test
//! binary other tests have touched the metrics already.

use std::net::SocketAddr;

use crate::crash::{free_port, serve, wait_healthy};
use crate::http_api::raw_get;

/// Metrics that appear only when they first happen, or only on other configurations.
const NOT_ON_A_FRESH_EMBEDDED_NODE: &[&str] = &[
    // One series per error code, created with the first refusal.
    "olymp_gateway_refused_total",
    // Memcached only.
    "olymp_cache_errors_total",
    "olymp_cache_skipped_total",
];

fn documented_metrics() -> Vec<String> {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboards/README.md");
    let text = std::fs::read_to_string(readme).unwrap();
    let names: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split(['`', '{']).next())
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 20, "the table lists the metrics: {names:?}");
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_lists_every_documented_metric() {
    let dir = tempfile::tempdir().unwrap();
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ws: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = serve(dir.path(), http, ws);
    wait_healthy(http).await;
    let metrics = raw_get(http, "/metrics").await;
    let _ = child.kill();
    let _ = child.wait();
    let missing: Vec<String> = documented_metrics()
        .into_iter()
        .filter(|name| !name.starts_with("olymp_storage_scylla_"))
        .filter(|name| !NOT_ON_A_FRESH_EMBEDDED_NODE.contains(&name.as_str()))
        .filter(|name| !metrics.contains(&format!("\n{name}")))
        .collect();
    assert!(
        missing.is_empty(),
        "not on /metrics: {missing:?}\n{metrics}"
    );
}
