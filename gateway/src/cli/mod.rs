//! Command-line parsing and dispatch. Each subcommand lives in its own module.

mod bench;
mod exam_key;
mod import;
mod loadtest;
mod rehearse;
mod serve;
mod store_args;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Olymp: an exam engine for national online olympiads.
#[derive(Parser)]
#[command(name = "olymp", version)]
pub struct Cli {
    /// Log filter, as in RUST_LOG (e.g. "info", "olymp=debug").
    #[arg(long, global = true, env = "OLYMP_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node: HTTP API, WebSocket gateway, session actors; on the embedded store, or on
    /// a ScyllaDB cluster shared with other nodes (--scylla).
    Serve(serve::ServeArgs),
    /// Import a question bank into the data directory (the node must be stopped), or into
    /// a ScyllaDB cluster (--scylla).
    Import(import::ImportArgs),
    /// Print a signed staff token (admin, proctor, operator) for the HTTP API.
    Token(token::TokenArgs),
    /// Drive simulated participants against a running node.
    Loadtest(loadtest::LoadtestArgs),
    /// Start a node with a real exam and sit it with N simulated participants.
    Rehearse(rehearse::RehearseArgs),
    /// Measure a node against an echo server and a raw fsync loop; print the ratios.
    Bench(bench::BenchArgs),
}

/// The data directory's default, relative to where the command runs.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

pub fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Token(args) => token::run(args),
        Command::Loadtest(args) => loadtest::run(args),
        Command::Rehearse(args) => rehearse::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// A multi-threaded runtime for the engine: session actors and WebSocket connections.
pub fn engine_runtime(name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()?)
}
