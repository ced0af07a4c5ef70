//! Gateway integration tests: one binary, a module per concept. Nodes run in-process on
//! loopback with fresh data directories; the crash tests run the real `olymp` binary.

mod support;

mod cache;
mod cluster;
mod crash;
mod evidence;
mod http_api;
mod load_scenario;
mod metrics;
mod protocol_errors;
mod rehearsal;
mod sessions;
