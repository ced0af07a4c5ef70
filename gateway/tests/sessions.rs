//! Sitting an exam over the real gateway: acknowledgements, idempotent retries, submit
//! races, and the deadline.

use std::time::Duration;

use engine::session::events::SessionEvent;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_answers_are_acknowledged_again_and_change_nothing() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (_, ticket) = participant(&node, "Олег").await;
    let (mut client, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["last_seq"], 0);
    assert!(
        state["questions"][0].get("correct").is_none(),
        "no answer key reaches the client"
    );

    assert_eq!(
        client.answer(1, "q1", json!({"choice": "Б"})).await["type"],
        "ack"
    );
    assert_eq!(
        client.answer(2, "q6", json!({"number": "20,5"})).await["type"],
        "ack"
    );
    // A retry of seq 1 with another value: acknowledged, ignored.
    let retry = client.answer(1, "q1", json!({"choice": "Г"})).await;
    assert_eq!(
        (retry["type"].as_str(), retry["seq"].as_u64()),
        (Some("ack"), Some(1))
    );

    // Another device resumes and continues numbering after last_seq.
    let (mut other, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["last_seq"], 2);
    assert_eq!(
        state["answers"],
        json!({"q1": {"choice": "Б"}, "q6": {"number": "20,5"}})
    );
    assert_eq!(client.next().await["type"], "superseded");
    assert_eq!(
        other.answer(3, "q2", json!({"choice": "А"})).await["type"],
        "ack"
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_retried_after_a_lost_reply_returns_the_same_summary() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (session, ticket) = participant(&node, "Ірина").await;
    let (mut client, _) = Client::resume(ws, &ticket).await;
    client.answer(1, "q1", json!({"choice": "Б"})).await;
    client.send(json!({"v": 1, "type": "submit"})).await;
    drop(client); // the reply is lost with the connection

    let (mut again, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["status"], "submitted");
    again.send(json!({"v": 1, "type": "submit"})).await;
    let reply = again.next().await;
    assert_eq!(reply["type"], "submitted");
    assert_eq!(reply["summary"], state["summary"]);
    let late = again.answer(2, "q2", json!({"choice": "Б"})).await;
    assert_eq!(late["code"], "session_closed");

    let events = node.server.engine.session_events(&session).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, SessionEvent::Finished { .. }))
            .count(),
        1
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_submitting_at_once_give_one_submission() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (session, ticket) = participant(&node, "Тимур").await;
    let (mut first, _) = Client::resume(ws, &ticket).await;
    let (mut second, _) = Client::resume(ws, &ticket).await;
    let submit = json!({"v": 1, "type": "submit"});
    tokio::join!(first.send(submit.clone()), second.send(submit));
    let reply = second.next().await;
    assert_eq!(reply["type"], "submitted");
    let events = node.server.engine.session_events(&session).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, SessionEvent::Finished { .. }))
            .count(),
        1
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_session_is_submitted_at_its_deadline_and_late_answers_are_refused() {
    let node = node(2).await;
    let ws = node.server.ws_addr;
    let (_, ticket) = participant(&node, "Жанна").await;
    let (mut client, state) = Client::resume(ws, &ticket).await;
    let deadline = state["deadline_ms"].as_u64().unwrap();
    assert_eq!(
        client.answer(1, "q1", json!({"choice": "Б"})).await["type"],
        "ack"
    );
    drop(client);

    tokio::time::sleep(Duration::from_millis(2_600)).await;
    let (mut client, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["status"], "expired");
    assert_eq!(state["summary"]["finished_at_ms"], deadline);
    assert_eq!(state["answers"], json!({"q1": {"choice": "Б"}}));
    assert_eq!(
        client.answer(2, "q2", json!({"choice": "Б"})).await["code"],
        "session_closed"
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_client_is_told_when_the_deadline_submits_its_exam() {
    let node = node(1).await;
    let (_, ticket) = participant(&node, "Нұрлан").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    let pushed = client.next().await;
    assert_eq!(pushed["type"], "submitted");
    assert_eq!(pushed["summary"]["status"], "expired");
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_before_start_shows_no_questions_and_an_unknown_session_is_closed() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (_, ticket) = register(node.server.http_addr, "Ақжол").await;
    let (_, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["status"], "not_started");
    assert_eq!(
        state["questions"],
        json!([]),
        "no question before the start"
    );

    let claims = gateway::auth::Claims {
        role: gateway::auth::Role::Participant,
        sub: "ghost".into(),
        session: Some("no-such-session".into()),
        exp_ms: engine::clock::now_ms() + 60_000,
    };
    let mut client = Client::connect(ws).await;
    let ticket = node.server.signer.sign(&claims);
    client
        .send(json!({"v": 1, "type": "resume", "ticket": ticket}))
        .await;
    assert_eq!(client.next().await["code"], "unknown_session");
    assert_eq!(client.close_code().await, Some(4404));
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_resent_under_an_older_unapplied_seq_is_saved_not_just_acknowledged() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (_, ticket) = participant(&node, "Зарина").await;
    let (mut client, _) = Client::resume(ws, &ticket).await;
    let refused = client.answer(1, "q1", json!({"choice": "Ж"})).await;
    assert_eq!(refused["code"], "invalid_answer");
    assert_eq!(
        client.answer(2, "q2", json!({"choice": "А"})).await["type"],
        "ack"
    );
    // The client fixes answer 1 and resends it under its old number.
    assert_eq!(
        client.answer(1, "q1", json!({"choice": "Б"})).await["type"],
        "ack"
    );
    let (_, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["answers"]["q1"], json!({"choice": "Б"}));
    node.server.stop().await;
}
