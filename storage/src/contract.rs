//! The storage contract every backend must pass, as reusable checks. A backend's test
//! suite calls each check with a fresh handle (see `embedded/tests.rs`); checks use their
//! own random stream names, so they may share one database or cluster.
//!
//! Reads after a reopen and a torn tail after a crash depend on how a backend is opened
//! and crashed; `reads_survive_reopen` takes both handles, the crash checks are the
//! backend's own.

use std::sync::Arc;

use crate::document_store::{DocumentStore, DocumentWrite};
use crate::event_store::{AppendOutcome, EventStore, NewEvent, StoreError};
use crate::lease::{LeaseError, LeaseStore};

/// A backend's three faces.
#[derive(Clone)]
pub struct Backend {
    pub events: Arc<dyn EventStore>,
    pub documents: Arc<dyn DocumentStore>,
    pub leases: Arc<dyn LeaseStore>,
}

/// A name no other check or run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand_u64())
}

/// A random number from the standard library's randomly keyed hasher.
fn rand_u64() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now())
}

fn event(seq: u64, body: &str) -> NewEvent {
    NewEvent {
        seq,
        body: body.as_bytes().to_vec(),
    }
}

async fn bodies(events: &dyn EventStore, stream: &str) -> Vec<(u64, String)> {
    let read = events.read(stream, 1).await.expect("stream reads");
    read.into_iter()
        .map(|e| (e.seq, String::from_utf8_lossy(&e.body).into_owned()))
        .collect()
}

/// Events come back in sequence order, whatever the order of appends.
pub async fn order_within_a_stream(backend: &Backend) {
    let stream = unique("order");
    let events = &*backend.events;
    events
        .append(&stream, vec![event(2, "b"), event(1, "a")])
        .await
        .unwrap();
    events.append(&stream, vec![event(3, "c")]).await.unwrap();
    let expected = vec![(1, "a".into()), (2, "b".into()), (3, "c".into())];
    assert_eq!(bodies(events, &stream).await, expected);
    assert_eq!(
        events.read(&stream, 3).await.unwrap().len(),
        1,
        "reads from a sequence on"
    );
    assert!(events.read(&unique("empty"), 1).await.unwrap().is_empty());
}

/// Appending an event whose sequence is stored changes nothing and says so.
pub async fn append_is_idempotent_by_sequence(backend: &Backend) {
    let stream = unique("idempotent");
    let events = &*backend.events;
    let first = events
        .append(&stream, vec![event(1, "original")])
        .await
        .unwrap();
    assert_eq!(
        first,
        AppendOutcome {
            stored: 1,
            duplicates: 0
        }
    );
    let again = events
        .append(&stream, vec![event(1, "changed"), event(2, "new")])
        .await
        .unwrap();
    assert_eq!(
        again,
        AppendOutcome {
            stored: 1,
            duplicates: 1
        }
    );
    let expected = vec![(1, "original".into()), (2, "new".into())];
    assert_eq!(bodies(events, &stream).await, expected);
}

/// Many streams appending at once all land, each in order, none mixed up.
pub async fn many_streams_append_at_once(backend: &Backend) {
    let prefix = unique("many");
    let mut tasks = Vec::new();
    for stream in 0..64 {
        let events = Arc::clone(&backend.events);
        let name = format!("{prefix}-{stream}");
        tasks.push(tokio::spawn(async move {
            for seq in 1..=25u64 {
                events
                    .append(&name, vec![event(seq, &format!("{name}/{seq}"))])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.expect("appender finished");
    }
    for stream in 0..64 {
        let name = format!("{prefix}-{stream}");
        let read = bodies(&*backend.events, &name).await;
        let expected: Vec<_> = (1..=25u64)
            .map(|seq| (seq, format!("{name}/{seq}")))
            .collect();
        assert_eq!(read, expected);
    }
}

/// Bad stream names are refused with a named error.
pub async fn bad_stream_names_are_refused(backend: &Backend) {
    let long = "x".repeat(crate::event_store::STREAM_NAME_MAX_BYTES + 1);
    for name in ["", "a\0b", long.as_str()] {
        let error = backend
            .events
            .append(name, vec![event(1, "x")])
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::BadStreamName(_)),
            "{name:?}: {error}"
        );
    }
}

/// A document group is applied whole or not at all.
pub async fn document_groups_are_atomic(backend: &Backend) {
    let prefix = unique("doc");
    let key = |k: &str| format!("{prefix}/{k}");
    let put = |k: &str, v: &str| DocumentWrite::Put {
        key: key(k),
        value: v.into(),
    };
    let create = |k: &str, v: &str| DocumentWrite::Create {
        key: key(k),
        value: v.into(),
    };
    let documents = &*backend.documents;
    documents
        .write(vec![put("1", "one"), create("2", "two")])
        .await
        .unwrap();
    let refused = documents
        .write(vec![put("3", "three"), create("2", "again")])
        .await;
    assert_eq!(refused, Err(StoreError::Conflict(key("2"))));
    assert_eq!(
        documents.get(&key("3")).await.unwrap(),
        None,
        "nothing of the group applied"
    );
    assert_eq!(
        documents.get(&key("2")).await.unwrap(),
        Some(b"two".to_vec())
    );
    documents
        .write(vec![DocumentWrite::Delete { key: key("1") }])
        .await
        .unwrap();
    let listed = documents.scan(&format!("{prefix}/"), 10).await.unwrap();
    assert_eq!(
        listed.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
        vec![key("2")]
    );
}

/// One owner at a time; a new owner gets a higher epoch; expiry frees the lease.
pub async fn leases_exclude_and_expire(backend: &Backend) {
    let key = unique("lease");
    let leases = &*backend.leases;
    let a = leases.claim(&key, "node-a", 1_000, 500).await.unwrap();
    let held = leases.claim(&key, "node-b", 1_200, 500).await;
    assert_eq!(
        held,
        Err(LeaseError::Held {
            owner: "node-a".into(),
            until_ms: 1_500
        })
    );
    let renewed = leases.renew(&a, 1_400, 500).await.unwrap();
    assert_eq!((renewed.epoch, renewed.expires_at_ms), (a.epoch, 1_900));
    let b = leases.claim(&key, "node-b", 2_000, 500).await.unwrap();
    assert!(b.epoch > a.epoch, "a new owner's epoch is higher");
    let lost = leases.renew(&a, 2_100, 500).await;
    assert_eq!(
        lost,
        Err(LeaseError::Lost {
            current_epoch: b.epoch
        })
    );
    leases.release(&b).await.unwrap();
    let c = leases.claim(&key, "node-c", 2_200, 500).await.unwrap();
    assert!(c.epoch > b.epoch, "a released lease can be claimed at once");
}

/// A node that lost its lease cannot append: its epoch is below the fence.
pub async fn fencing_refuses_a_stale_owner(backend: &Backend) {
    let key = unique("fenced");
    let old = backend
        .leases
        .claim(&key, "node-a", 1_000, 100)
        .await
        .unwrap();
    backend
        .events
        .append_fenced(&key, old.epoch, vec![event(1, "by a")])
        .await
        .unwrap();
    let new = backend
        .leases
        .claim(&key, "node-b", 2_000, 100)
        .await
        .unwrap();
    let refused = backend
        .events
        .append_fenced(&key, old.epoch, vec![event(2, "late a")])
        .await;
    assert_eq!(
        refused,
        Err(StoreError::Fenced {
            epoch: old.epoch,
            fence: new.epoch
        })
    );
    backend
        .events
        .append_fenced(&key, new.epoch, vec![event(2, "by b")])
        .await
        .unwrap();
    let expected = vec![(1, "by a".into()), (2, "by b".into())];
    assert_eq!(bodies(&*backend.events, &key).await, expected);
}

/// What `before` wrote, `after` (the same data, reopened) reads.
pub async fn reads_survive_reopen(before: Backend, reopen: impl AsyncFnOnce() -> Backend) {
    let stream = unique("reopen");
    let document = unique("reopen-doc");
    before
        .events
        .append(&stream, vec![event(1, "kept"), event(2, "also")])
        .await
        .unwrap();
    let put = DocumentWrite::Put {
        key: document.clone(),
        value: b"doc".to_vec(),
    };
    before.documents.write(vec![put]).await.unwrap();
    drop(before);
    let after = reopen().await;
    let expected = vec![(1, "kept".into()), (2, "also".into())];
    assert_eq!(bodies(&*after.events, &stream).await, expected);
    assert_eq!(
        after.documents.get(&document).await.unwrap(),
        Some(b"doc".to_vec())
    );
}
