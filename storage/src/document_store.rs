//! The document-store contract: durable values under string keys, written atomically in
//! groups, for the catalog (olympiads, papers, participants, registrations).

use async_trait::async_trait;

use crate::event_store::StoreError;

/// One change in an atomic group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentWrite {
    /// Stores the value, replacing any before it.
    Put {
        key: String,
        value: Vec<u8>,
    },
    /// Stores the value only if the key is absent; otherwise the whole group fails with
    /// `StoreError::Conflict` and nothing is applied.
    Create {
        key: String,
        value: Vec<u8>,
    },
    Delete {
        key: String,
    },
}

/// Durable key-value documents.
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Applies every write or none, durably.
    async fn write(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError>;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every document whose key starts with `prefix`, in key order, at most `limit`.
    async fn scan(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}
