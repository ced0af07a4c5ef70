//! Engine integration tests: one binary, a module per concept.

mod support;

mod lifecycle;
mod ownership;
mod unknown_outcome;
