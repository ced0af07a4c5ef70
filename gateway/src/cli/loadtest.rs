//! `olymp loadtest`: simulated participants against a running node, from flags or a
//! scenario file (`loadtest/scenarios/*.toml`), with a JSON report and an SVG plot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use loadtest::{LoadConfig, RandomAnswers, Report, RunOptions, Scenario};

#[derive(Args)]
pub struct LoadtestArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// The olympiad to sit (or the scenario's).
    #[arg(long)]
    olympiad: Option<String>,
    /// A scenario file; its settings replace the flags below.
    #[arg(long)]
    scenario: Option<PathBuf>,
    #[arg(long, default_value_t = 11)]
    grade: u8,
    #[arg(long, default_value_t = 100)]
    participants: usize,
    /// Participants arrive within this many seconds.
    #[arg(long, default_value_t = 5.0)]
    arrival_s: f64,
    /// Think time before each answer: "LOW-HIGH" milliseconds. Pupils faster than the
    /// policy's pace (five new answers within 6 s by default) are flagged as too fast.
    #[arg(long, default_value = "1500-4000", value_parser = parse_range)]
    think_ms: (u64, u64),
    /// A proctoring event after every this many answers (0: none).
    #[arg(long, default_value_t = 10)]
    proctor_every: usize,
    /// Share of participants that drop their connection once and resume.
    #[arg(long, default_value_t = 0.1)]
    drop_share: f64,
    /// Spread connections over 127.0.0.1 ..= 127.0.0.N.
    #[arg(long, default_value_t = 1)]
    source_addresses: u8,
    /// Write the JSON report, with its timeline, here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write an SVG plot of throughput and latency over time here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Allow a target outside the loopback range.
    #[arg(long)]
    allow_non_loopback: bool,
}

pub fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (low, high) = text.split_once('-').ok_or("expected LOW-HIGH")?;
    let low: u64 = low.trim().parse().map_err(|_| "LOW is not a number")?;
    let high: u64 = high.trim().parse().map_err(|_| "HIGH is not a number")?;
    if low > high {
        return Err("LOW is above HIGH".into());
    }
    Ok((low, high))
}

/// Prints the report, writes the JSON (with the timeline) and the plot, and turns losses
/// into a failing exit code.
fn finish(
    report: &Report,
    json: Option<&PathBuf>,
    plot: Option<&PathBuf>,
    title: &str,
) -> anyhow::Result<ExitCode> {
    report.print_summary();
    let line = serde_json::to_string(&Report {
        timeline: Vec::new(),
        ..report.clone()
    })?;
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = plot {
        let svg = loadtest::plot::svg(title, &report.timeline);
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{line}");
    Ok(if report.answers_lost > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run(args: LoadtestArgs) -> anyhow::Result<ExitCode> {
    let scenario = match &args.scenario {
        Some(path) => {
            Some(Scenario::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    let config = match &scenario {
        Some(scenario) => from_scenario(&args, scenario)?,
        None => from_flags(&args)?,
    };
    let title = match &scenario {
        Some(scenario) => format!("olymp loadtest: {}", scenario.name),
        None => "olymp loadtest".to_owned(),
    };
    let runtime = super::engine_runtime("olymp-load")?;
    let (report, _) = runtime.block_on(loadtest::run(config))?;
    finish(&report, args.json.as_ref(), args.plot.as_ref(), &title)
}

fn from_flags(args: &LoadtestArgs) -> anyhow::Result<LoadConfig> {
    Ok(LoadConfig {
        http_addr: args.http,
        olympiad_id: args.olympiad.clone().context("--olympiad is required")?,
        grade: args.grade,
        participants: args.participants,
        arrival_window: Duration::from_secs_f64(args.arrival_s.max(0.0)),
        think_time_ms: args.think_ms,
        proctor_every: args.proctor_every,
        drop_share: args.drop_share,
        reply_timeout: Duration::from_secs(30),
        verify: true,
        allow_non_loopback: args.allow_non_loopback,
        strategy: Arc::new(RandomAnswers),
        options: RunOptions {
            source_addresses: args.source_addresses,
            ..RunOptions::default()
        },
    })
}

fn from_scenario(args: &LoadtestArgs, scenario: &Scenario) -> anyhow::Result<LoadConfig> {
    let olympiad = args.olympiad.clone().or_else(|| scenario.olympiad.clone());
    Ok(LoadConfig {
        http_addr: args.http,
        olympiad_id: olympiad.context("--olympiad is required (the scenario names none)")?,
        grade: scenario.grade.unwrap_or(args.grade),
        participants: scenario.participants,
        arrival_window: Duration::from_secs_f64(scenario.arrival.window_s),
        think_time_ms: (scenario.think.low_ms, scenario.think.high_ms),
        proctor_every: scenario.proctor_every,
        drop_share: scenario.drop_share,
        reply_timeout: Duration::from_secs(scenario.reply_timeout_s),
        verify: scenario.verify,
        allow_non_loopback: args.allow_non_loopback,
        strategy: Arc::new(RandomAnswers),
        options: scenario.options(),
    })
}
