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
/// flush see it. Events need no entry: `Writer::streams` marks the streams staged in the
/// current batch.
#[derive(Default)]
struct Staged {
    documents: HashSet<String>,
    fences: HashMap<String, u64>,
}

/// What the writer knows of one stream.
struct StreamMark {
    /// Highest sequence stored or staged.
    highest: u64,
    /// The batch generation that last staged an event of this stream.
    staged_in: u64,
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
    /// Per stream (key prefix): the highest sequence stored or staged, read from the
    /// keyspace once per stream and kept up to date, so that an event above it is new
    /// without a lookup. Bounded by `STREAMS_KNOWN_MAX`; emptied between flushes when full.
    streams: HashMap<Vec<u8>, StreamMark>,
    /// Counts the fjall batches this writer opened; the current batch's number.
    generation: u64,
    /// Set when committing a batch early, inside a flush, failed.
    early_commit_failed: Option<fjall::Error>,
}

/// Streams whose highest sequence the writer remembers.
const STREAMS_KNOWN_MAX: usize = 200_000;

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
        streams: HashMap::new(),
        generation: 0,
        early_commit_failed: None,
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
        if self.streams.len() >= STREAMS_KNOWN_MAX {
            self.streams.clear();
        }
        let mut batch = self.new_batch();
        let outcomes = self.stage(&mut batch, pending);
        let committed = match self.early_commit_failed.take() {
            Some(error) => Err(error),
            None => batch.commit(),
        };
        let committed = committed.and_then(|()| self.db.persist(PersistMode::SyncData));
        if let Err(error) = committed {
            metrics::WRITE_FAILURES.inc();
            tracing::error!(%error, "group commit failed; the store now refuses writes");
            self.failed = Some(StoreError::Failed(format!("group commit: {error}")));
            self.failed_flag.store(true, Ordering::Relaxed);
            // What the writer learnt of streams may include events that were not stored.
            self.streams.clear();
        }
        let (mut stored, mut duplicates) = (0, 0);
        for (request, outcome) in pending.drain(..).zip(outcomes) {
            let result = match (&self.failed, outcome) {
                (Some(error), _) => Err(error.clone()),
                (None, outcome) => outcome,
            };
            if let Ok(outcome) = &result {
                stored += outcome.stored as u64;
                duplicates += outcome.duplicates as u64;
            }
            let _ = request.reply.send(result);
        }
        metrics::EVENTS_STORED.inc_by(stored);
        metrics::EVENTS_DUPLICATE.inc_by(duplicates);
        metrics::FLUSH_SECONDS.observe(started.elapsed().as_secs_f64());
    }

    /// A new fjall batch: events staged from now on belong to the next generation.
    fn new_batch(&mut self) -> WriteBatch {
        self.generation += 1;
        self.db.batch()
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
                    if self.is_stored(batch, &key) {
                        outcome.duplicates += 1;
                    } else {
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

    /// Whether an event key is stored or staged; if not, the caller stages it and the
    /// stream's mark already counts it. Keys above the stream's highest sequence need no
    /// lookup, which is the common case: a session appends in order. A key at or below it
    /// (a retry) is looked up in the keyspace; if the stream has events in the open batch,
    /// that batch is committed first (not yet synced: the flush's one fsync still comes
    /// before any reply), so that the lookup sees them.
    fn is_stored(&mut self, batch: &mut WriteBatch, key: &[u8]) -> bool {
        let (prefix, seq) = split_event_key(key);
        let generation = self.generation;
        let mark = match self.streams.get_mut(prefix) {
            Some(mark) => mark,
            None => {
                let highest = self.stored_highest(prefix);
                let mark = StreamMark {
                    highest,
                    staged_in: 0,
                };
                self.streams.entry(prefix.to_vec()).or_insert(mark)
            }
        };
        if seq > mark.highest {
            mark.highest = seq;
            mark.staged_in = generation;
            return false;
        }
        if mark.staged_in == generation {
            self.commit_early(batch);
        }
        let stored = self.events.contains_key(key).unwrap_or(false);
        if !stored && let Some(mark) = self.streams.get_mut(prefix) {
            mark.staged_in = self.generation;
        }
        stored
    }

    /// Commits the open batch inside a flush and opens the next one.
    fn commit_early(&mut self, batch: &mut WriteBatch) {
        let full = std::mem::replace(batch, self.new_batch());
        if let Err(error) = full.commit()
            && self.early_commit_failed.is_none()
        {
            self.early_commit_failed = Some(error);
        }
    }

    /// The highest sequence stored under a stream's prefix; `u64::MAX` if unreadable, so
    /// that every event of the stream is then looked up.
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
