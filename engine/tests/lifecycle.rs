//! A session's life through the engine: start, answers, submit, expiry, restart.

use std::time::Duration;

use engine::domain::answer::AnswerValue;
use engine::session::events::{FinishReason, SessionEvent};
use engine::session::push::Push;
use engine::session::state::{SessionError, Status};

use crate::support::*;

fn choice(label: &str) -> AnswerValue {
    AnswerValue::Choice(label.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_acknowledged_scored_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 600).await;
    let registration = engine
        .register(OLYMPIAD, "Олена", "Школа 1", "Київ", 9)
        .await
        .unwrap();
    let session = registration.session_id.clone();
    let view = engine.start_session(&session).await.unwrap();
    let (connection, mut inbound) = connection(1);
    engine.attach(&session, connection.clone()).await.unwrap();

    for (seq, label) in [(1, "Б"), (2, "А"), (3, "Б")] {
        let question = format!("q{seq}");
        let out = connection.outbound.clone();
        engine
            .answer(&session, 1, seq, question, choice(label), out)
            .await
            .unwrap();
        assert!(matches!(next(&mut inbound).await, Push::Ack { seq: s, .. } if s == seq));
    }
    engine.shutdown().await;
    drop(engine);

    let engine = open_engine(dir.path()).await;
    let (second, _inbound) = crate::support::connection(2);
    let snapshot = engine.attach(&session, second).await.unwrap();
    assert_eq!(snapshot.status, Status::InProgress);
    assert_eq!(snapshot.answers.len(), 3);
    assert_eq!(snapshot.last_seq, 3);
    assert_eq!(
        snapshot.deadline_ms, view.deadline_ms,
        "a restart never moves a deadline"
    );
    let results = engine.results(OLYMPIAD).await.unwrap();
    assert_eq!(results[0].score, 2);
    assert_eq!(results[0].rank, None, "unfinished sessions are not ranked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_submit_returns_the_same_summary_and_later_answers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 600).await;
    let (session, _) = started_session(&engine).await;
    let (a, mut inbound_a) = connection(1);
    let (b, mut inbound_b) = connection(2);
    engine.attach(&session, a.clone()).await.unwrap();
    // Two connections submit at once: one submission, the same summary for both.
    engine
        .submit(&session, 1, a.outbound.clone())
        .await
        .unwrap();
    engine
        .submit(&session, 2, b.outbound.clone())
        .await
        .unwrap();
    let Push::Finished(first) = next(&mut inbound_a).await else {
        panic!("summary")
    };
    let Push::Finished(second) = next(&mut inbound_b).await else {
        panic!("summary")
    };
    assert_eq!(first, second);
    engine
        .submit(&session, 1, a.outbound.clone())
        .await
        .unwrap();
    let Push::Finished(again) = next(&mut inbound_a).await else {
        panic!("summary")
    };
    assert_eq!(again, first);

    engine
        .answer(&session, 1, 9, "q1".into(), choice("Б"), a.outbound.clone())
        .await
        .unwrap();
    let refused = next(&mut inbound_a).await;
    assert_eq!(
        refused,
        Push::Refused {
            seq: Some(9),
            error: SessionError::Closed(Status::Submitted)
        }
    );
    let events = engine.session_events(&session).await.unwrap();
    let finishes = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Finished { .. }))
        .count();
    assert_eq!(finishes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_session_is_submitted_at_its_deadline_with_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 2).await;
    let (session, view) = started_session(&engine).await;
    let (connection, mut inbound) = connection(1);
    engine.attach(&session, connection.clone()).await.unwrap();
    engine
        .answer(
            &session,
            1,
            1,
            "q1".into(),
            choice("Б"),
            connection.outbound.clone(),
        )
        .await
        .unwrap();
    assert!(matches!(next(&mut inbound).await, Push::Ack { seq: 1, .. }));
    engine.detach(&session, 1).await;
    drop(inbound);

    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let events = engine.session_events(&session).await.unwrap();
    let deadline = view.deadline_ms.unwrap();
    assert_eq!(
        events.last(),
        Some(&SessionEvent::Finished {
            at_ms: deadline,
            reason: FinishReason::Expired
        })
    );
    let results = engine.results(OLYMPIAD).await.unwrap();
    assert_eq!(results[0].status, Status::Expired);
    assert_eq!(results[0].score, 1);
    assert_eq!(results[0].finished_at_ms, Some(deadline));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expired_while_the_server_was_down_finishes_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 1).await;
    let (session, view) = started_session(&engine).await;
    engine.shutdown().await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let engine = open_engine(dir.path()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = engine.session_events(&session).await.unwrap();
    let finished_at = events.iter().find_map(|e| match e {
        SessionEvent::Finished { at_ms, .. } => Some(*at_ms),
        _ => None,
    });
    assert_eq!(finished_at, view.deadline_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_idle_session_is_passivated_and_rebuilt_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 600).await;
    let (session, _) = started_session(&engine).await;
    let (connection, mut inbound) = connection(1);
    engine
        .submit(&session, 1, connection.outbound.clone())
        .await
        .unwrap();
    assert!(matches!(next(&mut inbound).await, Push::Finished(_)));
    assert_eq!(engine.live_sessions(), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(engine.live_sessions(), 0, "finished idle session stopped");
    let snapshot = engine.attach(&session, connection).await.unwrap();
    assert_eq!(snapshot.status, Status::Submitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_supersedes_and_a_live_second_connection_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_olympiad(dir.path(), 600).await;
    let (session, _) = started_session(&engine).await;
    let (a, mut inbound_a) = connection(1);
    engine.attach(&session, a).await.unwrap();
    let (mut b, _inbound_b) = connection(2);
    b.address = "127.0.0.2".into();
    engine.attach(&session, b).await.unwrap();
    assert_eq!(next(&mut inbound_a).await, Push::Superseded);
    let results = engine.results(OLYMPIAD).await.unwrap();
    let kinds: Vec<_> = results[0].violations.keys().copied().collect();
    use engine::proctoring::ViolationKind::*;
    assert_eq!(
        kinds,
        vec![AddressChanged],
        "a resume alone proves no second device"
    );
    // The gateway found connection 1 still answering pings.
    engine.second_connection_seen(&session, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let results = engine.results(OLYMPIAD).await.unwrap();
    let kinds: Vec<_> = results[0].violations.keys().copied().collect();
    assert_eq!(kinds, vec![SecondConnection, AddressChanged]);
}
