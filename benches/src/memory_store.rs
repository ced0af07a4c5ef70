//! An in-memory event and document store for benchmarks of the engine alone: the same
//! contract as the embedded store (idempotent appends, atomic document groups) with no
//! disk, so that what is measured is the actors, the state machine and the codec.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use storage::{
    AppendOutcome, DocumentStore, DocumentWrite, EventStore, NewEvent, RecordedEvent, StoreError,
};

/// Events by (stream, sequence) and documents by key, behind one lock each.
#[derive(Default)]
pub struct MemoryStore {
    events: Mutex<BTreeMap<(String, u64), Vec<u8>>>,
    documents: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream: &str,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        storage::event_store::check_stream_name(stream)?;
        let mut stored = self.events.lock().expect("events lock");
        let mut outcome = AppendOutcome::default();
        for event in events {
            match stored.entry((stream.to_owned(), event.seq)) {
                std::collections::btree_map::Entry::Occupied(_) => outcome.duplicates += 1,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(event.body);
                    outcome.stored += 1;
                }
            }
        }
        Ok(outcome)
    }

    async fn append_fenced(
        &self,
        stream: &str,
        _epoch: u64,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append(stream, events).await
    }

    async fn read(&self, stream: &str, from_seq: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        let stored = self.events.lock().expect("events lock");
        let range = (stream.to_owned(), from_seq)..=(stream.to_owned(), u64::MAX);
        Ok(stored
            .range(range)
            .map(|((_, seq), body)| RecordedEvent {
                seq: *seq,
                body: body.clone(),
            })
            .collect())
    }
}

#[async_trait]
impl DocumentStore for MemoryStore {
    async fn write(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError> {
        let mut documents = self.documents.lock().expect("documents lock");
        for write in &writes {
            if let DocumentWrite::Create { key, .. } = write
                && documents.contains_key(key)
            {
                return Err(StoreError::Conflict(key.clone()));
            }
        }
        for write in writes {
            match write {
                DocumentWrite::Put { key, value } | DocumentWrite::Create { key, value } => {
                    documents.insert(key, value);
                }
                DocumentWrite::Delete { key } => {
                    documents.remove(&key);
                }
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .documents
            .lock()
            .expect("documents lock")
            .get(key)
            .cloned())
    }

    async fn scan(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let documents = self.documents.lock().expect("documents lock");
        Ok(documents
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }
}
