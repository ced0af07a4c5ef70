//! The gateway: the only crate that knows HTTP and WebSocket. It authenticates clients,
//! speaks the wire protocol, maps errors to statuses and codes, and runs a node.

pub mod auth;
pub mod errors;
pub mod http;
pub mod protocol;
pub mod server;
pub mod state;
pub mod ws;
