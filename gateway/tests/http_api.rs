//! The HTTP API: registration errors, roles, results, extra time with its audit trail,
//! health and metrics.

use engine::clock::now_ms;
use gateway::auth::{Claims, Role};
use loadtest::http_client::{HttpError, request};
use serde_json::json;

use crate::support::*;

fn status(error: HttpError) -> (u16, String) {
    match error {
        HttpError::Status { status, body } => (status, body),
        other => panic!("expected an HTTP status, got {other}"),
    }
}

fn staff_token(node: &Node, role: Role) -> String {
    node.server.signer.sign(&Claims {
        role,
        sub: "Алия".into(),
        session: None,
        exp_ms: now_ms() + 60_000,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_are_refused_with_a_named_reason() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let path = format!("/api/v1/olympiads/{OLYMPIAD}/registrations");
    let cases = [
        (json!({"name": "  ", "grade": 9}), 422, "invalid_profile"),
        (json!({"name": "Ann", "grade": 5}), 422, "grade_not_offered"),
        (
            json!({"name": "Ann\u{0007}", "grade": 9}),
            422,
            "invalid_profile",
        ),
        (
            json!({"name": "Ann", "grade": 9, "admin": true}),
            422,
            "bad_request",
        ),
        (json!({"name": "Ann", "grade": 900}), 422, "bad_request"),
        (
            json!({"name": "x".repeat(20_000), "grade": 9}),
            413,
            "payload_too_large",
        ),
    ];
    for (body, expected_status, code) in cases {
        let (got, text) = status(
            request(http, "POST", &path, None, Some(&body))
                .await
                .unwrap_err(),
        );
        assert_eq!(got, expected_status, "{body}: {text}");
        assert!(text.contains(code), "{body}: {text}");
    }
    let body = json!({"name": "A", "grade": 9});
    let unknown = request(
        http,
        "POST",
        "/api/v1/olympiads/nope/registrations",
        None,
        Some(&body),
    )
    .await;
    assert_eq!(status(unknown.unwrap_err()).0, 404);
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_need_staff_and_list_score_status_and_violations() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (session, ticket) = participant(&node, "Сәуле").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    client.answer(1, "q1", json!({"choice": "Б"})).await;
    client.answer(2, "q6", json!({"number": "20.5"})).await;
    let proctor =
        json!({"v": 1, "type": "proctor", "seq": 3, "kind": "focus_lost", "detail": "tab hidden"});
    client.send(proctor).await;
    assert_eq!(client.next().await["type"], "ack");
    assert_eq!(client.next().await["type"], "proctor_warning");
    client.send(json!({"v": 1, "type": "submit"})).await;
    assert_eq!(client.next().await["type"], "submitted");

    let path = format!("/api/v1/admin/olympiads/{OLYMPIAD}/results");
    assert_eq!(
        status(request(http, "GET", &path, None, None).await.unwrap_err()).0,
        401
    );
    assert_eq!(
        status(
            request(http, "GET", &path, Some(&ticket), None)
                .await
                .unwrap_err()
        )
        .0,
        403
    );
    let results = request(
        http,
        "GET",
        &path,
        Some(&staff_token(&node, Role::Proctor)),
        None,
    )
    .await
    .unwrap();
    let row = &results["results"][0];
    assert_eq!(row["session_id"], session.as_str());
    assert_eq!(
        (row["score"].as_u64(), row["max_score"].as_u64()),
        (Some(3), Some(7))
    );
    assert_eq!(
        (row["rank"].as_u64(), row["status"].as_str()),
        (Some(1), Some("submitted"))
    );
    assert_eq!(row["violations"], json!({"focus_lost": 1}));
    assert_eq!(row["name"], "Сәуле");
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_time_moves_the_deadline_and_is_audited() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (session, ticket) = participant(&node, "Марат").await;
    let (_client, state) = Client::resume(node.server.ws_addr, &ticket).await;
    let deadline = state["deadline_ms"].as_u64().unwrap();
    let admin = staff_token(&node, Role::Admin);
    let path = format!("/api/v1/admin/sessions/{session}/extra-time");
    let view = request(
        http,
        "POST",
        &path,
        Some(&admin),
        Some(&json!({"seconds": 300})),
    )
    .await
    .unwrap();
    assert_eq!(view["deadline_ms"].as_u64(), Some(deadline + 300_000));
    let too_much = request(
        http,
        "POST",
        &path,
        Some(&admin),
        Some(&json!({"seconds": 999_999})),
    )
    .await;
    assert_eq!(status(too_much.unwrap_err()).0, 422);
    // Under a grant id, sending the same grant again (a retry) grants nothing more.
    let grant = json!({"seconds": 120, "grant_id": "grant-7"});
    for _ in 0..2 {
        let view = request(http, "POST", &path, Some(&admin), Some(&grant))
            .await
            .unwrap();
        assert_eq!(view["deadline_ms"].as_u64(), Some(deadline + 420_000));
    }
    let bad_id = json!({"seconds": 120, "grant_id": "no spaces/please"});
    let refused = request(http, "POST", &path, Some(&admin), Some(&bad_id)).await;
    let (code, body) = status(refused.unwrap_err());
    assert_eq!(code, 422, "{body}");
    let proctor_token = staff_token(&node, Role::Proctor);
    let body = json!({"seconds": 60});
    let proctor = request(http, "POST", &path, Some(&proctor_token), Some(&body)).await;
    assert_eq!(status(proctor.unwrap_err()).0, 403);

    let audit = request(http, "GET", "/api/v1/admin/audit", Some(&admin), None)
        .await
        .unwrap();
    let last = audit.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["by"].as_str(), last["action"].as_str()),
        (Some("Алия"), Some("extend_time"))
    );
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_catalog_and_metrics_respond() {
    let node = node(600).await;
    let http = node.server.http_addr;
    assert_eq!(
        request(http, "GET", "/health", None, None).await.unwrap()["status"],
        "ok"
    );
    let catalog = request(http, "GET", "/api/v1/olympiads", None, None)
        .await
        .unwrap();
    assert_eq!(catalog[0]["id"], OLYMPIAD);
    assert_eq!(catalog[0]["grades"], json!([9]));
    assert!(catalog[0].get("papers").is_none(), "paper ids stay private");
    participant(&node, "Метрика").await;
    let metrics = raw_get(http, "/metrics").await;
    assert!(
        metrics.contains("olymp_sessions_started_total"),
        "{metrics}"
    );
    assert!(metrics.contains("olymp_storage_flush_seconds_bucket"));
    assert_eq!(
        status(
            request(http, "GET", "/nowhere", None, None)
                .await
                .unwrap_err()
        )
        .0,
        404
    );
    node.server.stop().await;
}

pub(crate) async fn raw_get(http: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nhost: {http}\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}
