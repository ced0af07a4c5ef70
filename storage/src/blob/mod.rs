//! Proctoring evidence: camera snapshots and screen captures, stored as content-addressed
//! blobs apart from the event log, so that uploads never hold up answer
//! acknowledgements. The filesystem is the default backend.

mod fs;
mod media;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use fs::{FsBlobLimits, FsBlobStore};
pub use media::MediaType;

/// A stored blob: its content address (lowercase hex SHA-256), type and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBlob {
    pub id: String,
    pub media_type: MediaType,
    pub bytes: u64,
    /// False when the same bytes were already stored under the namespace.
    pub newly_stored: bool,
}

/// Why a blob was refused or could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The content is not a JPEG, PNG or WebP image (checked by its magic bytes).
    #[error("content is not a JPEG, PNG or WebP image")]
    UnknownType,
    /// The blob alone is over the per-file cap.
    #[error("blob is larger than {limit_bytes} bytes")]
    TooLarge { limit_bytes: u64 },
    /// The session's evidence would pass the per-session cap.
    #[error("session evidence would pass {limit_bytes} bytes")]
    QuotaExceeded { limit_bytes: u64 },
    /// All evidence together reached its cap, or the disk is short of the space kept
    /// free for answers.
    #[error("evidence storage is full")]
    StoreFull,
    /// The namespace (session id) is not a safe name.
    #[error("namespace {0:?} is not valid")]
    BadNamespace(String),
    #[error("blob storage failed: {0}")]
    Io(String),
}

/// Blob storage, namespaced by session.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the bytes durably (or finds them already stored) under the namespace.
    async fn put(&self, namespace: &str, bytes: Vec<u8>) -> Result<StoredBlob, BlobError>;

    /// A stored blob's type and bytes.
    async fn get(
        &self,
        namespace: &str,
        id: &str,
    ) -> Result<Option<(MediaType, Vec<u8>)>, BlobError>;

    /// Removes a blob (one whose link was refused); absent blobs are fine.
    async fn remove(&self, namespace: &str, id: &str) -> Result<(), BlobError>;

    /// Largest blob `put` accepts, so that callers can refuse before reading a body.
    fn max_blob_bytes(&self) -> u64;
}
