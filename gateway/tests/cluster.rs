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
    let cases: [(&[&str], &str); 4] = [
        (&["--scylla", &node, "--scylla-consistency", "TWO"], "TWO"),
        (
            &["--scylla", &node, "--lease-ttl-ms", "100"],
            "--lease-ttl-ms 100",
        ),
        (&["--scylla", " , "], "no ScyllaDB nodes"),
        (&["--lease-ttl-ms", "60000"], "--scylla"),
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
