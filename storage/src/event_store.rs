//! The event-store contract: ordered, durable, idempotent streams of opaque events.
//!
//! A stream is one session's history (or one audit log). Its single writer numbers the
//! events 1, 2, 3…; appending an event whose (stream, sequence) is already stored changes
//! nothing, which is what makes retries safe. `append` returns only once the events are
//! durable: after it returns `Ok`, a `kill -9` or a power cut does not lose them.

use async_trait::async_trait;

/// Longest stream name, in bytes.
pub const STREAM_NAME_MAX_BYTES: usize = 128;

/// An event to append: its place in the stream and its encoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub seq: u64,
    pub body: Vec<u8>,
}

/// An event read back from a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub seq: u64,
    pub body: Vec<u8>,
}

/// What an append did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Events newly stored.
    pub stored: usize,
    /// Events skipped because their (stream, sequence) was already stored.
    pub duplicates: usize,
}

/// Why a store operation failed. On any error nothing is acknowledged; the caller may
/// retry, and a retried append is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream name is empty, too long, or holds a NUL byte.
    #[error("stream name {0:?} is not valid")]
    BadStreamName(String),
    /// The store's bounded write queue is full; the caller should back off.
    #[error("store is overloaded")]
    Overloaded,
    /// A write or fsync failed; the embedded store refuses writes from then on, because
    /// after a failed fsync the file's state is unknown.
    #[error("store failed: {0}")]
    Failed(String),
    /// The append's fencing epoch is below the stream's fence: a newer owner holds the
    /// stream's lease. Nothing was applied.
    #[error("fenced: epoch {epoch} is below the stream's fence {fence}")]
    Fenced { epoch: u64, fence: u64 },
    /// A document the group meant to create already exists; nothing was applied.
    #[error("document {0:?} already exists")]
    Conflict(String),
    /// The store has been shut down.
    #[error("store is closed")]
    Closed,
}

/// The event-store contract every backend implements.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends events to one stream, durably. Events whose sequence is already stored
    /// are skipped and counted as duplicates.
    async fn append(
        &self,
        stream: &str,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Like `append`, but refused with `Fenced` if `epoch` is below the stream's fence
    /// (raised by every lease claim on the stream). Nodes that own sessions by lease
    /// append only this way.
    async fn append_fenced(
        &self,
        stream: &str,
        epoch: u64,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Whether the store has stopped taking writes for good (after a failed fsync, say);
    /// the node is then unhealthy and must be restarted.
    fn refusing_writes(&self) -> bool {
        false
    }

    /// Reads a stream in sequence order, from `from_seq` on (inclusive).
    async fn read(&self, stream: &str, from_seq: u64) -> Result<Vec<RecordedEvent>, StoreError>;
}

/// Checks a stream name against the contract's rules.
pub fn check_stream_name(stream: &str) -> Result<(), StoreError> {
    if stream.is_empty() || stream.len() > STREAM_NAME_MAX_BYTES || stream.contains('\0') {
        return Err(StoreError::BadStreamName(stream.to_owned()));
    }
    Ok(())
}
