//! The group-commit thread: the embedded store's only writer. It drains every queued
//! request into one fjall batch, commits it, fsyncs the journal once, and only then
//! answers each request. An acknowledged write has therefore reached the disk.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, OwnedWriteBatch as WriteBatch, PersistMode};
use tokio::sync::{mpsc, oneshot};

use super::EmbeddedConfig;
use crate::document_store::DocumentWrite;
use crate::event_store::{AppendOutcome, StoreError};
use crate::metrics;

/// One change the writer applies.
pub(super) enum WriteOp {
    /// An event under its full key; skipped if the key is already stored.
    Event {
        key: Vec<u8>,
        body: Vec<u8>,
    },
    Document(DocumentWrite),
}

/// A group of changes that succeed or fail together, with the reply to send once durable.
pub(super) struct WriteRequest {
    pub ops: Vec<WriteOp>,
    /// Refuse the whole group if this fence document holds an epoch above this one.
    pub fence: Option<(String, u64)>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Documents under this prefix hold a stream's fencing epoch (u64, big endian).
pub(super) const FENCE_PREFIX: &str = "fence/";

/// What one flush has staged but not yet committed, so that later requests in the same
/// flush see it.
#[derive(Default)]
struct Staged {
    events: HashSet<Vec<u8>>,
    documents: HashSet<String>,
    fences: HashMap<String, u64>,
}

struct Writer {
    db: Database,
    events: Keyspace,
    documents: Keyspace,
    max_requests: usize,
    window: Duration,
    /// Set after a failed write or fsync; every later request gets this error.
    failed: Option<StoreError>,
    /// Mirrors `failed` for readers outside this thread (health checks).
    failed_flag: Arc<AtomicBool>,
    /// Highest sequence stored per stream (key prefix), read from the keyspace once per
    /// stream and kept up to date: an event above it is new without a lookup. Bounded by
    /// `HIGHEST_KNOWN_MAX`; emptied when full.
    highest: HashMap<Vec<u8>, u64>,
}

/// Streams whose highest sequence the writer remembers.
const HIGHEST_KNOWN_MAX: usize = 200_000;

/// Starts the writer thread and returns the bounded queue that feeds it. The thread ends
/// when every sender is dropped.
pub(super) fn start(
    db: Database,
    events: Keyspace,
    documents: Keyspace,
    config: &EmbeddedConfig,
    failed_flag: Arc<AtomicBool>,
) -> mpsc::Sender<WriteRequest> {
    let (sender, receiver) = mpsc::channel(config.write_queue_capacity);
    let writer = Writer {
        db,
        events,
        documents,
        max_requests: config.max_requests_per_flush.max(1),
        window: Duration::from_micros(config.group_commit_window_us),
        failed: None,
        failed_flag,
        highest: HashMap::new(),
    };
    std::thread::Builder::new()
        .name("olymp-group-commit".into())
        .spawn(move || writer.run(receiver))
        .expect("the group-commit thread starts");
    sender
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<WriteRequest>) {
        let mut pending = Vec::with_capacity(self.max_requests);
        while let Some(first) = receiver.blocking_recv() {
            pending.push(first);
            self.gather(&mut receiver, &mut pending);
            self.flush(&mut pending);
        }
        // Every sender is gone: persist whatever fjall still buffers and stop.
        let _ = self.db.persist(PersistMode::SyncAll);
    }

    /// Takes every request already queued, and with a window, those arriving within it.
    fn gather(&self, receiver: &mut mpsc::Receiver<WriteRequest>, pending: &mut Vec<WriteRequest>) {
        let until = Instant::now() + self.window;
        while pending.len() < self.max_requests {
            match receiver.try_recv() {
                Ok(request) => pending.push(request),
                Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_micros(50)),
                Err(_) => break,
            }
        }
    }

    fn flush(&mut self, pending: &mut Vec<WriteRequest>) {
        let started = Instant::now();
        metrics::FLUSH_REQUESTS.observe(pending.len() as f64);
        if let Some(error) = &self.failed {
            for request in pending.drain(..) {
                let _ = request.reply.send(Err(error.clone()));
            }
            return;
        }
        let mut batch = self.db.batch();
        let outcomes = self.stage(&mut batch, pending);
        let committed = batch
            .commit()
            .and_then(|()| self.db.persist(PersistMode::SyncData));
        if let Err(error) = committed {
            metrics::WRITE_FAILURES.inc();
            tracing::error!(%error, "group commit failed; the store now refuses writes");
            self.failed = Some(StoreError::Failed(format!("group commit: {error}")));
            self.failed_flag.store(true, Ordering::Relaxed);
        }
        for (request, outcome) in pending.drain(..).zip(outcomes) {
            let result = match (&self.failed, outcome) {
                (Some(error), _) => Err(error.clone()),
                (None, outcome) => outcome,
            };
            if let Ok(outcome) = &result {
                metrics::EVENTS_STORED.inc_by(outcome.stored as u64);
                metrics::EVENTS_DUPLICATE.inc_by(outcome.duplicates as u64);
            }
            let _ = request.reply.send(result);
        }
        metrics::FLUSH_SECONDS.observe(started.elapsed().as_secs_f64());
    }

    /// Puts every request's changes into the batch, in order. A request whose document
    /// creation conflicts contributes nothing and gets the conflict back.
    fn stage(
        &mut self,
        batch: &mut WriteBatch,
        pending: &mut [WriteRequest],
    ) -> Vec<Result<AppendOutcome, StoreError>> {
        let mut staged = Staged::default();
        pending
            .iter_mut()
            .map(|request| {
                if let Some((key, epoch)) = &request.fence {
                    let fence = self.fence(key, &staged);
                    if *epoch < fence {
                        return Err(StoreError::Fenced {
                            epoch: *epoch,
                            fence,
                        });
                    }
                }
                if let Some(key) = self.conflict(&request.ops, &staged.documents) {
                    return Err(StoreError::Conflict(key));
                }
                let ops = std::mem::take(&mut request.ops);
                Ok(self.stage_one(batch, ops, &mut staged))
            })
            .collect()
    }

    /// The fence of a stream: staged in this flush, else stored, else zero.
    fn fence(&self, key: &str, staged: &Staged) -> u64 {
        if let Some(epoch) = staged.fences.get(key) {
            return *epoch;
        }
        match self.documents.get(key) {
            Ok(Some(bytes)) => bytes
                .as_ref()
                .try_into()
                .map_or(u64::MAX, u64::from_be_bytes),
            Ok(None) => 0,
            // Unreadable: refuse rather than risk a stale owner's write.
            Err(_) => u64::MAX,
        }
    }

    fn conflict(&self, ops: &[WriteOp], staged: &HashSet<String>) -> Option<String> {
        ops.iter().find_map(|op| match op {
            WriteOp::Document(DocumentWrite::Create { key, .. })
                if staged.contains(key) || self.documents.contains_key(key).unwrap_or(true) =>
            {
                Some(key.clone())
            }
            _ => None,
        })
    }

    fn stage_one(
        &mut self,
        batch: &mut WriteBatch,
        ops: Vec<WriteOp>,
        staged: &mut Staged,
    ) -> AppendOutcome {
        let mut outcome = AppendOutcome::default();
        for op in ops {
            match op {
                WriteOp::Event { key, body } => {
                    if self.is_stored(&key, staged) {
                        outcome.duplicates += 1;
                    } else {
                        self.note_written(&key);
                        staged.events.insert(key.clone());
                        batch.insert(&self.events, key, body);
                        outcome.stored += 1;
                    }
                }
                WriteOp::Document(DocumentWrite::Put { key, value })
                | WriteOp::Document(DocumentWrite::Create { key, value }) => {
                    if key.starts_with(FENCE_PREFIX)
                        && let Ok(bytes) = value.as_slice().try_into()
                    {
                        staged.fences.insert(key.clone(), u64::from_be_bytes(bytes));
                    }
                    batch.insert(&self.documents, key.as_str(), value);
                    staged.documents.insert(key);
                }
                WriteOp::Document(DocumentWrite::Delete { key }) => {
                    staged.documents.remove(&key);
                    batch.remove(&self.documents, key.as_str());
                }
            }
        }
        outcome
    }

    /// Whether an event key is stored or staged. Keys above the stream's highest stored
    /// sequence need no lookup, which is the common case: a session appends in order.
    fn is_stored(&mut self, key: &[u8], staged: &Staged) -> bool {
        if staged.events.contains(key) {
            return true;
        }
        let (prefix, seq) = split_event_key(key);
        let highest = match self.highest.get(prefix) {
            Some(highest) => *highest,
            None => {
                if self.highest.len() >= HIGHEST_KNOWN_MAX {
                    self.highest.clear();
                }
                let highest = self.stored_highest(prefix);
                self.highest.insert(prefix.to_vec(), highest);
                highest
            }
        };
        seq <= highest && self.events.contains_key(key).unwrap_or(false)
    }

    fn note_written(&mut self, key: &[u8]) {
        let (prefix, seq) = split_event_key(key);
        if let Some(highest) = self.highest.get_mut(prefix) {
            *highest = (*highest).max(seq);
        }
    }

    /// The highest sequence stored under a stream's prefix; `u64::MAX` if unreadable, so
    /// that every event is then looked up.
    fn stored_highest(&self, prefix: &[u8]) -> u64 {
        match self
            .events
            .prefix(prefix)
            .next_back()
            .map(|guard| guard.key())
        {
            None => 0,
            Some(Ok(key)) => split_event_key(&key).1,
            Some(Err(_)) => u64::MAX,
        }
    }
}

/// An event key's stream prefix (stream name and NUL) and its sequence.
fn split_event_key(key: &[u8]) -> (&[u8], u64) {
    let (prefix, seq) = key.split_at(key.len().saturating_sub(8));
    (prefix, seq.try_into().map_or(0, u64::from_be_bytes))
}
