//! The embedded store against the storage contract, plus what only it can show: recovery
//! from a torn journal tail.

use std::sync::Arc;

use super::*;
use crate::contract::{self, Backend};

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(EmbeddedConfig::new(dir)).unwrap()
}

fn backend(store: EmbeddedStore) -> Backend {
    Backend {
        events: Arc::new(store.clone()),
        documents: Arc::new(store.clone()),
        leases: Arc::new(store),
    }
}

/// Runs one contract check on a fresh store.
async fn check<F: AsyncFnOnce(&Backend)>(check: F) {
    let dir = tempfile::tempdir().unwrap();
    check(&backend(open(dir.path()))).await;
}

#[tokio::test]
async fn keeps_order_within_a_stream() {
    check(contract::order_within_a_stream).await;
}

#[tokio::test]
async fn appending_a_stored_sequence_changes_nothing() {
    check(contract::append_is_idempotent_by_sequence).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_appending_at_once_all_land() {
    check(contract::many_streams_append_at_once).await;
}

#[tokio::test]
async fn bad_stream_names_are_refused() {
    check(contract::bad_stream_names_are_refused).await;
}

#[tokio::test]
async fn document_groups_apply_whole_or_not_at_all() {
    check(contract::document_groups_are_atomic).await;
}

#[tokio::test]
async fn leases_exclude_other_owners_until_they_expire() {
    check(contract::leases_exclude_and_expire).await;
}

#[tokio::test]
async fn a_stale_lease_holder_cannot_append() {
    check(contract::fencing_refuses_a_stale_owner).await;
}

#[tokio::test]
async fn reads_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    contract::reads_survive_reopen(backend(open(&path)), async || {
        // The first handle's writer thread lets go of the directory when it is dropped.
        for _ in 0..100 {
            if let Ok(store) = EmbeddedStore::open(EmbeddedConfig::new(&path)) {
                return backend(store);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("store did not reopen");
    })
    .await;
}

fn newest_journal(dir: &Path) -> std::path::PathBuf {
    recovery::journals(dir).pop().expect("a journal exists")
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_and_nothing_before_it_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let body = || vec![b'x'; 200];
    let end_before_last = {
        let store = open(dir.path());
        for seq in 1..=9 {
            store
                .append("torn", vec![NewEvent { seq, body: body() }])
                .await
                .unwrap();
        }
        let end = recovery::data_end(&newest_journal(dir.path())).unwrap();
        store
            .append(
                "torn",
                vec![NewEvent {
                    seq: 10,
                    body: body(),
                }],
            )
            .await
            .unwrap();
        end
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // A crash in the middle of the last write: the second half of its record never
    // reached the disk.
    let journal = newest_journal(dir.path());
    let end = recovery::data_end(&journal).unwrap();
    assert!(
        end > end_before_last + 200,
        "the last record is in the newest journal"
    );
    let half = end_before_last + (end - end_before_last) / 2;
    let zeros = vec![0u8; (end - half) as usize];
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&journal)
        .unwrap();
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(half)).unwrap();
    std::io::Write::write_all(&mut file, &zeros).unwrap();
    drop(file);

    let store = open(dir.path());
    let seqs: Vec<u64> = store
        .read("torn", 1)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=9).collect::<Vec<_>>(),
        "only the torn record is gone"
    );
    let again = store
        .append(
            "torn",
            vec![NewEvent {
                seq: 10,
                body: body(),
            }],
        )
        .await;
    assert_eq!(
        again.unwrap().stored,
        1,
        "the store takes writes after recovery"
    );
}

#[tokio::test]
async fn a_gap_left_by_an_earlier_run_never_lets_a_stored_sequence_be_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let event = |seq, body: &str| NewEvent {
        seq,
        body: body.as_bytes().to_vec(),
    };
    {
        let store = open(dir.path());
        store
            .append("gap", vec![event(1, "a"), event(2, "b"), event(4, "d")])
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let store = open(dir.path());
    let filled = store.append("gap", vec![event(3, "c")]).await.unwrap();
    assert_eq!(
        filled,
        AppendOutcome {
            stored: 1,
            duplicates: 0
        }
    );
    let again = store
        .append("gap", vec![event(4, "changed"), event(5, "e")])
        .await
        .unwrap();
    assert_eq!(
        again,
        AppendOutcome {
            stored: 1,
            duplicates: 1
        }
    );
    let bodies: Vec<_> = store
        .read("gap", 1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.body)
        .collect();
    let expected: Vec<Vec<u8>> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|b| b.as_bytes().to_vec())
        .collect();
    assert_eq!(bodies, expected);
}

/// A retry inside one request, or among requests of one flush, is found even though the
/// first copy is only staged (the writer commits the open batch before looking it up).
#[tokio::test]
async fn a_sequence_repeated_before_its_first_copy_is_synced_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let event = |seq, body: &str| NewEvent {
        seq,
        body: body.as_bytes().to_vec(),
    };
    let outcome = store
        .append(
            "retry",
            vec![
                event(1, "a"),
                event(2, "b"),
                event(1, "changed"),
                event(2, "changed"),
                event(5, "e"),
                event(4, "d"),
                event(4, "changed"),
                event(3, "c"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        AppendOutcome {
            stored: 5,
            duplicates: 3
        }
    );
    // Many requests for the same few sequences at once: most share a flush.
    let copies: Vec<_> = (0..200u64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let seq = 6 + i % 4;
                store
                    .append("retry", vec![event(seq, &format!("{i}"))])
                    .await
            })
        })
        .collect();
    let mut stored = 0;
    for copy in copies {
        stored += copy.await.unwrap().unwrap().stored;
    }
    assert_eq!(stored, 4, "each of sequences 6..=9 is stored once");
    let read = store.read("retry", 1).await.unwrap();
    let seqs: Vec<u64> = read.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    let bodies: Vec<&[u8]> = read[..5].iter().map(|e| e.body.as_slice()).collect();
    assert_eq!(bodies, [b"a", b"b", b"c", b"d", b"e"]);
}

#[tokio::test]
async fn a_data_directory_in_use_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    match EmbeddedStore::open(EmbeddedConfig::new(dir.path())) {
        Err(error @ crate::OpenError::InUse { .. }) => {
            assert!(
                error.to_string().contains("in use by another process"),
                "{error}"
            );
        }
        Err(other) => panic!("expected InUse, got {other}"),
        Ok(_) => panic!("a second store opened the same directory"),
    }
}
