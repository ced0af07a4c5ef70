//! `olymp loadtest`: simulated participants against a running node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use loadtest::{LoadConfig, RandomAnswers, Report};

#[derive(Args)]
pub struct LoadtestArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    #[arg(long)]
    olympiad: String,
    #[arg(long, default_value_t = 11)]
    grade: u8,
    #[arg(long, default_value_t = 100)]
    participants: usize,
    /// Participants arrive within this many seconds.
    #[arg(long, default_value_t = 5.0)]
    arrival_s: f64,
    /// Think time before each answer: "LOW-HIGH" milliseconds.
    #[arg(long, default_value = "500-2000", value_parser = parse_range)]
    think_ms: (u64, u64),
    /// A proctoring event after every this many answers (0: none).
    #[arg(long, default_value_t = 10)]
    proctor_every: usize,
    /// Share of participants that drop their connection once and resume.
    #[arg(long, default_value_t = 0.1)]
    drop_share: f64,
    /// Write the JSON report here too.
    #[arg(long)]
    json: Option<PathBuf>,
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

/// Prints the report, writes the JSON, and turns losses into a failing exit code.
pub fn finish(report: &Report, json: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    report.print_summary();
    let line = serde_json::to_string(report)?;
    if let Some(path) = json {
        std::fs::write(path, &line).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{line}");
    Ok(if report.answers_lost > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run(args: LoadtestArgs) -> anyhow::Result<ExitCode> {
    let config = LoadConfig {
        http_addr: args.http,
        olympiad_id: args.olympiad,
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
    };
    let runtime = super::engine_runtime("olymp-load")?;
    let (report, _) = runtime.block_on(loadtest::run(config))?;
    finish(&report, args.json.as_ref())
}
