//! `olymp serve`: runs a node until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gateway::server::{self, ServeConfig};

#[derive(Args)]
pub struct ServeArgs {
    /// Where the store, the token secret and everything durable live.
    #[arg(long, env = "OLYMP_DATA_DIR", default_value_os_t = super::default_data_dir())]
    data_dir: PathBuf,
    /// HTTP API and exam page address.
    #[arg(long, env = "OLYMP_HTTP", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Participants' WebSocket address.
    #[arg(long, env = "OLYMP_WS", default_value = "127.0.0.1:8081")]
    ws: SocketAddr,
    /// Another browser origin allowed to open the WebSocket (repeatable).
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// The WebSocket URL to give clients (behind a proxy, say); by default the listener's.
    #[arg(long, env = "OLYMP_PUBLIC_WS_URL")]
    public_ws_url: Option<String>,
    /// HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    http_workers: usize,
    /// A memcached server (HOST:PORT) to share the catalog and result cache with other
    /// nodes (repeatable, or comma-separated). Without it the cache is in-process.
    #[arg(long = "memcached", env = "OLYMP_MEMCACHED", value_delimiter = ',')]
    memcached: Vec<String>,
    #[command(flatten)]
    node: super::store_args::NodeArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = ServeConfig::new(&args.data_dir, args.http, args.ws);
    config.allowed_origins = args.allowed_origins;
    config.http_workers = args.http_workers;
    config.public_ws_url = args.public_ws_url;
    config.memcached = args.memcached;
    args.node.apply(&mut config)?;
    let runtime = super::engine_runtime("olymp-engine")?;
    runtime.block_on(async move {
        let node = server::start(config).await?;
        println!(
            "olymp serving: exam page http://{}/  websocket ws://{}/ws",
            node.http_addr, node.ws_addr
        );
        wait_for_shutdown().await;
        eprintln!("stopping");
        node.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn wait_for_shutdown() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
