//! Counters and latency histograms shared by all simulated participants, and the final
//! report they add up to.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Live tallies, updated by every participant task.
pub struct Tally {
    pub connected: AtomicU64,
    /// Connections open right now (connected minus closed).
    pub connected_now: AtomicU64,
    pub started: AtomicU64,
    pub answers_sent: AtomicU64,
    pub answers_acked: AtomicU64,
    pub answers_lost: AtomicU64,
    /// Answers the server refused with an error frame (counted in `errors` too).
    pub answers_refused: AtomicU64,
    pub snapshots_sent: AtomicU64,
    /// Snapshot uploads the node turned away because its upload slots were full.
    pub snapshots_busy: AtomicU64,
    pub proctor_sent: AtomicU64,
    pub submitted: AtomicU64,
    pub finished: AtomicU64,
    pub errors: AtomicU64,
    errors_by_kind: Mutex<BTreeMap<String, u64>>,
    ack_us: Mutex<Histogram<u64>>,
    connect_us: Mutex<Histogram<u64>>,
    submit_us: Mutex<Histogram<u64>>,
    /// Acknowledgement latency since the timeline's last sample.
    window_ack_us: Mutex<Histogram<u64>>,
}

fn histogram() -> Mutex<Histogram<u64>> {
    // 1 µs to 120 s at 3 significant figures.
    Mutex::new(Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"))
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            connected: AtomicU64::new(0),
            connected_now: AtomicU64::new(0),
            started: AtomicU64::new(0),
            answers_sent: AtomicU64::new(0),
            answers_acked: AtomicU64::new(0),
            answers_lost: AtomicU64::new(0),
            answers_refused: AtomicU64::new(0),
            snapshots_sent: AtomicU64::new(0),
            snapshots_busy: AtomicU64::new(0),
            proctor_sent: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            errors_by_kind: Mutex::new(BTreeMap::new()),
            ack_us: histogram(),
            connect_us: histogram(),
            submit_us: histogram(),
            window_ack_us: histogram(),
        }
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, elapsed: Duration) {
    let micros = (elapsed.as_micros() as u64).clamp(1, 120_000_000);
    histogram
        .lock()
        .expect("histogram lock")
        .record(micros)
        .expect("value within bounds");
}

impl Tally {
    pub fn ack(&self, elapsed: Duration) {
        self.answers_acked.fetch_add(1, Ordering::Relaxed);
        record(&self.ack_us, elapsed);
        record(&self.window_ack_us, elapsed);
    }

    pub fn connect(&self, elapsed: Duration) {
        self.connected.fetch_add(1, Ordering::Relaxed);
        record(&self.connect_us, elapsed);
    }

    /// A connection counted in `connected_now` closed or broke.
    pub fn disconnect(&self) {
        self.connected_now.fetch_sub(1, Ordering::Relaxed);
    }

    /// The p50 and p99 acknowledgement latency (ms) since the last call, and a fresh
    /// window.
    pub fn take_window(&self) -> (f64, f64) {
        let mut window = self.window_ack_us.lock().expect("histogram lock");
        let quantiles = if window.is_empty() {
            (0.0, 0.0)
        } else {
            let ms = |q| window.value_at_quantile(q) as f64 / 1000.0;
            (ms(0.5), ms(0.99))
        };
        window.reset();
        quantiles
    }

    pub fn submit(&self, elapsed: Duration) {
        self.submitted.fetch_add(1, Ordering::Relaxed);
        record(&self.submit_us, elapsed);
    }

    pub fn error(&self, kind: impl Into<String>) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .errors_by_kind
            .lock()
            .expect("error lock")
            .entry(kind.into())
            .or_default() += 1;
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn report(&self, participants: usize, duration: Duration) -> Report {
        let ms = |h: &Mutex<Histogram<u64>>, q: f64| {
            let h = h.lock().expect("histogram lock");
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let acked = Self::get(&self.answers_acked);
        Report {
            participants,
            sessions_started: Self::get(&self.started),
            sessions_submitted: Self::get(&self.submitted),
            answers_sent: Self::get(&self.answers_sent),
            answers_acked: acked,
            answers_lost: Self::get(&self.answers_lost),
            answers_refused: Self::get(&self.answers_refused),
            snapshots_sent: Self::get(&self.snapshots_sent),
            snapshots_busy: Self::get(&self.snapshots_busy),
            proctor_events_sent: Self::get(&self.proctor_sent),
            errors: Self::get(&self.errors),
            errors_by_kind: self.errors_by_kind.lock().expect("error lock").clone(),
            ack_p50_ms: ms(&self.ack_us, 0.5),
            ack_p99_ms: ms(&self.ack_us, 0.99),
            ack_p999_ms: ms(&self.ack_us, 0.999),
            ack_max_ms: ms(&self.ack_us, 1.0),
            connect_p50_ms: ms(&self.connect_us, 0.5),
            connect_p99_ms: ms(&self.connect_us, 0.99),
            connect_max_ms: ms(&self.connect_us, 1.0),
            submit_p50_ms: ms(&self.submit_us, 0.5),
            submit_p99_ms: ms(&self.submit_us, 0.99),
            duration_s: duration.as_secs_f64(),
            answers_per_s: acked as f64 / duration.as_secs_f64().max(0.001),
            timeline: Vec::new(),
        }
    }
}

/// The outcome of a load run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub participants: usize,
    pub sessions_started: u64,
    pub sessions_submitted: u64,
    pub answers_sent: u64,
    pub answers_acked: u64,
    /// Answers sent but never acknowledged, or acknowledged but missing on the server.
    pub answers_lost: u64,
    pub answers_refused: u64,
    pub snapshots_sent: u64,
    pub snapshots_busy: u64,
    pub proctor_events_sent: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    pub ack_p999_ms: f64,
    pub ack_max_ms: f64,
    pub connect_p50_ms: f64,
    pub connect_p99_ms: f64,
    pub connect_max_ms: f64,
    pub submit_p50_ms: f64,
    pub submit_p99_ms: f64,
    pub duration_s: f64,
    pub answers_per_s: f64,
    /// Per-period samples, for the plot and the JSON file (left out of one-line
    /// summaries by emptying it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::timeline::Sample>,
}

impl Report {
    /// Human-readable summary lines.
    pub fn print_summary(&self) {
        println!(
            "participants {}  started {}  submitted {}",
            self.participants, self.sessions_started, self.sessions_submitted
        );
        println!(
            "answers sent {}  acknowledged {}  refused {}  lost {}",
            self.answers_sent, self.answers_acked, self.answers_refused, self.answers_lost
        );
        println!(
            "proctoring events {}  snapshots uploaded {}  turned away (busy) {}",
            self.proctor_events_sent, self.snapshots_sent, self.snapshots_busy
        );
        println!("errors {}  {:?}", self.errors, self.errors_by_kind);
        println!(
            "ack latency p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
            self.ack_p50_ms, self.ack_p99_ms, self.ack_p999_ms, self.ack_max_ms
        );
        println!(
            "connect p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            self.connect_p50_ms, self.connect_p99_ms, self.connect_max_ms
        );
        println!(
            "submit p50 {:.2} ms  p99 {:.2} ms",
            self.submit_p50_ms, self.submit_p99_ms
        );
        println!(
            "duration {:.1} s  {:.0} answers/s",
            self.duration_s, self.answers_per_s
        );
    }
}
