//! Helpers shared by the micro-benchmarks in `benches/`: an in-memory store that keeps
//! fsyncs out of the engine's own costs, and the real exam paper to score.
//! Run them with `cargo bench -p benches`.

pub mod memory_store;
pub mod paper;
