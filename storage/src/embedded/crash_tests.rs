//! The kill -9 harness: a child process appends thousands of events per second and prints
//! each acknowledgement; the parent kills it with SIGKILL at random points, reopens the
//! store, and checks that every acknowledged event is present exactly once, with nothing
//! out of order. The child is this test binary itself, re-run on `append_worker`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

const WORKER_ENV: &str = "OLYMP_CRASH_WORKER_DIR";
const STREAMS: usize = 64;
const KILLS: usize = 24;

fn body(stream: usize, seq: u64) -> Vec<u8> {
    format!("{stream}/{seq}/{}", "p".repeat(64)).into_bytes()
}

fn stream_name(stream: usize) -> String {
    format!("crash-{stream}")
}

fn open_retrying(dir: &Path) -> EmbeddedStore {
    let started = Instant::now();
    loop {
        match EmbeddedStore::open(EmbeddedConfig::new(dir)) {
            Ok(store) => return store,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("store does not open: {error}"),
        }
    }
}

/// The child: appends to every stream as fast as acknowledgements come, and prints
/// `stream seq` for each acknowledged event. Not a test of its own: the harness runs it.
#[test]
#[ignore = "the kill -9 harness runs this as its child process"]
fn append_worker() {
    let Ok(dir) = std::env::var(WORKER_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = open_retrying(Path::new(&dir));
        let (acks, mut printed) = tokio::sync::mpsc::unbounded_channel::<(usize, u64)>();
        for stream in 0..STREAMS {
            let (store, acks) = (store.clone(), acks.clone());
            tokio::spawn(async move {
                let name = stream_name(stream);
                let mut seq = store
                    .read(&name, 1)
                    .await
                    .unwrap()
                    .last()
                    .map_or(0, |e| e.seq);
                loop {
                    seq += 1;
                    let event = NewEvent {
                        seq,
                        body: body(stream, seq),
                    };
                    store.append(&name, vec![event]).await.unwrap();
                    let _ = acks.send((stream, seq));
                }
            });
        }
        let mut stdout = std::io::stdout().lock();
        while let Some((stream, seq)) = printed.recv().await {
            writeln!(stdout, "{stream} {seq}").unwrap();
            stdout.flush().unwrap();
        }
    });
}

/// Runs the worker until killed at a random point; returns the acknowledgements it
/// printed in full.
fn run_and_kill(dir: &Path, alive_ms: u64) -> Vec<(usize, u64)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "embedded::crash_tests::append_worker",
            "--ignored",
            "--nocapture",
        ])
        .env(WORKER_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut by the kill has no newline: it does not count.
        while lines.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
            let mut parts = line.split_whitespace().map(|p| p.parse::<u64>());
            if let (Some(Ok(stream)), Some(Ok(seq))) = (parts.next(), parts.next()) {
                acked.push((stream as usize, seq));
            }
            line.clear();
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(alive_ms));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_loses_and_duplicates_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: BTreeMap<usize, u64> = BTreeMap::new();
    let mut total_acked = 0usize;
    for kill in 0..KILLS {
        // Spread kills over start-up, the first appends and steady state.
        let alive_ms = 150 + (kill as u64 * 7919) % 600;
        let printed = run_and_kill(dir.path(), alive_ms);
        total_acked += printed.len();
        for (stream, seq) in printed {
            let highest = acked.entry(stream).or_default();
            *highest = (*highest).max(seq);
        }
        let store = open_retrying(dir.path());
        for stream in 0..STREAMS {
            let events = store.read(&stream_name(stream), 1).await.unwrap();
            let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
            let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
            assert_eq!(
                seqs, expected,
                "stream {stream} after kill {kill}: gaps or repeats"
            );
            for event in &events {
                assert_eq!(
                    event.body,
                    body(stream, event.seq),
                    "stream {stream} corrupt"
                );
            }
            let highest_acked = acked.get(&stream).copied().unwrap_or(0);
            assert!(
                seqs.len() as u64 >= highest_acked,
                "stream {stream} after kill {kill}: acknowledged {highest_acked}, stored {}",
                seqs.len()
            );
        }
        drop(store);
    }
    eprintln!("{KILLS} kills, {total_acked} acknowledged events checked");
    assert!(
        total_acked > 10_000,
        "too few appends to mean anything: {total_acked}"
    );
}
