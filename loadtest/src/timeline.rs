//! The run over time: a sampler that, every period, records throughput, live
//! connections, errors and the acknowledgement latency of that period alone, for the plot
//! and the JSON report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::report::Tally;

/// Most samples one run keeps; a longer run keeps sampling into a coarser period.
pub const SAMPLES_MAX: usize = 3_600;

/// One period of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// End of the period, seconds since T0.
    pub at_s: f64,
    pub acks_per_s: f64,
    pub connected: u64,
    pub errors: u64,
    /// Acknowledgement latency of answers acknowledged within this period.
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
}

/// Samples a tally until stopped; `finish` returns the timeline.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn spawn(tally: Arc<Tally>, period: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let period = period.max(Duration::from_millis(100));
        let task = tokio::spawn(sample(tally, period, Arc::clone(&samples)));
        Self { samples, task }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.task.abort();
        std::mem::take(&mut *self.samples.lock().expect("timeline lock"))
    }
}

async fn sample(tally: Arc<Tally>, period: Duration, samples: Arc<Mutex<Vec<Sample>>>) {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    let mut last_acked = 0;
    let mut last_at = started;
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let acked = Tally::get(&tally.answers_acked);
        let (p50_ms, p99_ms) = tally.take_window();
        let elapsed_s = now.duration_since(last_at).as_secs_f64().max(1e-6);
        let sample = Sample {
            at_s: now.duration_since(started).as_secs_f64(),
            acks_per_s: (acked - last_acked) as f64 / elapsed_s,
            connected: Tally::get(&tally.connected_now),
            errors: Tally::get(&tally.errors),
            ack_p50_ms: p50_ms,
            ack_p99_ms: p99_ms,
        };
        (last_acked, last_at) = (acked, now);
        let mut samples = samples.lock().expect("timeline lock");
        if samples.len() >= SAMPLES_MAX {
            thin(&mut samples);
        }
        samples.push(sample);
    }
}

/// Halves the timeline by keeping every other sample.
fn thin(samples: &mut Vec<Sample>) {
    let mut index = 0;
    samples.retain(|_| {
        index += 1;
        index % 2 == 0
    });
}
