//! What the gateway's HTTP handlers and WebSocket connections share.

use std::sync::atomic::{AtomicU64, Ordering};

use engine::Engine;

use crate::auth::Signer;
use crate::ws::WsLimits;

/// Shared by every request and connection.
pub struct Gateway {
    pub engine: Engine,
    pub signer: Signer,
    pub ws_limits: WsLimits,
    /// Browser origins allowed to open the WebSocket (exact match, e.g. `http://host:8080`).
    pub allowed_origins: Vec<String>,
    /// The WebSocket URL clients are told to connect to.
    pub ws_url: String,
    connection_ids: AtomicU64,
}

impl Gateway {
    pub fn new(
        engine: Engine,
        signer: Signer,
        ws_limits: WsLimits,
        allowed_origins: Vec<String>,
        ws_url: String,
    ) -> Self {
        Self {
            engine,
            signer,
            ws_limits,
            allowed_origins,
            ws_url,
            connection_ids: AtomicU64::new(1),
        }
    }

    pub fn next_connection_id(&self) -> u64 {
        self.connection_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}
