//! A write reported as failed that landed all the same (a timeout on a cluster): the
//! session must not acknowledge anything it has not stored, nor write over what it has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use engine::Engine;
use engine::domain::answer::AnswerValue;
use engine::session::context::SessionConfig;
use engine::session::push::Push;
use engine::session::state::SessionError;
use storage::{
    AppendOutcome, EmbeddedConfig, EmbeddedStore, EventStore, NewEvent, RecordedEvent, StoreError,
};

use crate::support::*;

/// The embedded store, except that the next append, once armed, is stored and then
/// reported as failed.
struct LostReply {
    inner: EmbeddedStore,
    armed: AtomicBool,
}

#[async_trait]
impl EventStore for LostReply {
    async fn append(
        &self,
        stream: &str,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let stored = self.inner.append(stream, events).await;
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Failed(
                "timed out; the write may have landed".into(),
            ));
        }
        stored
    }

    async fn append_fenced(
        &self,
        stream: &str,
        epoch: u64,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner.append_fenced(stream, epoch, events).await
    }

    async fn read(&self, stream: &str, from_seq: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read(stream, from_seq).await
    }
}

/// An engine whose event store can be armed to lose one reply, on a fresh directory
/// (kept alive by the returned guard), and the embedded store beneath it.
async fn engine_losing_a_reply() -> (tempfile::TempDir, Arc<LostReply>, EmbeddedStore, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let events = Arc::new(LostReply {
        inner: store.clone(),
        armed: AtomicBool::new(false),
    });
    let documents = Arc::new(store.clone());
    let engine = Engine::start(events.clone(), documents, SessionConfig::default())
        .await
        .unwrap();
    (dir, events, store, engine)
}

fn choice(label: &str) -> AnswerValue {
    AnswerValue::Choice(label.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_a_write_of_unknown_outcome_is_stored_after_it_not_over_it() {
    let (_dir, events, store, engine) = engine_losing_a_reply().await;
    publish_olympiad(&engine, 600).await;
    let (session, _) = started_session(&engine).await;
    let (on, mut pushes) = connection(1);
    engine.attach(&session, on.clone()).await.unwrap();
    let answer = |seq: u64, question: &str, label: &str| {
        let reply_to = on.outbound.clone();
        engine.answer(&session, 1, seq, question.into(), choice(label), reply_to)
    };

    events.armed.store(true, Ordering::SeqCst);
    answer(1, "q1", "Б").await.unwrap();
    match next(&mut pushes).await {
        Push::Refused { seq, error } => {
            assert_eq!((seq, error), (Some(1), SessionError::StorageUnavailable));
        }
        other => panic!("the failed write is refused, not {other:?}"),
    }
    // The pupil changes the answer; then the client resends the refused one.
    answer(2, "q1", "В").await.unwrap();
    assert!(matches!(next(&mut pushes).await, Push::Ack { seq: 2, .. }));
    answer(1, "q1", "Б").await.unwrap();
    assert!(matches!(next(&mut pushes).await, Push::Ack { seq: 1, .. }));
    answer(3, "q2", "А").await.unwrap();
    assert!(matches!(next(&mut pushes).await, Push::Ack { seq: 3, .. }));
    engine.shutdown().await;
    drop(engine);

    let engine = open_engine_on(store).await;
    let (again, _) = connection(2);
    let snapshot = engine.attach(&session, again).await.unwrap();
    assert_eq!(
        snapshot.answers.get("q1"),
        Some(&choice("В")),
        "the acknowledged later answer stands"
    );
    assert_eq!(snapshot.answers.get("q2"), Some(&choice("А")));
    assert_eq!(snapshot.last_seq, 3);
}

async fn open_engine_on(store: EmbeddedStore) -> Engine {
    Engine::start(
        Arc::new(store.clone()),
        Arc::new(store),
        SessionConfig::default(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_action_after_an_audit_write_of_unknown_outcome_is_not_dropped() {
    let (_dir, events, _, engine) = engine_losing_a_reply().await;
    engine.import_papers("admin-1", &[paper()]).await.unwrap();
    events.armed.store(true, Ordering::SeqCst);
    let reported = engine.put_olympiad("admin-2", &olympiad(600)).await;
    assert!(reported.is_err(), "the audit write was reported as failed");
    engine
        .put_olympiad("admin-3", &olympiad(900))
        .await
        .unwrap();
    let by: Vec<String> = engine
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.by)
        .collect();
    assert_eq!(by, ["admin-1", "admin-2", "admin-3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_time_retried_under_its_grant_id_after_an_unknown_outcome_is_granted_once() {
    let (_dir, events, _, engine) = engine_losing_a_reply().await;
    publish_olympiad(&engine, 600).await;
    let (session, started) = started_session(&engine).await;
    let deadline = started.deadline_ms.unwrap();

    events.armed.store(true, Ordering::SeqCst);
    let first = engine
        .extend_time("admin", &session, 300, Some("g-1"))
        .await;
    assert!(first.is_err(), "the grant's write was reported as failed");
    let retried = engine
        .extend_time("admin", &session, 300, Some("g-1"))
        .await
        .unwrap();
    assert_eq!(
        retried.deadline_ms,
        Some(deadline + 300_000),
        "granted once"
    );
    let another = engine
        .extend_time("admin", &session, 60, Some("g-2"))
        .await
        .unwrap();
    assert_eq!(another.deadline_ms, Some(deadline + 360_000));
    let without_id = engine
        .extend_time("admin", &session, 60, None)
        .await
        .unwrap();
    assert_eq!(without_id.deadline_ms, Some(deadline + 420_000));
}
