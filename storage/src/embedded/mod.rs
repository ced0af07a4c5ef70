//! The embedded backend: a fjall database in one data directory, written only by the
//! group-commit thread, read directly by anyone.
//!
//! Layout: keyspace `events` holds `stream ++ 0x00 ++ seq (u64, big endian)`; keyspace
//! `documents` holds document keys as UTF-8.

mod group_commit;
mod lease;
mod recovery;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use tokio::sync::{mpsc, oneshot};

use crate::document_store::{DocumentStore, DocumentWrite};
use crate::event_store::{
    AppendOutcome, EventStore, NewEvent, RecordedEvent, StoreError, check_stream_name,
};
use group_commit::{WriteOp, WriteRequest};

/// Tuning of the embedded store.
#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    /// Write requests waiting for the group-commit thread; senders wait when it is full.
    pub write_queue_capacity: usize,
    /// Most write requests one fsync covers.
    pub max_requests_per_flush: usize,
    /// After the first request of a flush arrives, wait this long for company before
    /// writing. Zero (the default) flushes at once; requests that arrive during an fsync
    /// still share the next one, so batching grows with load on its own.
    pub group_commit_window_us: u64,
    /// Block cache for reads, in bytes.
    pub cache_bytes: u64,
}

impl EmbeddedConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            write_queue_capacity: 16_384,
            max_requests_per_flush: 4_096,
            group_commit_window_us: 0,
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create data directory {path}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database in {path}")]
    Database { path: PathBuf, source: fjall::Error },
    /// Another process (a running node, an import) has the data directory open.
    #[error("{path} is in use by another process (a running node or an import); stop it first")]
    InUse { path: PathBuf },
}

/// The embedded event and document store. Cheap to clone; every clone shares one writer.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    events: Keyspace,
    documents: Keyspace,
    writes: mpsc::Sender<WriteRequest>,
    data_dir: PathBuf,
    /// Set once a group commit failed; the store then refuses every write.
    failed: Arc<std::sync::atomic::AtomicBool>,
    /// Serialises lease claims, renewals and releases (read, decide, write).
    lease_lock: tokio::sync::Mutex<()>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store and starts its group-commit thread. Recovery of a
    /// journal whose last record was torn by a crash happens here, inside fjall.
    pub fn open(config: EmbeddedConfig) -> Result<Self, OpenError> {
        let path = config.data_dir.clone();
        std::fs::create_dir_all(&path).map_err(|source| OpenError::CreateDir {
            path: path.clone(),
            source,
        })?;
        let database_error = |source| match source {
            fjall::Error::Locked => OpenError::InUse { path: path.clone() },
            source => OpenError::Database {
                path: path.clone(),
                source,
            },
        };
        let journals_before = recovery::journal_data_ends(&path);
        let db = Database::builder(&path)
            .cache_size(config.cache_bytes)
            .manual_journal_persist(true)
            .open()
            .map_err(database_error)?;
        recovery::warn_if_tail_dropped(&journals_before);
        let events = db
            .keyspace("events", KeyspaceCreateOptions::default)
            .map_err(database_error)?;
        let documents = db
            .keyspace("documents", KeyspaceCreateOptions::default)
            .map_err(database_error)?;
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writes = group_commit::start(
            db,
            events.clone(),
            documents.clone(),
            &config,
            Arc::clone(&failed),
        );
        let inner = Inner {
            events,
            documents,
            writes,
            data_dir: path,
            lease_lock: tokio::sync::Mutex::new(()),
            failed,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    async fn submit(
        &self,
        ops: Vec<WriteOp>,
        fence: Option<(String, u64)>,
    ) -> Result<AppendOutcome, StoreError> {
        let (reply, done) = oneshot::channel();
        let request = WriteRequest { ops, fence, reply };
        self.inner
            .writes
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }
}

pub(crate) fn event_key(stream: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 9);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn event_ops(stream: &str, events: Vec<NewEvent>) -> Vec<WriteOp> {
    let op = |event: NewEvent| WriteOp::Event {
        key: event_key(stream, event.seq),
        body: event.body,
    };
    events.into_iter().map(op).collect()
}

/// The document holding a stream's fencing epoch.
pub(crate) fn fence_key(stream: &str) -> String {
    format!("{}{stream}", group_commit::FENCE_PREFIX)
}

fn read_error(error: fjall::Error) -> StoreError {
    StoreError::Failed(format!("read: {error}"))
}

#[async_trait]
impl EventStore for EmbeddedStore {
    async fn append(
        &self,
        stream: &str,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        check_stream_name(stream)?;
        if events.is_empty() {
            return Ok(AppendOutcome::default());
        }
        self.submit(event_ops(stream, events), None).await
    }

    async fn append_fenced(
        &self,
        stream: &str,
        epoch: u64,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        check_stream_name(stream)?;
        let fence = Some((fence_key(stream), epoch));
        self.submit(event_ops(stream, events), fence).await
    }

    fn refusing_writes(&self) -> bool {
        self.inner.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn read(&self, stream: &str, from_seq: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        check_stream_name(stream)?;
        let start = event_key(stream, from_seq);
        let end = event_key(stream, u64::MAX);
        let mut out = Vec::new();
        for guard in self.inner.events.range(start..=end) {
            let (key, value) = guard.into_inner().map_err(read_error)?;
            let seq_bytes: [u8; 8] = key[key.len() - 8..]
                .try_into()
                .expect("keys end in 8 bytes");
            out.push(RecordedEvent {
                seq: u64::from_be_bytes(seq_bytes),
                body: value.to_vec(),
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl DocumentStore for EmbeddedStore {
    async fn write(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let ops = writes.into_iter().map(WriteOp::Document).collect();
        self.submit(ops, None).await.map(|_| ())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.inner.documents.get(key).map_err(read_error)?;
        Ok(value.map(|v| v.to_vec()))
    }

    async fn scan(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for guard in self.inner.documents.prefix(prefix).take(limit) {
            let (key, value) = guard.into_inner().map_err(read_error)?;
            let key = String::from_utf8_lossy(&key).into_owned();
            out.push((key, value.to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;
