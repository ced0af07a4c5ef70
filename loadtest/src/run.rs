//! A load run: the scenario, registration ahead of T0 if asked, the arrival of
//! participants, progress, the timeline, and the report. Targets must be loopback
//! addresses unless the caller says otherwise; the run stops by itself at its time limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::evidence::Evidence;
use crate::options::RunOptions;
use crate::participant::{self, ParticipantOutcome, Pass};
use crate::progress;
use crate::report::{Report, Tally};
use crate::source::Sources;
use crate::strategy::AnswerStrategy;
use crate::timeline::Sampler;
use crate::timing::Arrival;

/// Most participants one run may simulate. Each holds a socket, and a process here may
/// open about 20,000 files: above ~9,000 the node must run in another process.
pub const PARTICIPANTS_MAX: usize = 19_500;

/// File descriptors a run keeps free for itself beyond one per participant.
const SPARE_FILES: u64 = 200;

/// A load scenario.
pub struct LoadConfig {
    pub http_addr: SocketAddr,
    pub olympiad_id: String,
    pub grade: u8,
    pub participants: usize,
    /// Participants arrive uniformly at random within this window from the start.
    pub arrival_window: Duration,
    /// Think time before each answer, within this range (milliseconds).
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
    pub options: RunOptions,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} is not a loopback address; pass the non-loopback switch to allow it")]
    NotLoopback(String),
    #[error("at most {PARTICIPANTS_MAX} participants per run")]
    TooManyParticipants,
    #[error(
        "{participants} participants need about {needed} open files; this process may open \
         {limit} (raise `ulimit -n`)"
    )]
    OpenFileLimit {
        participants: usize,
        needed: u64,
        limit: u64,
    },
    #[error("a time limit of at most {} s", crate::options::TIME_LIMIT_MAX.as_secs())]
    TimeLimitTooLong,
}

/// What a run shares with its participants.
pub(crate) struct RunContext {
    pub config: LoadConfig,
    pub tally: Arc<Tally>,
    pub evidence: Evidence,
    pub sources: Sources,
    /// When the first participant may arrive; the deadline surge counts from here.
    pub t0: tokio::time::Instant,
}

/// Refuses a WebSocket URL whose host is not loopback (unless allowed).
pub fn require_loopback_url(url: &str, config: &LoadConfig) -> Result<(), RunError> {
    if config.allow_non_loopback {
        return Ok(());
    }
    let loopback = crate::source::target_of(url).is_ok_and(|a| a.ip().is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(RunError::NotLoopback(url.to_owned()))
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn check(config: &LoadConfig) -> Result<(), RunError> {
    if !config.allow_non_loopback && !config.http_addr.ip().is_loopback() {
        return Err(RunError::NotLoopback(config.http_addr.to_string()));
    }
    if config.participants > PARTICIPANTS_MAX {
        return Err(RunError::TooManyParticipants);
    }
    if config.options.time_limit > crate::options::TIME_LIMIT_MAX {
        return Err(RunError::TimeLimitTooLong);
    }
    let needed = config.participants as u64 + SPARE_FILES;
    match open_file_limit() {
        Some(limit) if limit < needed => Err(RunError::OpenFileLimit {
            participants: config.participants,
            needed,
            limit,
        }),
        _ => Ok(()),
    }
}

/// Runs the scenario to the end and reports; stops by itself once every participant is
/// done (each bounded by its reply timeouts) or at the time limit.
pub async fn run(config: LoadConfig) -> Result<(Report, Vec<ParticipantOutcome>), RunError> {
    check(&config)?;
    let tally = Arc::new(Tally::default());
    let sources = Sources::new(config.options.source_addresses);
    let passes = if config.options.register_first {
        register_everyone(&config, &tally, sources).await
    } else {
        vec![None; config.participants]
    };
    let evidence = Evidence::new(config.options.snapshots.clone());
    let started = Instant::now();
    let run_until = tokio::time::Instant::now() + config.options.time_limit;
    let context = Arc::new(RunContext {
        tally: Arc::clone(&tally),
        evidence,
        sources,
        t0: tokio::time::Instant::now(),
        config,
    });
    let progress = progress::spawn(Arc::clone(&tally), context.config.participants);
    let sampler = Sampler::spawn(Arc::clone(&tally), context.config.options.sample_period);
    let tasks = spawn_participants(&context, passes);
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(run_until, task).await {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            Ok(Err(error)) => {
                tracing::error!(%error, "participant task panicked");
                tally.error("participant_panicked");
            }
            Err(_) => {
                abort.abort();
                tally.error("time_limit_reached");
            }
        }
    }
    progress.abort();
    eprintln!();
    count_unanswered_as_lost(&tally);
    let mut report = tally.report(context.config.participants, started.elapsed());
    report.timeline = sampler.finish();
    Ok((report, outcomes))
}

fn spawn_participants(
    context: &Arc<RunContext>,
    passes: Vec<Option<Pass>>,
) -> Vec<tokio::task::JoinHandle<ParticipantOutcome>> {
    let participants = context.config.participants;
    let arrival = context
        .config
        .options
        .arrival
        .unwrap_or(Arrival::over(context.config.arrival_window));
    let skip_unregistered = context.config.options.register_first;
    passes
        .into_iter()
        .enumerate()
        .map(|(index, pass)| {
            let context = Arc::clone(context);
            let delay = arrival.delay(index, participants);
            tokio::spawn(async move {
                if skip_unregistered && pass.is_none() {
                    context.tally.finished.fetch_add(1, Ordering::Relaxed);
                    return ParticipantOutcome {
                        index,
                        ..ParticipantOutcome::default()
                    };
                }
                tokio::time::sleep_until(context.t0 + delay).await;
                participant::sit(index, pass, &context).await
            })
        })
        .collect()
}

/// Registers every participant before T0, a bounded number at a time.
async fn register_everyone(
    config: &LoadConfig,
    tally: &Tally,
    sources: Sources,
) -> Vec<Option<Pass>> {
    let started = Instant::now();
    let passes = crate::fleet::register(config, 0, config.participants, sources, tally).await;
    let registered = passes.iter().flatten().count();
    eprintln!(
        "registered {registered} of {} participants ahead of T0 in {:.1} s",
        config.participants,
        started.elapsed().as_secs_f64()
    );
    passes
}

/// Answers neither acknowledged, refused nor already counted lost when the run ended
/// (a participant cut off by the time limit) are lost too.
fn count_unanswered_as_lost(tally: &Tally) {
    let sent = Tally::get(&tally.answers_sent);
    let settled = Tally::get(&tally.answers_acked)
        + Tally::get(&tally.answers_refused)
        + Tally::get(&tally.answers_lost);
    tally
        .answers_lost
        .fetch_add(sent.saturating_sub(settled), Ordering::Relaxed);
}
