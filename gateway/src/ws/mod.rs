//! The participants' WebSocket endpoint: the listener with its upgrade checks, and one
//! task per connection.

mod connection;
mod fragment;
mod listener;
mod metrics;

pub use listener::{WsLimits, serve};
pub(crate) use metrics::register as register_metrics;
