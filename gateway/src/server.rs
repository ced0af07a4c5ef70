//! Starts and stops a whole Olymp node: the store (embedded, or a ScyllaDB cluster shared
//! with other nodes), the engine, the WebSocket listener (on the engine's runtime) and the
//! HTTP server (on actix's own thread).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use engine::Engine;
use engine::session::context::{Ownership, SessionConfig};
use storage::cache::{Cache, MemcachedCache, MemcachedConfig, MemoryCache};
use storage::scylla::{ScyllaConfig, ScyllaStore};
use storage::{DocumentStore, EmbeddedConfig, EmbeddedStore, EventStore};

use crate::auth::Signer;
use crate::state::{Evidence, Gateway};
use crate::ws::{self, WsLimits};
use storage::blob::{FsBlobLimits, FsBlobStore};

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    /// Extra browser origins allowed on the WebSocket, besides the HTTP server's own.
    pub allowed_origins: Vec<String>,
    pub http_workers: usize,
    pub session: SessionConfig,
    pub ws_limits: WsLimits,
    pub store: EmbeddedConfig,
    /// The WebSocket URL to give clients, when they reach the node through a proxy or a
    /// name; by default derived from the WebSocket listener's address.
    pub public_ws_url: Option<String>,
    /// Caps of the evidence store (per file, per session).
    pub evidence: FsBlobLimits,
    /// Evidence uploads handled at once; more are refused with `busy`.
    pub concurrent_uploads: usize,
    /// Memcached servers (`HOST:PORT`) shared by the nodes; none means an in-process cache.
    pub memcached: Vec<String>,
    /// A ScyllaDB cluster shared with other nodes, instead of `store`.
    pub cluster: Option<ClusterConfig>,
}

/// A node among several on one ScyllaDB cluster: sessions are owned by lease.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub scylla: ScyllaConfig,
    /// Unique among the running nodes.
    pub node_id: String,
    /// See `engine::session::context::Ownership`.
    pub lease_ttl_ms: u64,
}

impl ServeConfig {
    pub fn new(data_dir: impl Into<PathBuf>, http_addr: SocketAddr, ws_addr: SocketAddr) -> Self {
        let data_dir = data_dir.into();
        Self {
            store: EmbeddedConfig::new(data_dir.join("store")),
            public_ws_url: None,
            evidence: FsBlobLimits::default(),
            concurrent_uploads: 32,
            memcached: Vec::new(),
            cluster: None,
            data_dir,
            http_addr,
            ws_addr,
            allowed_origins: Vec::new(),
            http_workers: 2,
            session: SessionConfig::default(),
            ws_limits: WsLimits::default(),
        }
    }
}

/// A running node. Dropping it without `stop` leaves its threads running.
pub struct RunningServer {
    pub http_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub engine: Engine,
    pub signer: Signer,
    http: actix_web::dev::ServerHandle,
    http_thread: std::thread::JoinHandle<()>,
    ws_task: tokio::task::JoinHandle<()>,
}

/// Reads the token secret from the data directory, creating it on first start so that
/// tickets stay valid across restarts.
/// Reads the token secret of an existing data directory; never creates one, so that a
/// mistyped directory is an error rather than a token no node accepts.
pub fn load_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("secret.key");
    let secret = std::fs::read(&path).with_context(|| {
        format!(
            "no token secret at {}: start the node there once, or check the path",
            path.display()
        )
    })?;
    anyhow::ensure!(
        secret.len() >= 32,
        "{} is shorter than 32 bytes",
        path.display()
    );
    Ok(secret)
}

pub fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("secret.key");
    if let Ok(secret) = std::fs::read(&path) {
        anyhow::ensure!(
            secret.len() >= 32,
            "{} is shorter than 32 bytes",
            path.display()
        );
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let secret: [u8; 32] = rand::random();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.to_vec())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Opens the store and the engine, as `serve` and the offline commands do.
pub async fn open_engine(config: &ServeConfig) -> anyhow::Result<Engine> {
    let mut session = config.session.clone();
    let (events, documents): (Arc<dyn EventStore>, Arc<dyn DocumentStore>) = match &config.cluster {
        None => {
            let store =
                EmbeddedStore::open(config.store.clone()).context("opening the embedded store")?;
            (Arc::new(store.clone()), Arc::new(store))
        }
        Some(cluster) => {
            let store = ScyllaStore::connect(&cluster.scylla)
                .await
                .context("connecting to ScyllaDB")?;
            let leases = Arc::new(store.clone());
            session.ownership = Some(Ownership::new(
                leases,
                cluster.node_id.clone(),
                cluster.lease_ttl_ms,
            ));
            let nodes = cluster.scylla.nodes.join(",");
            tracing::info!(nodes, node_id = cluster.node_id, "storing in ScyllaDB");
            (Arc::new(store.clone()), Arc::new(store))
        }
    };
    let cache = open_cache(&config.memcached)?;
    if !config.memcached.is_empty() {
        // One read now, so that a memcached that does not answer is reported at start-up
        // (by the cache's own warning) rather than at the first pupil's request.
        if let Err(error) = cache.get("olymp/start-up-probe").await {
            tracing::warn!(%error, "memcached probe failed; serving from the store meanwhile");
        }
    }
    let engine = Engine::start_with_cache(events, documents, session, cache)
        .await
        .context("starting the engine")?;
    Ok(engine)
}

/// Lists every metric on `/metrics` from the start, each at zero until it first happens,
/// so that alerts on a counter's increase fire on its first occurrence.
fn register_metrics(config: &ServeConfig) {
    engine::register_metrics();
    if config.cluster.is_none() {
        storage::register_metrics();
    }
    ws::register_metrics();
    crate::http::register_evidence_metrics();
}

/// Memcached if servers are named (connected lazily: one that is down is a miss until it
/// answers), the in-process cache otherwise.
fn open_cache(memcached: &[String]) -> anyhow::Result<Arc<dyn Cache>> {
    if memcached.is_empty() {
        return Ok(Arc::new(MemoryCache::default()));
    }
    let cache = MemcachedCache::new(memcached, MemcachedConfig::default())
        .context("configuring memcached")?;
    tracing::info!(servers = memcached.join(","), "caching in memcached");
    Ok(Arc::new(cache))
}

/// Starts a node on the current tokio runtime, which session actors and WebSocket
/// connections will use. Ports of 0 pick free ones; the bound addresses are returned.
pub async fn start(config: ServeConfig) -> anyhow::Result<RunningServer> {
    register_metrics(&config);
    let secret = load_or_create_secret(&config.data_dir)?;
    let engine = open_engine(&config).await?;
    let signer = Signer::new(secret);
    let ws_listener = bind_reusable(config.ws_addr)
        .and_then(tokio::net::TcpListener::from_std)
        .with_context(|| format!("binding the WebSocket listener to {}", config.ws_addr))?;
    let ws_addr = ws_listener.local_addr()?;
    let http_listener = bind_reusable(config.http_addr)
        .with_context(|| format!("binding the HTTP listener to {}", config.http_addr))?;
    let http_addr = http_listener.local_addr()?;
    let mut origins = vec![format!("http://{http_addr}")];
    if http_addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", http_addr.port()));
    }
    origins.extend(config.allowed_origins.iter().cloned());
    let ws_url = match &config.public_ws_url {
        Some(url) => url.clone(),
        None if ws_addr.ip().is_unspecified() => format!("ws://{{host}}:{}/ws", ws_addr.port()),
        None => format!("ws://{ws_addr}/ws"),
    };
    let evidence = FsBlobStore::new(config.data_dir.join("evidence"), config.evidence);
    let gateway = Arc::new(Gateway::new(
        engine.clone(),
        signer.clone(),
        config.ws_limits.clone(),
        origins,
        ws_url,
        Evidence::new(Arc::new(evidence), config.concurrent_uploads),
    ));
    let ws_task = tokio::spawn(ws::serve(ws_listener, Arc::clone(&gateway)));
    let (http, http_thread) = start_http(http_listener, gateway, config.http_workers)?;
    let data_dir = config.data_dir.display();
    tracing::info!(%http_addr, %ws_addr, %data_dir, "olymp node started");
    Ok(RunningServer {
        http_addr,
        ws_addr,
        engine,
        signer,
        http,
        http_thread,
        ws_task,
    })
}

/// Pending connections the kernel may queue per listener (it caps this at somaxconn).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds with `SO_REUSEADDR`, so that a node restarted after a crash gets its ports back
/// while the dead process's connections linger in TIME_WAIT.
fn bind_reusable(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)?.into_std()
}

fn start_http(
    listener: std::net::TcpListener,
    gateway: Arc<Gateway>,
    workers: usize,
) -> anyhow::Result<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)> {
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("olymp-http".into())
        .spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new().configure(crate::http::configure(Arc::clone(&gateway)))
                })
                .workers(workers.max(1))
                .max_connection_rate(256)
                .client_request_timeout(std::time::Duration::from_secs(10))
                .disable_signals()
                .listen(listener);
                match server {
                    Ok(server) => {
                        let server = server.run();
                        let _ = handle_tx.send(Ok(server.handle()));
                        if let Err(error) = server.await {
                            tracing::error!(%error, "HTTP server stopped with an error");
                        }
                    }
                    Err(error) => {
                        let _ = handle_tx.send(Err(error));
                    }
                }
            });
        })?;
    let handle = handle_rx
        .recv()
        .context("HTTP thread ended before starting")??;
    Ok((handle, thread))
}

impl RunningServer {
    /// Stops accepting, stops HTTP, stops every session actor; state stays on disk.
    pub async fn stop(self) {
        self.ws_task.abort();
        self.http.stop(true).await;
        let _ = tokio::task::spawn_blocking(move || self.http_thread.join()).await;
        self.engine.shutdown().await;
    }
}
