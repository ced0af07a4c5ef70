//! The exam engine: the olympiad domain, one actor per live session, scoring and the
//! proctoring policy. It does no I/O of its own except through `storage`'s traits.

pub mod catalog;
pub mod clock;
pub mod domain;
pub mod engine;
mod metrics;

pub use metrics::register as register_metrics;
pub mod proctoring;
mod read_cache;
pub mod results;
pub mod scoring;
pub mod session;

pub use engine::{AuditEvent, Engine, EngineError, StartError};
