//! What the gateway's HTTP handlers and WebSocket connections share.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use engine::Engine;
use storage::blob::BlobStore;

use crate::auth::Signer;
use crate::ws::WsLimits;

/// Shared by every request and connection.
pub struct Gateway {
    pub engine: Engine,
    pub signer: Signer,
    pub ws_limits: WsLimits,
    /// Browser origins allowed to open the WebSocket (exact match, e.g. `http://host:8080`).
    pub allowed_origins: Vec<String>,
    /// The WebSocket URL clients are told to connect to. A listener bound to every
    /// interface has no single address: its URL is `ws://{host}:{port}/ws`, the host being
    /// the one the client reached HTTP on (see `ws_url_for`).
    pub ws_url: String,
    pub evidence: Evidence,
    connection_ids: AtomicU64,
}

/// Where proctoring evidence goes, and how many uploads may run at once. Uploads have
/// their own path and bounds, apart from answers.
pub struct Evidence {
    pub blobs: Arc<dyn BlobStore>,
    pub upload_slots: tokio::sync::Semaphore,
    /// Uploads per session: a steady trickle of snapshots passes, a flood does not.
    pub per_session: governor::DefaultKeyedRateLimiter<String>,
    /// Sessions with an upload in flight: one each. Evidence is content-addressed, so two
    /// uploads of the same bytes share a file, and one must not remove it while the other
    /// links it; and a few sessions sending slow bodies must not hold every upload slot.
    in_flight: dashmap::DashSet<String>,
}

/// A session's one upload in flight; the session may upload again once it is dropped.
pub struct UploadTurn<'a> {
    in_flight: &'a dashmap::DashSet<String>,
    session_id: String,
}

impl Drop for UploadTurn<'_> {
    fn drop(&mut self) {
        self.in_flight.remove(&self.session_id);
    }
}

/// Sustained evidence uploads per session per minute, and the burst above it.
const UPLOADS_PER_MINUTE: u32 = 20;
const UPLOAD_BURST: u32 = 10;

impl Evidence {
    pub fn new(blobs: Arc<dyn BlobStore>, concurrent_uploads: usize) -> Self {
        let quota =
            governor::Quota::per_minute(NonZeroU32::new(UPLOADS_PER_MINUTE).expect("positive"))
                .allow_burst(NonZeroU32::new(UPLOAD_BURST).expect("positive"));
        Self {
            blobs,
            upload_slots: tokio::sync::Semaphore::new(concurrent_uploads.max(1)),
            per_session: governor::RateLimiter::keyed(quota),
            in_flight: dashmap::DashSet::new(),
        }
    }

    /// The session's turn to upload, or `None` while another of its uploads is in flight.
    pub fn turn(&self, session_id: &str) -> Option<UploadTurn<'_>> {
        self.in_flight
            .insert(session_id.to_owned())
            .then(|| UploadTurn {
                in_flight: &self.in_flight,
                session_id: session_id.to_owned(),
            })
    }
}

impl Gateway {
    pub fn new(
        engine: Engine,
        signer: Signer,
        ws_limits: WsLimits,
        allowed_origins: Vec<String>,
        ws_url: String,
        evidence: Evidence,
    ) -> Self {
        Self {
            engine,
            signer,
            ws_limits,
            allowed_origins,
            ws_url,
            evidence,
            connection_ids: AtomicU64::new(1),
        }
    }

    pub fn next_connection_id(&self) -> u64 {
        self.connection_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// The WebSocket URL for a client that sent this HTTP `Host` header.
    pub fn ws_url_for(&self, host_header: Option<&str>) -> String {
        let Some(rest) = self.ws_url.strip_prefix("ws://{host}") else {
            return self.ws_url.clone();
        };
        let host = host_header
            .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host))
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c))
            })
            .unwrap_or("localhost");
        format!("ws://{host}{rest}")
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}
