//! The parts of a load scenario beyond the basics: arrival curve, think-time shape,
//! registration ahead of T0, snapshots, the deadline surge, source addresses, sampling
//! and the run's own time limit.

use std::time::Duration;

use serde::Deserialize;

use crate::evidence::SnapshotUploads;
use crate::timing::{Arrival, ThinkTime};

/// Longest a run may be told to last.
pub const TIME_LIMIT_MAX: Duration = Duration::from_secs(4 * 3600);

/// Scenario options; `Default` gives the plain behaviour of `olymp loadtest`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Overrides `LoadConfig::arrival_window` (random arrivals within it) when set.
    pub arrival: Option<Arrival>,
    pub think: ThinkTime,
    /// Register everyone before T0 (registration happens days ahead in real life), so
    /// that T0 measures only Start, connect and resume.
    pub register_first: bool,
    /// Registrations in flight at once while registering first.
    pub register_concurrency: usize,
    pub snapshots: Option<SnapshotUploads>,
    pub deadline_surge: Option<DeadlineSurge>,
    /// Spread connections over 127.0.0.1 ..= 127.0.0.N.
    pub source_addresses: u8,
    /// Period of the timeline's samples.
    pub sample_period: Duration,
    /// The run stops after this long whatever is left; unanswered answers count as lost.
    pub time_limit: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            arrival: None,
            think: ThinkTime::Uniform,
            register_first: false,
            register_concurrency: 128,
            snapshots: None,
            deadline_surge: None,
            source_addresses: 1,
            sample_period: Duration::from_secs(1),
            time_limit: Duration::from_secs(1800),
        }
    }
}

/// Everyone who has answered every question waits, then submits together: the surge
/// at the deadline.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSurge {
    /// When the surge starts, seconds after T0.
    pub submit_at_s: f64,
    /// Submits spread uniformly over this many milliseconds from then.
    #[serde(default)]
    pub spread_ms: u64,
}
