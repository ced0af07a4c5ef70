//! Session ownership leases: at most one node owns a session at a time, and every claim
//! raises a fencing epoch so that a node which lost its lease can no longer append to the
//! session's stream (`EventStore::append_fenced` refuses epochs below the fence).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::event_store::StoreError;

/// A held lease. `epoch` only ever grows for a given key, across owners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// What is owned: a session's stream name.
    pub key: String,
    /// Who owns it: a node id.
    pub owner: String,
    pub epoch: u64,
    pub expires_at_ms: u64,
}

/// Why a lease operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds an unexpired lease.
    #[error("held by {owner} until {until_ms}")]
    Held { owner: String, until_ms: u64 },
    /// The lease was taken over (or expired and taken); the holder must stop writing.
    #[error("lease lost to epoch {current_epoch}")]
    Lost { current_epoch: u64 },
    #[error("lease store failed")]
    Store(#[from] StoreError),
}

/// Leases with fencing. Times are the caller's clock, passed in, so that every node's
/// decision is explicit and testable.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the key for `owner` if it is free, expired, or already `owner`'s. A new
    /// owner gets a higher epoch than any before; the same owner keeps its epoch.
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Lease, LeaseError>;

    /// Extends a held lease; fails with `Lost` if another owner has claimed since.
    async fn renew(&self, lease: &Lease, now_ms: u64, ttl_ms: u64) -> Result<Lease, LeaseError>;

    /// Gives the lease up (it expires at once); the fence stays where it is.
    async fn release(&self, lease: &Lease) -> Result<(), LeaseError>;
}
