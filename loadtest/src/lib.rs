//! The load generator: simulated participants that register, start, sit the exam over
//! WebSocket with think time, report proctoring events and submit, then check that every
//! acknowledged answer is on the server. It speaks only the public protocol, as a real
//! client would, and sends traffic only to the addresses it is given.

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
