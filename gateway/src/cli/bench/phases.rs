//! One target (the node or an echo server) through the benchmark's phases with the same
//! generator: start storm, idle memory, most live sessions, closed-loop and paced round
//! trips, filling the store, recovery after `kill -9`, and sessions with no connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadtest::fleet::{self, Fleet};
use loadtest::participant::Pass;
use loadtest::report::Tally;
use loadtest::round_trip::{self, Frames, Pace, RoundTrips};
use loadtest::source::Sources;
use loadtest::{LoadConfig, RandomAnswers, Report, RunOptions};
use serde::Serialize;

use super::child::{ChildServer, Server, cpu_seconds, tcp_kernel_bytes};

/// Sizes and durations of a benchmark run.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// Connections of the storm and of every traffic phase.
    pub sessions: usize,
    /// Connections held at once in the live-sessions phase.
    pub live_sessions: usize,
    /// Sessions started with no connection, to weigh a live actor alone.
    pub actor_sessions: usize,
    pub phase: Duration,
    /// Mean think time of the paced phase: `sessions / think` answers per second.
    pub think_mean_ms: u64,
    /// Events the node's store should hold before the crash.
    pub events_before_crash: u64,
    /// Longest the fill phase may take.
    pub fill_limit: Duration,
    pub recovery_within: Duration,
    #[serde(skip)]
    pub sources: Sources,
    pub olympiad: String,
    pub grade: u8,
}

/// Memory per held connection, measured while idle.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    pub connections: usize,
    pub rss_bytes: u64,
    pub rss_bytes_per_connection: f64,
    /// Kernel TCP memory (both ends of each loopback connection) per connection.
    pub kernel_tcp_bytes_per_connection: f64,
}

/// Started sessions whose pupils hold no connection.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ActorsOnly {
    pub sessions: usize,
    pub rss_bytes_per_session: f64,
    pub live_on_server: Option<u64>,
    pub report: Option<Report>,
}

/// Where the CPU went during a traffic phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuUse {
    /// Cores the server used on average (of this machine's two).
    pub server_cores: f64,
    /// Cores the load generator used on average.
    pub generator_cores: f64,
    /// Server CPU time per acknowledged answer (or echoed frame), in microseconds.
    pub server_cpu_us_per_answer: f64,
}

/// The store and the restart after `kill -9`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Recovery {
    /// Events in the node's store at the crash (0 for an echo server).
    pub events_stored: u64,
    /// From the restart to the server accepting connections.
    pub ready_s: f64,
    /// From the restart to the last connection resumed.
    pub all_back_s: f64,
    pub back: u64,
    pub report: Option<Report>,
}

/// Everything measured on one target.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    pub target: String,
    pub registration: Option<Report>,
    pub storm: Option<Report>,
    /// CPU of registering (node only) and the storm; "per answer" is per connection.
    pub storm_cpu: CpuUse,
    pub idle: Memory,
    pub live: Memory,
    /// Connecting the connections beyond the storm's, spread over 10 s.
    pub live_storm: Option<Report>,
    /// Live sessions the node itself counted at the live-sessions phase.
    pub live_on_server: Option<u64>,
    /// Sessions started over HTTP with no connection: what a live actor alone costs.
    pub actors_only: Option<ActorsOnly>,
    pub closed_loop: Option<Report>,
    pub closed_loop_cpu: CpuUse,
    pub paced: Option<Report>,
    pub paced_cpu: CpuUse,
    pub fill: Option<Report>,
    pub recovery: Recovery,
}

/// Runs every phase against a freshly started child server and stops it. The answer
/// frames come from `questions`; if it is empty, from the paper the node sent (and
/// `questions` keeps them for the next target).
pub async fn run(
    server: Server,
    plan: &Plan,
    name: &str,
    questions: &mut Vec<serde_json::Value>,
) -> anyhow::Result<Figures> {
    let mut child = ChildServer::start(server)?;
    child.ready().await?;
    let mut figures = Figures {
        target: name.to_owned(),
        ..Figures::default()
    };
    let rss_start = child.rss_bytes()?;
    let kernel_start = tcp_kernel_bytes();
    eprintln!("[{name}] storm: {} connections at once", plan.sessions);
    let (server_before, generator_before) = (child.cpu_seconds(), cpu_seconds(None));
    let storm_started = Instant::now();
    let mut fleet = storm(&child, plan, 0, plan.sessions, Duration::ZERO, &mut figures).await;
    let wall_s = storm_started.elapsed().as_secs_f64();
    figures.storm_cpu = CpuUse {
        server_cores: (child.cpu_seconds() - server_before) / wall_s,
        generator_cores: (cpu_seconds(None) - generator_before) / wall_s,
        server_cpu_us_per_answer: (child.cpu_seconds() - server_before) * 1e6
            / fleet.connected().max(1) as f64,
    };
    settle().await;
    figures.idle = memory(&child, &fleet, rss_start, kernel_start)?;
    let extra = plan.live_sessions.saturating_sub(plan.sessions);
    if extra > 0 {
        eprintln!(
            "[{name}] live: {extra} more connections, {} in all",
            plan.live_sessions
        );
        let idle = fleet::idle(&mut fleet);
        let spread = Duration::from_secs(10);
        let mut more_figures = Figures::default();
        let mut more = storm(
            &child,
            plan,
            plan.sessions,
            extra,
            spread,
            &mut more_figures,
        )
        .await;
        figures.live_storm = more_figures.storm;
        settle().await;
        let mut both = Fleet {
            members: std::mem::take(&mut more.members),
            questions: Arc::clone(&more.questions),
        };
        idle.wake(&mut fleet).await;
        both.members.extend(std::mem::take(&mut fleet.members));
        figures.live = memory(&child, &both, rss_start, kernel_start)?;
        figures.live_on_server = live_on_server(&child).await;
        let (keep, drop): (Vec<_>, Vec<_>) = both
            .members
            .into_iter()
            .partition(|m| m.index < plan.sessions);
        fleet.members = keep;
        let mut extra_fleet = Fleet {
            members: drop,
            questions: Arc::clone(&fleet.questions),
        };
        extra_fleet.close().await;
    } else {
        figures.live = figures.idle.clone();
    }
    if questions.is_empty() {
        *questions = fleet.questions.as_ref().clone();
    }
    let frames = Arc::new(Frames::for_questions(questions));
    eprintln!(
        "[{name}] closed loop: {} connections for {:?}",
        fleet.connected(),
        plan.phase
    );
    let closed = RoundTrips {
        duration: plan.phase,
        pace: Pace::ClosedLoop,
        reply_timeout: Duration::from_secs(30),
        sample_period: Duration::from_millis(500),
    };
    let (report, cpu) = measured(
        &child,
        round_trip::drive(&mut fleet, Arc::clone(&frames), closed),
    )
    .await;
    (figures.closed_loop, figures.closed_loop_cpu) = (Some(report), cpu);
    let paced = RoundTrips {
        pace: Pace::Think {
            mean_ms: plan.think_mean_ms,
        },
        ..closed
    };
    eprintln!(
        "[{name}] paced: think {} ms for {:?}",
        plan.think_mean_ms, plan.phase
    );
    let (report, cpu) = measured(
        &child,
        round_trip::drive(&mut fleet, Arc::clone(&frames), paced),
    )
    .await;
    (figures.paced, figures.paced_cpu) = (Some(report), cpu);
    if matches!(child.server, Server::Node { .. }) {
        figures.fill = fill(&child, &mut fleet, &frames, plan).await;
        figures.recovery.events_stored = events_stored(&child).await;
    }
    eprintln!(
        "[{name}] kill -9 and restart with {} connections",
        fleet.connected()
    );
    figures.recovery =
        recover(&mut child, &mut fleet, plan, figures.recovery.events_stored).await?;
    if let Server::Node { .. } = child.server {
        figures.actors_only = Some(actors_only(&child, plan).await?);
    }
    fleet.close().await;
    tokio::task::block_in_place(|| child.stop())?;
    Ok(figures)
}

/// Runs a traffic phase and notes the CPU both sides used.
async fn measured(child: &ChildServer, phase: impl Future<Output = Report>) -> (Report, CpuUse) {
    let (server_before, generator_before) = (child.cpu_seconds(), cpu_seconds(None));
    let started = Instant::now();
    let report = phase.await;
    let wall_s = started.elapsed().as_secs_f64().max(1e-6);
    let server_s = child.cpu_seconds() - server_before;
    let generator_s = cpu_seconds(None) - generator_before;
    let cpu = CpuUse {
        server_cores: server_s / wall_s,
        generator_cores: generator_s / wall_s,
        server_cpu_us_per_answer: server_s * 1e6 / report.answers_acked.max(1) as f64,
    };
    (report, cpu)
}

/// Registers and starts `plan.actor_sessions` sessions with no WebSocket, and reads
/// what they added to the node's memory.
async fn actors_only(child: &ChildServer, plan: &Plan) -> anyhow::Result<ActorsOnly> {
    let count = plan.actor_sessions;
    eprintln!("[olymp] actors only: {count} sessions started without a connection");
    let config = load_config(child, plan);
    let first = plan.live_sessions;
    let passes = fleet::register(&config, first, count, plan.sources, &Tally::default()).await;
    let passes: Vec<(usize, Pass)> = passes
        .into_iter()
        .enumerate()
        .filter_map(|(offset, pass)| Some((first + offset, pass?)))
        .collect();
    settle().await;
    let before = child.rss_bytes()?;
    let report = fleet::start_only(child.http_addr, passes, plan.sources, 256).await;
    settle().await;
    let added = child.rss_bytes()?.saturating_sub(before);
    let connected = (report.participants as u64).saturating_sub(report.errors) as usize;
    Ok(ActorsOnly {
        sessions: connected,
        rss_bytes_per_session: added as f64 / connected.max(1) as f64,
        live_on_server: live_on_server(child).await,
        report: Some(report),
    })
}

/// Lets sockets and allocators settle before memory is read.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Connects `count` members numbered from `first`: for the node, registered first and
/// then started all within `spread`; for an echo server, plain connections.
async fn storm(
    child: &ChildServer,
    plan: &Plan,
    first: usize,
    count: usize,
    spread: Duration,
    figures: &mut Figures,
) -> Fleet {
    match child.server {
        Server::Echo(_) => {
            let (fleet, report) =
                fleet::echo(&child.ws_url(), first, count, plan.sources, spread).await;
            figures.storm = Some(report);
            fleet
        }
        Server::Node { .. } => {
            let config = load_config(child, plan);
            let tally = Tally::default();
            let started = Instant::now();
            let passes = fleet::register(&config, first, count, plan.sources, &tally).await;
            figures.registration = Some(tally.report(count, started.elapsed()));
            let passes: Vec<(usize, Pass)> = passes
                .into_iter()
                .enumerate()
                .filter_map(|(offset, pass)| Some((first + offset, pass?)))
                .collect();
            let (fleet, report) = fleet::storm(child.http_addr, passes, plan.sources, spread).await;
            figures.storm = Some(report);
            fleet
        }
    }
}

fn load_config(child: &ChildServer, plan: &Plan) -> LoadConfig {
    LoadConfig {
        http_addr: child.http_addr,
        olympiad_id: plan.olympiad.clone(),
        grade: plan.grade,
        participants: plan.live_sessions,
        arrival_window: Duration::ZERO,
        think_time_ms: (0, 0),
        proctor_every: 0,
        drop_share: 0.0,
        reply_timeout: Duration::from_secs(30),
        verify: false,
        allow_non_loopback: false,
        strategy: Arc::new(RandomAnswers),
        options: RunOptions {
            register_concurrency: 256,
            ..RunOptions::default()
        },
    }
}

fn memory(
    child: &ChildServer,
    fleet: &Fleet,
    rss_start: u64,
    kernel_start: u64,
) -> anyhow::Result<Memory> {
    let connections = fleet.connected();
    let rss_bytes = child.rss_bytes()?;
    let per = |bytes: u64| bytes as f64 / connections.max(1) as f64;
    Ok(Memory {
        connections,
        rss_bytes,
        rss_bytes_per_connection: per(rss_bytes.saturating_sub(rss_start)),
        kernel_tcp_bytes_per_connection: per(tcp_kernel_bytes().saturating_sub(kernel_start)),
    })
}

async fn live_on_server(child: &ChildServer) -> Option<u64> {
    let health = loadtest::http_client::request(child.http_addr, "GET", "/health", None, None);
    health.await.ok()?["live_sessions"].as_u64()
}

/// Events the node has made durable, from its metrics.
async fn events_stored(child: &ChildServer) -> u64 {
    let text = loadtest::http_client::get_text(child.http_addr, "/metrics").await;
    text.unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("olymp_storage_events_stored_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

/// Closed-loop answers until the node's store holds the planned number of events.
async fn fill(
    child: &ChildServer,
    fleet: &mut Fleet,
    frames: &Arc<Frames>,
    plan: &Plan,
) -> Option<Report> {
    let started = Instant::now();
    let mut last = None;
    loop {
        let stored = events_stored(child).await;
        if stored >= plan.events_before_crash || started.elapsed() >= plan.fill_limit {
            eprintln!("store holds {stored} events");
            return last;
        }
        eprintln!("filling: {stored} of {} events", plan.events_before_crash);
        let burst = RoundTrips {
            duration: Duration::from_secs(20).min(plan.fill_limit),
            pace: Pace::ClosedLoop,
            reply_timeout: Duration::from_secs(30),
            sample_period: Duration::from_secs(1),
        };
        last = Some(round_trip::drive(fleet, Arc::clone(frames), burst).await);
    }
}

async fn recover(
    child: &mut ChildServer,
    fleet: &mut Fleet,
    plan: &Plan,
    events_stored: u64,
) -> anyhow::Result<Recovery> {
    fleet.forget_sockets();
    let restarted = child.crash_and_restart()?;
    let (ready, report) = tokio::join!(
        child.ready(),
        fleet::reconnect(fleet, restarted, plan.recovery_within)
    );
    let ready = ready?;
    let back = fleet.connected() as u64;
    Ok(Recovery {
        events_stored,
        ready_s: ready.as_secs_f64(),
        all_back_s: report.connect_max_ms / 1000.0,
        back,
        report: Some(report),
    })
}
