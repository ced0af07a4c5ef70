//! Tests of the ScyllaDB backend: driver-level tests against a simulated node (they run
//! everywhere), and the storage contract against a real cluster when `OLYMP_SCYLLA_NODES`
//! names one.

mod contract;
mod driver;
mod fake_node;
mod group_log;
