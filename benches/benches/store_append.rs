//! The embedded store with real fsyncs: one append of N events to one stream, and N
//! appenders at once (one event each) sharing group commits.

use std::sync::LazyLock;

use storage::{EmbeddedConfig, EmbeddedStore, EventStore as _, NewEvent};

fn main() {
    divan::main();
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    store: EmbeddedStore,
    _dir: tempfile::TempDir,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path().join("store"))).unwrap();
    Fixture {
        runtime,
        store,
        _dir: dir,
    }
});

/// A fresh stream name per call, so that every event is new.
fn stream() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("s/bench-{n:016x}")
}

fn events(count: usize) -> Vec<NewEvent> {
    (1..=count as u64)
        .map(|seq| NewEvent {
            seq,
            body: vec![1; 48],
        })
        .collect()
}

#[divan::bench(args = [1, 8, 64, 512], sample_count = 30)]
fn append_a_batch_to_one_stream(bencher: divan::Bencher, batch: usize) {
    let fixture = &*FIXTURE;
    bencher
        .counter(divan::counter::ItemsCount::new(batch))
        .with_inputs(|| (stream(), events(batch)))
        .bench_values(|(stream, events)| {
            fixture
                .runtime
                .block_on(fixture.store.append(&stream, events))
                .unwrap()
        });
}

#[divan::bench(args = [1, 16, 256], sample_count = 30)]
fn concurrent_appenders_share_group_commits(bencher: divan::Bencher, appenders: usize) {
    let fixture = &*FIXTURE;
    bencher
        .counter(divan::counter::ItemsCount::new(appenders))
        .bench(|| {
            fixture.runtime.block_on(async {
                let tasks: Vec<_> = (0..appenders)
                    .map(|_| {
                        let store = fixture.store.clone();
                        tokio::spawn(async move { store.append(&stream(), events(1)).await })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap().unwrap();
                }
            })
        });
}
