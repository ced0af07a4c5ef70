//! The ScyllaDB backend: events, documents and leases in the keyspace that
//! `storage/schema/olymp.cql` defines, through prepared statements only.
//!
//! Events go to `events`, partitioned by stream and a bucket of 4,096 sequence numbers, one
//! single-partition unlogged batch per append (split only past the batch bounds). Fenced
//! appends are conditional batches on the partition's static `fence` column, which every
//! lease claim raises (`fence.rs`). Documents are partitioned by directory (the key up to its
//! last `/`) and a hash bucket, so that a prefix scan reads a handful of partitions.
//! Leases are lightweight transactions on `leases`.

mod config;
mod connect;
mod documents;
mod errors;
mod events;
mod fence;
mod layout;
mod leases;
mod lwt;
mod metrics;
mod retry;
mod schema;
mod statements;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use ::scylla::client::session::Session;

pub use config::{ConfigError, ScyllaConfig};
pub use connect::ConnectError;
pub use retry::OlympRetryPolicy;
use statements::Statements;

/// The ScyllaDB event, document and lease store. Cheap to clone; clones share one session.
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    statements: Statements,
    /// Document directories this process has linked into `document_dirs`, so that each is
    /// linked once; bounded by `documents::KNOWN_DIRECTORIES_MAX`.
    known_directories: Mutex<HashSet<String>>,
}

impl ScyllaStore {
    fn session(&self) -> &Session {
        &self.inner.session
    }

    fn statements(&self) -> &Statements {
        &self.inner.statements
    }
}

#[cfg(test)]
mod tests;
