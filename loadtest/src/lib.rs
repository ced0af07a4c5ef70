//! The load generator: simulated participants that sit an exam over the public protocol
//! with think time, proctoring, snapshots and drops, then check that every acknowledged
//! answer is on the server; plus the baselines and fleets `olymp bench` measures with.

pub mod echo_server;
pub mod evidence;
pub mod fleet;
pub mod fsync_loop;
pub mod http_client;
pub mod options;
pub mod participant;
pub mod plot;
pub mod progress;
pub mod report;
pub mod round_trip;
pub mod run;
pub mod scenario;
pub mod source;
pub mod strategy;
pub mod timeline;
pub mod timing;

pub use options::RunOptions;
pub use report::Report;
pub use run::{LoadConfig, run};
pub use scenario::Scenario;
pub use strategy::{AnswerStrategy, RandomAnswers};
