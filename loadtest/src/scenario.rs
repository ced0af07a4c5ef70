//! Load scenarios as TOML files (`loadtest/scenarios/*.toml`): participants, arrival
//! curve, think time, drops, proctoring, snapshots, the deadline surge and source
//! addresses. Every number is bounded; unknown keys are refused.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::evidence::{SNAPSHOT_MAX_BYTES, SnapshotUploads};
use crate::options::{DeadlineSurge, RunOptions, TIME_LIMIT_MAX};
use crate::run::PARTICIPANTS_MAX;
use crate::source::SOURCE_ADDRESSES_MAX;
use crate::timing::{Arrival, ThinkTime};

/// Largest scenario file read, in bytes.
const SCENARIO_MAX_BYTES: u64 = 64 * 1024;

/// A scenario as written in its file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name for reports and plots.
    pub name: String,
    pub participants: usize,
    /// The olympiad and grade to sit, unless given on the command line.
    pub olympiad: Option<String>,
    pub grade: Option<u8>,
    #[serde(default)]
    pub register_first: bool,
    #[serde(default = "one")]
    pub source_addresses: u8,
    #[serde(default)]
    pub drop_share: f64,
    #[serde(default)]
    pub proctor_every: usize,
    #[serde(default = "thirty")]
    pub reply_timeout_s: u64,
    #[serde(default = "half_an_hour")]
    pub time_limit_s: u64,
    #[serde(default = "one_second")]
    pub sample_period_ms: u64,
    #[serde(default = "yes")]
    pub verify: bool,
    pub arrival: ArrivalSection,
    pub think: ThinkSection,
    pub snapshots: Option<SnapshotUploads>,
    pub deadline: Option<DeadlineSurge>,
}

fn one() -> u8 {
    1
}
fn thirty() -> u64 {
    30
}
fn half_an_hour() -> u64 {
    1_800
}
fn one_second() -> u64 {
    1_000
}
fn yes() -> bool {
    true
}

/// `[arrival]`: how participants press Start after T0.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArrivalSection {
    pub curve: Curve,
    #[serde(default)]
    pub window_s: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Curve {
    AllAtOnce,
    Staggered,
    Linear,
}

/// `[think]`: the pause before each answer.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThinkSection {
    pub distribution: Distribution,
    pub low_ms: u64,
    pub high_ms: u64,
    /// The exponential's mean; halfway between the bounds if not given.
    pub mean_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    Uniform,
    Exponential,
}

impl ThinkSection {
    pub fn shape(&self) -> ThinkTime {
        match self.distribution {
            Distribution::Uniform => ThinkTime::Uniform,
            Distribution::Exponential => ThinkTime::Exponential {
                mean_ms: self.mean_ms.unwrap_or((self.low_ms + self.high_ms) / 2),
            },
        }
    }
}

/// Why a scenario file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read the scenario file")]
    Read(#[from] std::io::Error),
    #[error("the scenario file is larger than {SCENARIO_MAX_BYTES} bytes")]
    TooLarge,
    #[error("the scenario is not valid TOML for a scenario")]
    Toml(#[from] toml::de::Error),
    #[error("{field} must be {bound}")]
    OutOfBounds { field: &'static str, bound: String },
}

fn bound(ok: bool, field: &'static str, bound: impl Into<String>) -> Result<(), ScenarioError> {
    if ok {
        Ok(())
    } else {
        Err(ScenarioError::OutOfBounds {
            field,
            bound: bound.into(),
        })
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn read(path: &Path) -> Result<Self, ScenarioError> {
        if std::fs::metadata(path)?.len() > SCENARIO_MAX_BYTES {
            return Err(ScenarioError::TooLarge);
        }
        Self::parse(&std::fs::read_to_string(path)?)
    }

    /// Parses and checks a scenario.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = toml::from_str(text)?;
        scenario.check()?;
        Ok(scenario)
    }

    fn check(&self) -> Result<(), ScenarioError> {
        let participants = (1..=PARTICIPANTS_MAX).contains(&self.participants);
        bound(
            participants,
            "participants",
            format!("1 to {PARTICIPANTS_MAX}"),
        )?;
        let sources = (1..=SOURCE_ADDRESSES_MAX).contains(&self.source_addresses);
        bound(
            sources,
            "source_addresses",
            format!("1 to {SOURCE_ADDRESSES_MAX}"),
        )?;
        bound(
            (0.0..=1.0).contains(&self.drop_share),
            "drop_share",
            "within 0 to 1",
        )?;
        bound(
            (1..=300).contains(&self.reply_timeout_s),
            "reply_timeout_s",
            "1 to 300",
        )?;
        let limit = (1..=TIME_LIMIT_MAX.as_secs()).contains(&self.time_limit_s);
        bound(
            limit,
            "time_limit_s",
            format!("1 to {}", TIME_LIMIT_MAX.as_secs()),
        )?;
        let period = (100..=60_000).contains(&self.sample_period_ms);
        bound(period, "sample_period_ms", "100 to 60000")?;
        let window = (0.0..=3_600.0).contains(&self.arrival.window_s);
        bound(window, "arrival.window_s", "0 to 3600")?;
        let think = self.think.low_ms <= self.think.high_ms && self.think.high_ms <= 600_000;
        bound(think, "think", "low_ms ≤ high_ms ≤ 600000")?;
        if let Some(snapshots) = &self.snapshots {
            let size = snapshots.size_bytes <= SNAPSHOT_MAX_BYTES;
            bound(
                size,
                "snapshots.size_bytes",
                format!("at most {SNAPSHOT_MAX_BYTES}"),
            )?;
            bound(
                snapshots.path.starts_with('/'),
                "snapshots.path",
                "a path from /",
            )?;
        }
        if let Some(deadline) = &self.deadline {
            let at = (0.0..=TIME_LIMIT_MAX.as_secs_f64()).contains(&deadline.submit_at_s);
            bound(at, "deadline.submit_at_s", "0 to the longest time limit")?;
            bound(
                deadline.spread_ms <= 600_000,
                "deadline.spread_ms",
                "at most 600000",
            )?;
        }
        Ok(())
    }

    /// The arrival curve.
    pub fn arrival(&self) -> Arrival {
        let window = Duration::from_secs_f64(self.arrival.window_s);
        match self.arrival.curve {
            Curve::AllAtOnce => Arrival::AllAtOnce,
            Curve::Staggered => Arrival::over(window),
            Curve::Linear => Arrival::Linear { window },
        }
    }

    /// The run options this scenario asks for.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            arrival: Some(self.arrival()),
            think: self.think.shape(),
            register_first: self.register_first,
            snapshots: self.snapshots.clone(),
            deadline_surge: self.deadline,
            source_addresses: self.source_addresses,
            sample_period: Duration::from_millis(self.sample_period_ms),
            time_limit: Duration::from_secs(self.time_limit_s),
            ..RunOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORM: &str = r#"
        name = "storm"
        participants = 300
        register_first = true
        source_addresses = 4
        [arrival]
        curve = "all_at_once"
        [think]
        distribution = "exponential"
        mean_ms = 200
        low_ms = 10
        high_ms = 2000
        [snapshots]
        every_answers = 5
        size_bytes = 65536
        [deadline]
        submit_at_s = 30
        spread_ms = 500
    "#;

    #[test]
    fn a_storm_scenario_reads_into_run_options() {
        let scenario = Scenario::parse(STORM).unwrap();
        let options = scenario.options();
        assert_eq!(options.arrival, Some(Arrival::AllAtOnce));
        assert_eq!(options.think, ThinkTime::Exponential { mean_ms: 200 });
        assert!(options.register_first);
        assert_eq!(options.source_addresses, 4);
        assert!(
            options
                .snapshots
                .unwrap()
                .path
                .starts_with("/api/v1/sessions/evidence")
        );
        assert_eq!(options.deadline_surge.unwrap().spread_ms, 500);
    }

    #[test]
    fn out_of_bounds_and_unknown_keys_are_refused() {
        let too_many = STORM.replace("participants = 300", "participants = 100000");
        assert!(matches!(
            Scenario::parse(&too_many),
            Err(ScenarioError::OutOfBounds {
                field: "participants",
                ..
            })
        ));
        let unknown = STORM.replace("register_first", "register_frist");
        assert!(matches!(
            Scenario::parse(&unknown),
            Err(ScenarioError::Toml(_))
        ));
    }

    #[test]
    fn every_shipped_scenario_file_is_valid() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut checked = 0;
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Scenario::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
        assert!(checked > 0);
    }
}
