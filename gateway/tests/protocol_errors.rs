//! Bad input on the WebSocket gets a clear error frame or close code, changes nothing, and
//! leaves other sessions running.

use engine::clock::now_ms;
use gateway::auth::{Claims, Role, Signer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_and_misshapen_frames_get_error_codes_and_change_nothing() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (_, ticket) = participant(&node, "Асель").await;
    let (mut client, _) = Client::resume(ws, &ticket).await;

    client.send_raw(Message::text("{not json")).await;
    assert_eq!(client.next().await["code"], "malformed_frame");
    client.send(json!({"v": 1, "type": "dance"})).await;
    assert_eq!(client.next().await["code"], "unknown_type");
    client.send(json!({"v": 7, "type": "ping"})).await;
    assert_eq!(client.next().await["code"], "unsupported_version");
    client
        .send(json!({"v": 1, "type": "answer", "question": "q1"}))
        .await;
    assert_eq!(client.next().await["code"], "invalid_frame");
    client.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(client.next().await["code"], "binary_not_supported");
    let wrong_shape = client.answer(1, "q1", json!({"text": "Б"})).await;
    assert_eq!(
        (wrong_shape["code"].as_str(), wrong_shape["seq"].as_u64()),
        (Some("invalid_answer"), Some(1))
    );
    let unknown = client.answer(2, "q99", json!({"choice": "Б"})).await;
    assert_eq!(unknown["code"], "unknown_question");
    let server_only = json!({"v": 1, "type": "proctor", "seq": 3, "kind": "second_connection"});
    client.send(server_only).await;
    assert_eq!(client.next().await["code"], "not_allowed");

    // The connection still works, and nothing above was saved.
    let ack = client.answer(4, "q1", json!({"choice": "Б"})).await;
    assert_eq!(ack["type"], "ack");
    let (_, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["answers"], json!({"q1": {"choice": "Б"}}));
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_closes_with_1009_while_other_sessions_go_on() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (_, ticket_a) = participant(&node, "Бауыржан").await;
    let (_, ticket_b) = participant(&node, "Гүлнар").await;
    let (mut attacker, _) = Client::resume(ws, &ticket_a).await;
    let (mut other, _) = Client::resume(ws, &ticket_b).await;

    let huge = "я".repeat(40 * 1024);
    let frame =
        json!({"v": 1, "type": "answer", "seq": 1, "question": "q1", "value": {"text": huge}});
    attacker.send(frame).await;
    assert_eq!(attacker.close_code().await, Some(1009));

    assert_eq!(
        other.answer(1, "q2", json!({"choice": "А"})).await["type"],
        "ack"
    );
    let (_, state) = Client::resume(ws, &ticket_a).await;
    assert_eq!(
        state["answers"],
        json!({}),
        "the oversized answer was not saved"
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_missing_tickets_are_refused_with_4401() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let (session, ticket) = participant(&node, "Дана").await;

    let forger = Signer::new(b"not the server's secret at all, 32+".to_vec());
    let claims = |exp_ms| Claims {
        role: Role::Participant,
        sub: "x".into(),
        session: Some(session.clone()),
        exp_ms,
    };
    let forged = forger.sign(&claims(now_ms() + 60_000));
    let expired = node.server.signer.sign(&claims(now_ms() - 1));
    for (ticket, code) in [
        (forged.as_str(), "ticket_invalid"),
        (expired.as_str(), "ticket_expired"),
        ("junk", "ticket_invalid"),
    ] {
        let mut client = Client::connect(ws).await;
        client
            .send(json!({"v": 1, "type": "resume", "ticket": ticket}))
            .await;
        assert_eq!(client.next().await["code"], code);
        assert_eq!(client.close_code().await, Some(4401));
    }
    let admin = node.server.signer.sign(&Claims {
        role: Role::Admin,
        sub: "a".into(),
        session: None,
        exp_ms: now_ms() + 60_000,
    });
    let mut client = Client::connect(ws).await;
    client
        .send(json!({"v": 1, "type": "resume", "ticket": admin}))
        .await;
    assert_eq!(client.next().await["code"], "forbidden");

    let mut unresumed = Client::connect(ws).await;
    unresumed.send(json!({"v": 1, "type": "submit"})).await;
    assert_eq!(unresumed.next().await["code"], "not_resumed");

    let (_, state) = Client::resume(ws, &ticket).await;
    assert_eq!(state["status"], "in_progress");
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_browser_origin_is_refused_at_the_upgrade() {
    let node = node(600).await;
    let ws = node.server.ws_addr;
    let mut request = format!("ws://{ws}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.invalid".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    let mut own = format!("ws://{ws}/ws").into_client_request().unwrap();
    let origin = format!("http://{}", node.server.http_addr);
    own.headers_mut().insert("origin", origin.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(own).await.is_ok());
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_frames_is_rate_limited() {
    let node = node(600).await;
    let (_, ticket) = participant(&node, "Ерасыл").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    for _ in 0..100 {
        client.send(json!({"v": 1, "type": "ping"})).await;
    }
    let mut limited = 0;
    for _ in 0..100 {
        if client.next().await["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 30, "only {limited} of 100 pings were limited");
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_at_once() {
    let node = node_with(600, |config| config.ws_limits.max_connections = 2).await;
    let ws = node.server.ws_addr;
    let _first = Client::connect(ws).await;
    let _second = Client::connect(ws).await;
    let third = tokio_tungstenite::connect_async(format!("ws://{ws}/ws")).await;
    assert!(third.is_err(), "the third connection is refused");
    drop(_first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let _again = Client::connect(ws).await;
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_numbers_past_javascripts_exact_range_are_refused() {
    let node = node(600).await;
    let (_, ticket) = participant(&node, "Әлия").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    let huge = client
        .answer(9_007_199_254_740_993, "q1", json!({"choice": "Б"}))
        .await;
    assert_eq!(huge["code"], "invalid_frame");
    assert_eq!(
        client.answer(1, "q1", json!({"choice": "Б"})).await["type"],
        "ack"
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_is_answered_with_a_close_frame() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let node = node(600).await;
    let mut client = Client::connect(node.server.ws_addr).await;
    let frame = CloseFrame {
        code: 1000.into(),
        reason: "bye".into(),
    };
    client
        .socket
        .send(Message::Close(Some(frame)))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), client.socket.next()).await;
    match reply.expect("a reply within 5 s") {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected the close echoed, got {other:?}"),
    }
    node.server.stop().await;
}
