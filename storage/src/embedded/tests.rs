//! Tests of the embedded store against the storage contract's basic promises.

use super::*;

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(EmbeddedConfig::new(dir)).unwrap()
}

fn event(seq: u64, body: &str) -> NewEvent {
    NewEvent {
        seq,
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn events_read_back_in_sequence_order_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .append("s-1", vec![event(2, "b"), event(1, "a")])
            .await
            .unwrap();
        store.append("s-1", vec![event(3, "c")]).await.unwrap();
        store.append("s-10", vec![event(1, "other")]).await.unwrap();
    }
    let store = open(dir.path());
    let read = store.read("s-1", 1).await.unwrap();
    let bodies: Vec<_> = read.iter().map(|e| (e.seq, e.body.clone())).collect();
    assert_eq!(
        bodies,
        vec![(1, b"a".to_vec()), (2, b"b".to_vec()), (3, b"c".to_vec())]
    );
    assert_eq!(store.read("s-1", 3).await.unwrap().len(), 1);
    assert_eq!(store.read("s-10", 0).await.unwrap().len(), 1);
}

#[tokio::test]
async fn appending_a_stored_sequence_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = store.append("s", vec![event(1, "original")]).await.unwrap();
    assert_eq!(
        first,
        AppendOutcome {
            stored: 1,
            duplicates: 0
        }
    );
    let again = store
        .append("s", vec![event(1, "changed"), event(2, "new")])
        .await
        .unwrap();
    assert_eq!(
        again,
        AppendOutcome {
            stored: 1,
            duplicates: 1
        }
    );
    let read = store.read("s", 0).await.unwrap();
    assert_eq!(read[0].body, b"original");
    assert_eq!(read.len(), 2);
}

#[tokio::test]
async fn concurrent_appends_from_many_streams_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut tasks = Vec::new();
    for stream in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for seq in 1..=20 {
                let name = format!("s-{stream}");
                store.append(&name, vec![event(seq, "x")]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for stream in 0..50 {
        let read = store.read(&format!("s-{stream}"), 0).await.unwrap();
        let seqs: Vec<_> = read.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn bad_stream_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let long = "x".repeat(200);
    for name in ["", "a\0b", long.as_str()] {
        let error = store.append(name, vec![event(1, "x")]).await.unwrap_err();
        assert!(
            matches!(error, StoreError::BadStreamName(_)),
            "{name:?}: {error}"
        );
    }
}

#[tokio::test]
async fn document_groups_apply_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let put = |key: &str, value: &str| DocumentWrite::Put {
        key: key.into(),
        value: value.into(),
    };
    let create = |key: &str, value: &str| DocumentWrite::Create {
        key: key.into(),
        value: value.into(),
    };
    store
        .write(vec![put("a/1", "one"), create("a/2", "two")])
        .await
        .unwrap();

    let error = store
        .write(vec![put("a/3", "three"), create("a/2", "again")])
        .await
        .unwrap_err();
    assert_eq!(error, StoreError::Conflict("a/2".into()));
    assert_eq!(store.get("a/3").await.unwrap(), None);
    assert_eq!(store.get("a/2").await.unwrap(), Some(b"two".to_vec()));

    store
        .write(vec![DocumentWrite::Delete { key: "a/1".into() }])
        .await
        .unwrap();
    let keys: Vec<_> = store
        .scan("a/", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["a/2".to_owned()]);
}
