//! `olymp serve --scylla`: a node on a ScyllaDB cluster. No cluster runs here, so these
//! tests check what a node does before it has one: a cluster that cannot be reached, or
//! settings that are wrong, stop it at once with an error that names the problem. Serving
//! on a real cluster is covered by the storage contract suite (`OLYMP_SCYLLA_NODES`) and,
//! for several nodes sharing one store, by the engine's ownership tests.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const OLYMP: &str = env!("CARGO_BIN_EXE_olymp");
const EXAM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zno-math/tests/math_raw.json"
);

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn olymp(args: &[&str]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let started = Instant::now();
    let output = Command::new(OLYMP)
        .args(args)
        .args(["--data-dir", data_dir])
        .env_remove("OLYMP_SCYLLA_NODES")
        .output()
        .unwrap();
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_node_whose_cluster_cannot_be_reached_stops_and_names_it() {
    let node = format!("127.0.0.1:{}", closed_port());
    for command in [
        &["serve", "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"][..],
        &["import", "--format", "zno", EXAM][..],
    ] {
        let mut args = command.to_vec();
        args.extend(["--scylla", &node]);
        let (output, took) = olymp(&args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{command:?} must fail");
        assert!(message.contains("connecting to ScyllaDB"), "{message}");
        assert!(
            message.contains(&node),
            "the error names the node: {message}"
        );
        assert!(
            took < Duration::from_secs(30),
            "{command:?} gave up after {took:?}"
        );
    }
}

#[test]
fn wrong_cluster_settings_are_refused_before_anything_is_contacted() {
    let node = format!("127.0.0.1:{}", closed_port());
    let serve = ["serve", "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"];
    let cases: [(&[&str], &str); 6] = [
        (&["--scylla", &node, "--scylla-consistency", "TWO"], "TWO"),
        (
            &["--scylla", &node, "--scylla-consistency", "EACH_QUORUM"],
            "writes only",
        ),
        (
            &["--scylla", &node, "--lease-ttl-ms", "100"],
            "--lease-ttl-ms 100",
        ),
        (&["--scylla", " , "], "no ScyllaDB nodes"),
        (&["--scylla", "127.0.0.1:99999"], "127.0.0.1:99999"),
        (&["--scylla", "127.0.0.1"], "HOST:PORT"),
    ];
    for (extra, named) in cases {
        let args: Vec<&str> = serve.iter().chain(extra).copied().collect();
        let (output, _) = olymp(&args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{extra:?} must be refused");
        assert!(
            message.contains(named),
            "{extra:?}: the error names {named}: {message}"
        );
        assert!(!message.contains("connecting to ScyllaDB"), "{message}");
    }
}

#[test]
fn a_peer_that_accepts_but_never_speaks_cql_is_given_up_on() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let node = silent.local_addr().unwrap().to_string();
    // Holds every connection open without a word until the test ends.
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let serve = ["serve", "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"];
    let args: Vec<&str> = serve.iter().copied().chain(["--scylla", &node]).collect();
    let (output, took) = olymp(&args);
    let message = stderr(&output);
    assert!(!output.status.success());
    assert!(message.contains("is CQL served there?"), "{message}");
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_settings_in_the_environment_alone_leave_an_embedded_node_running() {
    let dir = tempfile::tempdir().unwrap();
    let http: std::net::SocketAddr = format!("127.0.0.1:{}", closed_port()).parse().unwrap();
    let ws = format!("127.0.0.1:{}", closed_port());
    let mut node = Command::new(OLYMP)
        .args([
            "serve",
            "--http",
            &http.to_string(),
            "--ws",
            &ws,
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("OLYMP_SCYLLA_NODES")
        .env("OLYMP_NODE_ID", "node-7")
        .env("OLYMP_LEASE_TTL_MS", "60000")
        .env("OLYMP_SCYLLA_CONSISTENCY", "QUORUM")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::crash::wait_healthy(http).await;
    node.kill().unwrap();
    node.wait().unwrap();
}
