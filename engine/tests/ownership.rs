//! Several nodes on one store: a session is served by the node holding its lease, and a
//! node that lost the lease stores nothing more for it. Two engines in one process share
//! one embedded store here, as nodes share a ScyllaDB cluster.

use std::sync::Arc;
use std::time::Duration;

use engine::Engine;
use engine::domain::answer::AnswerValue;
use engine::session::context::{Ownership, SessionConfig, stream_name};
use engine::session::events::SessionEvent;
use engine::session::push::Push;
use engine::session::state::SessionError;
use storage::{EmbeddedConfig, EmbeddedStore, EventStore as _};

use crate::support::*;

/// A node on the shared store, holding leases of `ttl_ms` renewed every `renew_every_ms`.
async fn node(store: &EmbeddedStore, name: &str, ttl_ms: u64, renew_every_ms: u64) -> Engine {
    let mut ownership = Ownership::new(Arc::new(store.clone()), name, ttl_ms);
    ownership.renew_every_ms = renew_every_ms;
    let config = SessionConfig {
        passivate_after_ms: 60_000,
        ownership: Some(ownership),
    };
    let events = Arc::new(store.clone());
    Engine::start(events, Arc::new(store.clone()), config)
        .await
        .unwrap()
}

fn choice(label: &str) -> AnswerValue {
    AnswerValue::Choice(label.into())
}

async fn answer(engine: &Engine, session: &str, connection: u64, seq: u64, label: &str) -> Push {
    let (conn, mut replies) = crate::support::connection(connection);
    engine
        .answer(
            session,
            connection,
            seq,
            "q1".into(),
            choice(label),
            conn.outbound,
        )
        .await
        .unwrap();
    next(&mut replies).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_lease_ran_out_stores_nothing_more_and_the_new_node_has_every_ack() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    // Node A "pauses": its lease lasts 300 ms and it never renews in time.
    let a = node(&store, "node-a", 300, 60_000).await;
    let b = node(&store, "node-b", 30_000, 10_000).await;
    publish_olympiad(&a, 600).await;
    let (session, _) = started_session(&a).await;
    let (on_a, mut pushes_a) = connection(1);
    a.attach(&session, on_a.clone()).await.unwrap();
    let acked = a
        .answer(
            &session,
            1,
            1,
            "q1".into(),
            choice("Б"),
            on_a.outbound.clone(),
        )
        .await;
    acked.unwrap();
    assert!(matches!(
        next(&mut pushes_a).await,
        Push::Ack { seq: 1, .. }
    ));

    let (on_b, mut pushes_b) = connection(2);
    let refused = b.attach(&session, on_b.clone()).await;
    assert_eq!(
        refused.unwrap_err(),
        SessionError::ServedElsewhere,
        "B cannot serve the session while A's lease runs"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let snapshot = b.attach(&session, on_b.clone()).await.unwrap();
    assert_eq!(snapshot.last_seq, 1, "B sees every answer A acknowledged");
    assert_eq!(snapshot.answers.get("q1"), Some(&choice("Б")));

    // A, unaware, takes the next answer: the store refuses A's stale epoch.
    a.answer(
        &session,
        1,
        2,
        "q1".into(),
        choice("В"),
        on_a.outbound.clone(),
    )
    .await
    .unwrap();
    match next(&mut pushes_a).await {
        Push::Refused { seq, error } => {
            assert_eq!(seq, Some(2));
            assert_eq!(error, SessionError::ServedElsewhere);
        }
        other => panic!("A must refuse, not {other:?}"),
    }
    match next(&mut pushes_a).await {
        Push::Refused { seq: None, error } => assert_eq!(error, SessionError::ServedElsewhere),
        other => panic!("A's connection is told to go, not {other:?}"),
    }

    // B serves the session; A refuses it from now on.
    b.answer(
        &session,
        2,
        2,
        "q1".into(),
        choice("Г"),
        on_b.outbound.clone(),
    )
    .await
    .unwrap();
    assert!(matches!(
        next(&mut pushes_b).await,
        Push::Ack { seq: 2, .. }
    ));
    let (again, _) = connection(3);
    assert_eq!(
        a.attach(&session, again).await.unwrap_err(),
        SessionError::ServedElsewhere
    );
    let stored = store.read(&stream_name(&session), 1).await.unwrap();
    let answers: Vec<(u64, AnswerValue)> = stored
        .iter()
        .filter_map(|record| match storage::decode(&record.body).unwrap() {
            SessionEvent::AnswerSaved {
                client_seq, value, ..
            } => Some((client_seq, value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [(1, choice("Б")), (2, choice("Г"))],
        "the store holds A's acknowledged answer and B's, and nothing of A's refused one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_node_keeps_its_sessions_by_renewing_their_leases() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let a = node(&store, "node-a", 300, 100).await;
    let b = node(&store, "node-b", 30_000, 10_000).await;
    publish_olympiad(&a, 600).await;
    let (session, _) = started_session(&a).await;
    for seq in 1..=5 {
        // Five times the lease's length, with A renewing in between.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (on_b, _) = connection(100 + seq);
        assert_eq!(
            b.attach(&session, on_b).await.unwrap_err(),
            SessionError::ServedElsewhere
        );
        assert!(matches!(
            answer(&a, &session, seq, seq, "Б").await,
            Push::Ack { .. }
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_on_two_nodes_all_reach_the_shared_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let a = node(&store, "node-a", 30_000, 10_000).await;
    let b = node(&store, "node-b", 30_000, 10_000).await;
    a.import_papers("admin-a", &[paper()]).await.unwrap();
    let writes: Vec<_> = (0..10)
        .map(|round| {
            let (a, b) = (a.clone(), b.clone());
            tokio::spawn(async move {
                let mut olympiad = olympiad(600);
                olympiad.title = format!("round {round}");
                let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
                let (on_first, on_second) = tokio::join!(
                    first.put_olympiad("admin-1", &olympiad),
                    second.put_olympiad("admin-2", &olympiad),
                );
                on_first.unwrap();
                on_second.unwrap();
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    let log = b.audit_log().await.unwrap();
    assert_eq!(
        log.len(),
        21,
        "one import and twenty olympiad changes, none overwritten"
    );
    assert_eq!(log.iter().filter(|e| e.by == "admin-1").count(), 10);
    assert_eq!(log.iter().filter(|e| e.by == "admin-2").count(), 10);
    assert_eq!(log, a.audit_log().await.unwrap());
}
