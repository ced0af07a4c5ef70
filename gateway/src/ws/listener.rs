//! Accepts TCP connections and upgrades them to WebSocket with small buffers and strict
//! limits, refusing foreign browser origins and paths other than `/ws`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::connection;
use crate::state::Gateway;

/// Limits of one participant connection. Defaults suit an exam: small frames, small
/// buffers (a 4 KiB read buffer instead of tungstenite's 128 KiB keeps an idle socket to a
/// few KiB).
#[derive(Clone, Debug)]
pub struct WsLimits {
    pub read_buffer_bytes: usize,
    pub max_message_bytes: usize,
    pub max_frame_bytes: usize,
    /// Most commands awaiting their reply; more get `too_many_in_flight`.
    pub max_in_flight: usize,
    /// Sustained frames per second, and the burst above it.
    pub frames_per_second: u32,
    pub frame_burst: u32,
    /// Time to send `resume` after the upgrade.
    pub resume_timeout: Duration,
    /// Ping period; a connection silent for three periods is closed.
    pub heartbeat: Duration,
    /// Longest a single write to the socket may take before the connection is dropped.
    pub write_timeout: Duration,
    /// Longest the upgrade handshake may take.
    pub handshake_timeout: Duration,
    /// Open connections (upgrading or upgraded) the node takes; more are closed at once.
    /// By default the open-file limit less `FILES_RESERVED` (19,500 at 20,000 files).
    pub max_connections: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            read_buffer_bytes: 4 * 1024,
            max_message_bytes: 16 * 1024,
            max_frame_bytes: 16 * 1024,
            max_in_flight: 32,
            frames_per_second: 20,
            frame_burst: 60,
            resume_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            max_connections: connection_cap(),
        }
    }
}

/// Open files kept back from WebSocket connections: the store's files, HTTP sockets,
/// evidence being written.
const FILES_RESERVED: u64 = 500;

/// Connections that fit under this process's open-file limit, with room for the rest.
fn connection_cap() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let files = limit.unwrap_or(u64::MAX).min(1 << 20);
    files.saturating_sub(FILES_RESERVED).max(1) as usize
}

impl WsLimits {
    pub(super) fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_bytes)
            .write_buffer_size(0)
            .max_write_buffer_size(1024 * 1024)
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_frame_bytes))
    }
}

/// Accepts connections until the listener fails; each connection runs in its own task.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(
        gateway.ws_limits.max_connections.max(1),
    ));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Full: closing at once is kinder than a handshake that never completes.
            super::metrics::refused("too_many_connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            upgrade(stream, peer, gateway).await;
            drop(slot);
        });
    }
}

async fn upgrade(stream: tokio::net::TcpStream, peer: SocketAddr, gateway: Arc<Gateway>) {
    let limits = gateway.ws_limits.clone();
    #[allow(
        clippy::result_large_err,
        reason = "tungstenite's handshake callback fixes this type"
    )]
    let check = |request: &Request, response: Response| check_upgrade(&gateway, request, response);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check,
        Some(limits.websocket_config()),
    );
    match tokio::time::timeout(limits.handshake_timeout, handshake).await {
        Ok(Ok(socket)) => connection::run(socket, peer, gateway).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "upgrade refused"),
        Err(_) => tracing::debug!(%peer, "upgrade timed out"),
    }
}

/// The upgrade's checks: path `/ws`, and a browser's `Origin` (if sent) must be allowed.
/// Non-browser clients send no `Origin` and are judged by their ticket alone.
#[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback fixes this type"
)]
fn check_upgrade(
    gateway: &Gateway,
    request: &Request,
    response: Response,
) -> Result<Response, ErrorResponse> {
    if request.uri().path() != "/ws" {
        return Err(refusal(StatusCode::NOT_FOUND, "not_found"));
    }
    if let Some(origin) = request.headers().get("origin") {
        let allowed = origin.to_str().is_ok_and(|o| gateway.origin_allowed(o));
        if !allowed {
            return Err(refusal(StatusCode::FORBIDDEN, "origin_not_allowed"));
        }
    }
    Ok(response)
}

fn refusal(status: StatusCode, code: &'static str) -> ErrorResponse {
    super::metrics::refused(code);
    let mut response = ErrorResponse::new(Some(code.to_owned()));
    *response.status_mut() = status;
    response
}
