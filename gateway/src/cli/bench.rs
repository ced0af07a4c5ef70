//! `olymp bench`: the node and its baselines one after another on this machine (the store
//! against a raw `fdatasync` loop; the node against echo servers with default and tuned
//! buffers, same generator, same connection counts); prints figures, ratios, one JSON line.

mod child;
mod phases;
mod prepare;
mod store;
mod table;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use loadtest::echo_server::{self, EchoBuffers};
use loadtest::source::Sources;
use serde::Serialize;

use self::child::Server;
use self::phases::{Figures, Plan};
use self::store::StoreFigures;

/// Connections the generator keeps free for its own files beyond one per session.
const SPARE_FILES: u64 = 400;

#[derive(Args)]
pub struct BenchArgs {
    /// Connections of the storm and of every traffic phase.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Connections held at once in the live-sessions phase.
    #[arg(long, default_value_t = 19_000)]
    live_sessions: usize,
    /// Seconds of each traffic phase.
    #[arg(long, default_value_t = 20)]
    phase_s: u64,
    /// Mean think time of the paced phase (10,000 sessions at 500 ms: 20,000 answers/s).
    #[arg(long, default_value_t = 500)]
    think_mean_ms: u64,
    /// Events the node's store holds before it is killed.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Concurrent appenders of the store benchmark.
    #[arg(long, default_value_t = 1_000)]
    appenders: usize,
    /// Spread connections over 127.0.0.1 ..= 127.0.0.N.
    #[arg(long, default_value_t = 16)]
    source_addresses: u8,
    /// Small sizes and short phases: a check that everything runs, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Which parts to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "store,node,echo-default,echo-tuned"
    )]
    only: Vec<Part>,
    /// The exam the node serves (ZNO JSON).
    #[arg(
        long,
        env = "OLYMP_EXAM_FILE",
        default_value = "../shared/data/zno-math/tests/math_raw.json"
    )]
    exam: PathBuf,
    /// Where data directories go (removed afterwards).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    work_dir: PathBuf,
    /// Where the JSON report and the plots are written.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Internal: serve as an echo baseline with these buffers.
    #[arg(long, hide = true)]
    serve_echo: Option<EchoBuffers>,
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    echo_addr: SocketAddr,
    /// Internal: import the exam into this data directory for a benchmark node.
    #[arg(long, hide = true)]
    prepare: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Part {
    Store,
    Node,
    EchoDefault,
    EchoTuned,
}

/// Everything one run measured.
#[derive(Serialize)]
pub struct BenchReport {
    commit: String,
    cores: usize,
    open_file_limit: Option<u64>,
    plan: Plan,
    store: Option<StoreFigures>,
    node: Option<Figures>,
    echo_default: Option<Figures>,
    echo_tuned: Option<Figures>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(buffers) = args.serve_echo {
        return serve_echo(buffers, args.echo_addr);
    }
    if let Some(data_dir) = &args.prepare {
        return prepare::run(data_dir, &args.exam);
    }
    anyhow::ensure!(
        args.echo_addr.ip().is_loopback(),
        "benchmarks run on loopback only"
    );
    let plan = plan(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("olymp-bench")
        .enable_all()
        .build()?;
    let report = runtime.block_on(measure(&args, plan))?;
    std::fs::create_dir_all(&args.out)?;
    write_outputs(&args, &report)?;
    table::print(&report);
    println!("{}", serde_json::to_string(&table::summary(&report))?);
    Ok(if table::answers_lost(&report) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn plan(args: &BenchArgs) -> Plan {
    let (mut sessions, mut live, phase_s, events) = if args.quick {
        (300, 500, 3, 20_000)
    } else {
        (args.sessions, args.live_sessions, args.phase_s, args.events)
    };
    if let Some(limit) = loadtest::run::open_file_limit() {
        let most = limit.saturating_sub(SPARE_FILES) as usize;
        if live > most {
            eprintln!("note: this process may open {limit} files: {most} live sessions at most");
            live = most;
        }
        sessions = sessions.min(most);
    }
    Plan {
        sessions,
        live_sessions: live.max(sessions),
        actor_sessions: if args.quick { 500 } else { 10_000 },
        phase: Duration::from_secs(phase_s.clamp(1, 600)),
        think_mean_ms: args.think_mean_ms.max(1),
        events_before_crash: events,
        fill_limit: Duration::from_secs(if args.quick { 10 } else { 300 }),
        recovery_within: Duration::from_secs(60),
        sources: Sources::new(args.source_addresses),
        olympiad: prepare::OLYMPIAD_ID.to_owned(),
        grade: prepare::GRADE,
    }
}

async fn measure(args: &BenchArgs, plan: Plan) -> anyhow::Result<BenchReport> {
    let mut report = BenchReport {
        commit: commit(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        open_file_limit: loadtest::run::open_file_limit(),
        plan: plan.clone(),
        store: None,
        node: None,
        echo_default: None,
        echo_tuned: None,
    };
    if args.only.contains(&Part::Store) {
        let appenders = if args.quick { 100 } else { args.appenders };
        eprintln!("[store] {appenders} appenders for {:?}", plan.phase);
        let dir = child::data_dir(&args.work_dir)?;
        report.store = Some(store::measure(dir.path(), appenders, plan.phase).await?);
    }
    let mut questions = Vec::new();
    if args.only.contains(&Part::Node) {
        let dir = child::data_dir(&args.work_dir)?;
        let data_dir = dir.path().join("node");
        prepare_in_child(&data_dir, &args.exam)?;
        let server = Server::Node { data_dir };
        report.node = Some(phases::run(server, &plan, "olymp", &mut questions).await?);
    }
    for (part, buffers) in [
        (Part::EchoDefault, EchoBuffers::Default),
        (Part::EchoTuned, EchoBuffers::Tuned),
    ] {
        if args.only.contains(&part) {
            let name = format!("echo-{}", buffers.name());
            let figures = phases::run(Server::Echo(buffers), &plan, &name, &mut questions).await?;
            match buffers {
                EchoBuffers::Default => report.echo_default = Some(figures),
                EchoBuffers::Tuned => report.echo_tuned = Some(figures),
            }
        }
    }
    Ok(report)
}

/// Imports the exam in a child process, so that the store is closed before the node
/// opens it.
fn prepare_in_child(data_dir: &std::path::Path, exam: &std::path::Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let status = std::process::Command::new(exe)
        .arg("bench")
        .arg("--prepare")
        .arg(data_dir)
        .arg("--exam")
        .arg(exam)
        .status()
        .context("running the import")?;
    anyhow::ensure!(status.success(), "importing the exam failed");
    Ok(())
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn write_outputs(args: &BenchArgs, report: &BenchReport) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    let path = args.out.join("bench.json");
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    let targets = [
        ("olymp", &report.node),
        ("echo-default", &report.echo_default),
        ("echo-tuned", &report.echo_tuned),
    ];
    for (name, figures) in targets {
        let Some(figures) = figures else { continue };
        let phases = [
            ("closed-loop", &figures.closed_loop),
            ("paced", &figures.paced),
        ];
        for (phase, phase_report) in phases {
            let Some(phase_report) = phase_report else {
                continue;
            };
            let title = format!("{name}: {phase}, {} connections", figures.idle.connections);
            let svg = loadtest::plot::svg(&title, &phase_report.timeline);
            std::fs::write(args.out.join(format!("{name}-{phase}.svg")), svg)?;
        }
    }
    eprintln!("wrote {} and plots", path.display());
    Ok(())
}

/// The echo baseline's process: serves until killed.
fn serve_echo(buffers: EchoBuffers, addr: SocketAddr) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the echo baseline listens on loopback only"
    );
    let runtime = super::engine_runtime("olymp-echo")?;
    runtime.block_on(async move {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(4096)?;
        println!(
            "echo serving ws://{}/ ({} buffers)",
            listener.local_addr()?,
            buffers.name()
        );
        tokio::select! {
            () = echo_server::serve(listener, buffers) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
