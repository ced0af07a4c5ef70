//! The load generator: simulated participants that register, start, sit the exam over
//! WebSocket with think time, report proctoring events and submit, then check that every
//! acknowledged answer is on the server. It speaks only the public protocol, as a real
//! client would, and sends traffic only to the addresses it is given.

pub mod http_client;
pub mod participant;
pub mod progress;
pub mod report;
pub mod run;
pub mod strategy;

pub use report::Report;
pub use run::{LoadConfig, run};
pub use strategy::{AnswerStrategy, RandomAnswers};
