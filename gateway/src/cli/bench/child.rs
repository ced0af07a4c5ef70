//! The servers a benchmark measures, each in a process of its own (so that its memory
//! and open files are its own): an `olymp serve` node or an echo server, started from
//! this same binary on loopback ports chosen here, killed with SIGKILL and restarted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use loadtest::echo_server::EchoBuffers;

/// Longest a server may take to answer after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What runs in the child.
#[derive(Clone, Debug)]
pub enum Server {
    Node { data_dir: PathBuf },
    Echo(EchoBuffers),
}

/// A running child server.
pub struct ChildServer {
    pub server: Server,
    pub http_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    child: Child,
}

/// A free loopback port below the ephemeral range, for a child to bind with
/// SO_REUSEADDR. Outside that range no client socket of the generator can hold it, so a
/// restarted server gets it back while the old connections linger.
fn free_port() -> anyhow::Result<SocketAddr> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    let ephemeral_low: u16 = range
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768);
    let low = ephemeral_low.saturating_sub(8_000).max(1_024);
    for _ in 0..200 {
        let port = rand::random_range(low..ephemeral_low);
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return Ok(listener.local_addr()?);
        }
    }
    anyhow::bail!("no free port between {low} and {ephemeral_low}")
}

impl ChildServer {
    pub fn start(server: Server) -> anyhow::Result<Self> {
        let (http_addr, ws_addr) = (free_port()?, free_port()?);
        let child = spawn(&server, http_addr, ws_addr)?;
        Ok(Self {
            server,
            http_addr,
            ws_addr,
            child,
        })
    }

    /// The WebSocket URL clients connect to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.ws_addr)
    }

    /// Waits until the server accepts connections (the node: until `/health` answers,
    /// which is after it recovered every session in progress).
    pub async fn ready(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the {:?} server exited with {status}", self.server);
            }
            let answered = match self.server {
                Server::Node { .. } => {
                    let health = loadtest::http_client::request(
                        self.http_addr,
                        "GET",
                        "/health",
                        None,
                        None,
                    );
                    health.await.is_ok()
                }
                Server::Echo(_) => tokio::net::TcpStream::connect(self.ws_addr).await.is_ok(),
            };
            if answered {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!(
            "the {:?} server did not answer within {READY_TIMEOUT:?}",
            self.server
        )
    }

    /// CPU seconds the child has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(Some(self.child.id()))
    }

    /// Resident memory of the child, in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        rss_bytes(self.child.id())
    }

    /// `kill -9`, then a new process on the same ports and data.
    pub fn crash_and_restart(&mut self) -> anyhow::Result<Instant> {
        self.child.kill().context("sending SIGKILL")?;
        self.child.wait()?;
        let restarted = Instant::now();
        self.child = spawn(&self.server, self.http_addr, self.ws_addr)?;
        Ok(restarted)
    }

    /// Asks the child to stop (SIGTERM), then kills it if it has not within 10 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ChildServer {
    /// A benchmark that fails half-way leaves no server behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(server: &Server, http: SocketAddr, ws: SocketAddr) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding the olymp binary")?;
    let mut command = Command::new(exe);
    match server {
        Server::Node { data_dir } => {
            command.arg("serve").arg("--data-dir").arg(data_dir);
            command.args(["--http", &http.to_string(), "--ws", &ws.to_string()]);
        }
        Server::Echo(buffers) => {
            command.args(["bench", "--serve-echo", buffers.name()]);
            command.args(["--echo-addr", &ws.to_string()]);
        }
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a child server")?;
    Ok(child)
}

/// CPU time a process has used so far (user and system), in seconds, from
/// `/proc/PID/stat`; `None` for this process.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/stat".to_owned(), |pid| {
        format!("/proc/{pid}/stat")
    });
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    ticks as f64 / CLOCK_TICKS_PER_S
}

/// The kernel's `USER_HZ`, which is 100 on every Linux this runs on.
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// Resident memory of a process, from `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .context("no VmRSS line")?;
    Ok(kib * 1024)
}

/// Kernel memory held by TCP sockets, in bytes, from `/proc/net/sockstat`.
pub fn tcp_kernel_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let pages: u64 = text
        .lines()
        .find(|line| line.starts_with("TCP:"))
        .and_then(|line| line.split_whitespace().skip_while(|w| *w != "mem").nth(1))
        .and_then(|number| number.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Makes a data directory inside `parent` that is removed when dropped.
pub fn data_dir(parent: &Path) -> anyhow::Result<tempfile::TempDir> {
    std::fs::create_dir_all(parent)?;
    Ok(tempfile::Builder::new()
        .prefix("olymp-bench-")
        .tempdir_in(parent)?)
}
