//! The store against the disk: many concurrent appenders on the embedded store (group
//! commit, real fsyncs) beside a raw `write`+`fdatasync` loop with the same record size,
//! the same batch window, and the batch size the group commit reached.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::domain::answer::AnswerValue;
use engine::session::context::stream_name;
use engine::session::events::SessionEvent;
use loadtest::fsync_loop::{FsyncLoop, FsyncLoopReport};
use serde::Serialize;
use storage::{EmbeddedConfig, EmbeddedStore, EventStore as _, NewEvent};

/// The store's side of the comparison.
#[derive(Clone, Debug, Serialize)]
pub struct GroupCommitReport {
    pub appenders: usize,
    pub window_us: u64,
    pub record_bytes: usize,
    pub events_per_s: f64,
    pub flushes_per_s: f64,
    pub requests_per_flush_mean: f64,
    pub append_p50_ms: f64,
    pub append_p99_ms: f64,
}

/// Both sides and the ratios.
#[derive(Clone, Debug, Serialize)]
pub struct StoreFigures {
    pub group_commit: GroupCommitReport,
    /// The raw loop at the group commit's mean batch size.
    pub raw_same_batch: FsyncLoopReport,
    /// The raw loop syncing every record on its own.
    pub raw_one_per_sync: FsyncLoopReport,
    /// Group commit events/s over the raw loop's records/s at the same batch size.
    pub ratio_same_batch: f64,
}

/// One answer event, as a session stores it.
fn answer_body(seq: u64) -> Vec<u8> {
    storage::encode(&SessionEvent::AnswerSaved {
        client_seq: seq,
        question_id: format!("q{}", seq % 33),
        value: AnswerValue::Choice("Б".into()),
        at_ms: engine::clock::now_ms(),
    })
}

pub async fn measure(
    dir: &Path,
    appenders: usize,
    duration: Duration,
) -> anyhow::Result<StoreFigures> {
    let config = EmbeddedConfig::new(dir.join("store"));
    let window = Duration::from_micros(config.group_commit_window_us);
    let group_commit = group_commit(config, appenders, duration).await?;
    let raw = |batch_records: usize| FsyncLoop {
        path: dir.join("raw-fsync-loop"),
        record_bytes: group_commit.record_bytes,
        batch_records,
        window,
        duration,
    };
    let batch = group_commit.requests_per_flush_mean.round().max(1.0) as usize;
    let raw_same_batch = tokio::task::block_in_place(|| raw(batch).run())?;
    let raw_one_per_sync = tokio::task::block_in_place(|| raw(1).run())?;
    let ratio_same_batch = group_commit.events_per_s / raw_same_batch.records_per_s.max(1e-9);
    Ok(StoreFigures {
        group_commit,
        raw_same_batch,
        raw_one_per_sync,
        ratio_same_batch,
    })
}

async fn group_commit(
    config: EmbeddedConfig,
    appenders: usize,
    duration: Duration,
) -> anyhow::Result<GroupCommitReport> {
    let window_us = config.group_commit_window_us;
    let store = EmbeddedStore::open(config)?;
    let record_bytes = answer_body(1).len() + "s/0123456789abcdef0123456789abcdef".len() + 9;
    // The load generator's tally keeps the append latency histogram.
    let tally = Arc::new(loadtest::report::Tally::default());
    let (flushes_before, requests_before) = flush_counts();
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..appenders)
        .map(|_| {
            let (store, tally) = (store.clone(), Arc::clone(&tally));
            // Named as sessions name their streams: after a random identifier.
            let stream = stream_name(&uuid::Uuid::new_v4().simple().to_string());
            tokio::spawn(async move {
                let mut seq = 0;
                while Instant::now() < until {
                    seq += 1;
                    let event = NewEvent {
                        seq,
                        body: answer_body(seq),
                    };
                    let sent = Instant::now();
                    if store.append(&stream, vec![event]).await.is_err() {
                        break;
                    }
                    tally.ack(sent.elapsed());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let elapsed_s = elapsed.as_secs_f64();
    let (flushes_after, requests_after) = flush_counts();
    let flushes = (flushes_after - flushes_before).max(1) as f64;
    let latency = tally.report(appenders, elapsed);
    let events = latency.answers_acked as f64;
    Ok(GroupCommitReport {
        appenders,
        window_us,
        record_bytes,
        events_per_s: events / elapsed_s,
        flushes_per_s: flushes / elapsed_s,
        requests_per_flush_mean: (requests_after - requests_before) / flushes,
        append_p50_ms: latency.ack_p50_ms,
        append_p99_ms: latency.ack_p99_ms,
    })
}

/// Group commits so far and the requests they covered, from this process's metrics.
fn flush_counts() -> (u64, f64) {
    prometheus::gather()
        .iter()
        .find(|family| family.name() == "olymp_storage_flush_requests")
        .and_then(|family| family.get_metric().first().cloned())
        .map_or((0, 0.0), |metric| {
            let histogram = metric.get_histogram();
            (histogram.get_sample_count(), histogram.get_sample_sum())
        })
}
