//! The ScyllaDB backend: events, documents and leases in the keyspace that
//! `storage/schema/olymp.cql` defines, through prepared statements only.
//!
//! Events go to `events`, partitioned by stream and a bucket of 4,096 sequence numbers, one
//! single-partition unlogged batch per append (split only past the batch bounds). Fenced
//! appends are conditional batches on the partition's static `fence` column, which every
//! lease claim raises (`fence.rs`). Documents are partitioned by directory (the key up to its
//! last `/`) and a hash bucket, so that a prefix scan reads a handful of partitions; a
//! document group that mixes creates with other writes is logged in `document_groups` and
//! settled by a sweep if its writer stops midway (`group_log.rs`, `recovery.rs`).
//! Leases are lightweight transactions on `leases`.

mod clock;
mod config;
mod connect;
mod documents;
mod errors;
mod events;
mod fence;
mod group_log;
mod layout;
mod leases;
mod lwt;
mod metrics;
mod recovery;
mod retry;
mod schema;
mod statements;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ::scylla::client::session::Session;
use tokio::task::AbortHandle;

pub use config::{ConfigError, ScyllaConfig, parse_consistency};
pub use connect::ConnectError;
pub use recovery::GroupRecovery;
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
    /// Limit on one document group's `write` (`ScyllaConfig::document_group_deadline_ms`).
    group_deadline: Duration,
    /// The periodic sweep of the group log, set once on connect. The task holds only a weak
    /// reference, and is stopped when the last store clone goes.
    sweeper: OnceLock<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(sweeper) = self.sweeper.get() {
            sweeper.abort();
        }
    }
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
