//! A load run: the scenario, the arrival of participants over a window, progress, and
//! the report. Targets must be loopback addresses unless the caller says otherwise.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng as _;

use crate::participant::{self, ParticipantOutcome};
use crate::progress;
use crate::report::{Report, Tally};
use crate::strategy::AnswerStrategy;

/// Most participants one run may simulate: each holds a socket, and the process's
/// open-file limit here is about 20,000.
pub const PARTICIPANTS_MAX: usize = 9_000;

/// A load scenario.
pub struct LoadConfig {
    pub http_addr: SocketAddr,
    pub olympiad_id: String,
    pub grade: u8,
    pub participants: usize,
    /// Participants arrive uniformly within this window from the start.
    pub arrival_window: Duration,
    /// Think time before each answer, uniform in this range (milliseconds).
    pub think_time_ms: (u64, u64),
    /// A proctoring event after every this many answers; 0 sends none.
    pub proctor_every: usize,
    /// Share of participants that drop their connection once and resume.
    pub drop_share: f64,
    /// Longest wait for any reply.
    pub reply_timeout: Duration,
    /// Resume after submitting and compare the server's answers with the acknowledged ones.
    pub verify: bool,
    /// Allows targets outside 127.0.0.0/8 and ::1.
    pub allow_non_loopback: bool,
    pub strategy: Arc<dyn AnswerStrategy>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} is not a loopback address; pass the non-loopback switch to allow it")]
    NotLoopback(String),
    #[error("at most {PARTICIPANTS_MAX} participants per run")]
    TooManyParticipants,
}

/// Refuses a WebSocket URL whose host is not loopback (unless allowed).
pub fn require_loopback_url(url: &str, config: &LoadConfig) -> Result<(), RunError> {
    if config.allow_non_loopback {
        return Ok(());
    }
    let host_port = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let loopback = host_port
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
        || host_port.starts_with("localhost:");
    if loopback {
        Ok(())
    } else {
        Err(RunError::NotLoopback(url.to_owned()))
    }
}

/// Runs the scenario to the end and reports; stops by itself once every participant is
/// done (each bounded by its reply timeouts).
pub async fn run(config: LoadConfig) -> Result<(Report, Vec<ParticipantOutcome>), RunError> {
    if !config.allow_non_loopback && !config.http_addr.ip().is_loopback() {
        return Err(RunError::NotLoopback(config.http_addr.to_string()));
    }
    if config.participants > PARTICIPANTS_MAX {
        return Err(RunError::TooManyParticipants);
    }
    let config = Arc::new(config);
    let tally = Arc::new(Tally::default());
    let progress = progress::spawn(Arc::clone(&tally), config.participants);
    let started = Instant::now();
    let window_ms = config.arrival_window.as_millis() as u64;
    let mut tasks = Vec::with_capacity(config.participants);
    for index in 0..config.participants {
        let delay = if window_ms == 0 {
            0
        } else {
            rand::rng().random_range(0..window_ms)
        };
        let (config, tally) = (Arc::clone(&config), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            participant::sit(index, config, tally).await
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                tracing::error!(%error, "participant task panicked");
                tally.error("participant_panicked");
            }
        }
    }
    progress.abort();
    eprintln!();
    Ok((
        tally.report(config.participants, started.elapsed()),
        outcomes,
    ))
}
