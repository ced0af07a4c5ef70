//! Evidence uploads: typed by magic bytes, refused by size before the body is read, linked
//! to the proctoring event they document, and never left behind when refused.

use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1];

/// Sends a raw upload; returns the status and body. `declared` overrides Content-Length
/// and, when larger than the body, the body is not sent at all.
async fn upload(
    http: SocketAddr,
    ticket: Option<&str>,
    query: &str,
    body: &[u8],
    declared: Option<usize>,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
    let auth = ticket
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let length = declared.unwrap_or(body.len());
    let head = format!(
        "POST /api/v1/sessions/evidence?{query} HTTP/1.1\r\nhost: {http}\r\n{auth}\
         content-type: image/jpeg\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    if declared.is_none_or(|d| d <= body.len()) {
        stream.write_all(body).await.unwrap();
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    );
    read.await
        .expect("the server answers without waiting for the body")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn evidence_files(node: &Node, session: &str) -> usize {
    let dir = node.server_data_dir().join("evidence").join(session);
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_stored_and_linked_to_the_event_it_documents() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (session, ticket) = participant(&node, "Камила").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    client
        .send(json!({"v": 1, "type": "proctor", "seq": 1, "kind": "camera_stopped"}))
        .await;
    assert_eq!(client.next().await["type"], "ack");

    let (status, body) = upload(
        http,
        Some(&ticket),
        "kind=camera&documents_seq=1",
        JPEG,
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"media_type\":\"jpeg\""), "{body}");
    let (status, _) = upload(http, Some(&ticket), "kind=screen", JPEG, None).await;
    assert_eq!(status, 201, "a periodic capture documents no event");
    assert_eq!(
        evidence_files(&node, &session),
        1,
        "the same bytes are stored once"
    );

    let events = node.server.engine.session_events(&session).await.unwrap();
    let linked = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                engine::session::events::SessionEvent::EvidenceStored {
                    documents_seq: Some(1),
                    ..
                }
            )
        })
        .count();
    assert_eq!(linked, 1);
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (session, ticket) = participant(&node, "Арман").await;

    let (status, _) = upload(http, None, "kind=camera", JPEG, None).await;
    assert_eq!(status, 401);
    let (status, body) = upload(http, Some(&ticket), "kind=camera", b"GIF89a....", None).await;
    assert_eq!(
        (status, body.contains("unsupported_media_type")),
        (415, true),
        "{body}"
    );
    let (status, body) = upload(
        http,
        Some(&ticket),
        "kind=camera",
        JPEG,
        Some(50 * 1024 * 1024),
    )
    .await;
    assert_eq!(
        (status, body.contains("payload_too_large")),
        (413, true),
        "{body}"
    );
    let (status, body) = upload(
        http,
        Some(&ticket),
        "kind=camera&documents_seq=7",
        JPEG,
        None,
    )
    .await;
    assert_eq!(
        (status, body.contains("unknown_event")),
        (422, true),
        "{body}"
    );
    let (status, _) = upload(http, Some(&ticket), "kind=microphone", JPEG, None).await;
    assert_eq!(status, 422);
    assert_eq!(
        evidence_files(&node, &session),
        0,
        "nothing refused was kept"
    );

    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    client.send(json!({"v": 1, "type": "submit"})).await;
    assert_eq!(client.next().await["type"], "submitted");
    let (status, body) = upload(http, Some(&ticket), "kind=camera", JPEG, None).await;
    assert_eq!(
        (status, body.contains("session_closed")),
        (409, true),
        "{body}"
    );
    assert_eq!(evidence_files(&node, &session), 0);
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_never_removes_the_same_image_another_upload_linked() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (session, ticket) = participant(&node, "Тарас").await;
    let (mut client, _) = Client::resume(node.server.ws_addr, &ticket).await;
    client
        .send(json!({"v": 1, "type": "proctor", "seq": 1, "kind": "camera_stopped"}))
        .await;
    assert_eq!(client.next().await["type"], "ack");
    // Five rounds (ten uploads: the session's burst) of the same image sent twice at once,
    // once documenting the reported event and once an event that does not exist. The two
    // meet one at a time, or the second is told the first is still in progress.
    let mut linked = 0;
    for round in 0..5u8 {
        let image = [JPEG, &[round]].concat();
        let (good, bad) = tokio::join!(
            upload(
                http,
                Some(&ticket),
                "kind=camera&documents_seq=1",
                &image,
                None
            ),
            upload(
                http,
                Some(&ticket),
                "kind=camera&documents_seq=999",
                &image,
                None
            ),
        );
        assert!([201, 429].contains(&good.0), "{}", good.1);
        assert!([422, 429].contains(&bad.0), "{}", bad.1);
        linked += usize::from(good.0 == 201);
    }
    assert!(linked > 0);
    assert_eq!(
        evidence_files(&node, &session),
        linked,
        "every acknowledged image is on disk"
    );
    node.server.stop().await;
}

/// Starts an upload that declares `declared` bytes and sends four, keeping the
/// connection open: a slow sender.
async fn slow_upload(http: SocketAddr, ticket: &str, declared: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
    let head = format!(
        "POST /api/v1/sessions/evidence?kind=screen HTTP/1.1\r\nhost: {http}\r\n\
         authorization: Bearer {ticket}\r\ncontent-type: image/jpeg\r\n\
         content-length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&JPEG[..4]).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_hold_one_turn_per_session_and_never_everyone_s() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let mut slow = Vec::new();
    for name in ["Повільний 1", "Повільний 2", "Повільний 3", "Повільний 4"]
    {
        let (_, ticket) = participant(&node, name).await;
        for _ in 0..10 {
            slow.push(slow_upload(http, &ticket, 1_000).await);
        }
    }
    let (_, second) = participant(&node, "Другий").await;
    slow.push(slow_upload(http, &second, 1_000).await);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, text) = upload(http, Some(&second), "kind=screen", JPEG, None).await;
    assert_eq!(status, 429, "one upload in flight per session: {text}");
    assert!(text.contains("still in progress"), "{text}");
    let (_, honest) = participant(&node, "Чесна").await;
    let (status, text) = upload(http, Some(&honest), "kind=screen", JPEG, None).await;
    assert_eq!(
        status, 201,
        "others' slow uploads hold no more than one slot each: {text}"
    );
    drop(slow);
    node.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_sending_evidence_too_fast_is_told_when_to_retry() {
    let node = node(600).await;
    let http = node.server.http_addr;
    let (_, ticket) = participant(&node, "Богдан").await;
    let mut statuses = Vec::new();
    for round in 0..12u8 {
        let image = [JPEG, &[round]].concat();
        statuses.push(upload(http, Some(&ticket), "kind=screen", &image, None).await);
    }
    let (status, text) = statuses.last().unwrap();
    assert_eq!(*status, 429, "{text}");
    assert!(text.contains("\"code\":\"rate_limited\""), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: "),
        "{text}"
    );
    assert!(statuses[..10].iter().all(|(status, _)| *status == 201));
    let (status, text) = upload(http, Some(&ticket), "kind=screen", b"", None).await;
    assert_eq!(status, 429, "the limit holds whatever is sent: {text}");
    let (_, other) = participant(&node, "Ярина").await;
    let (status, text) = upload(http, Some(&other), "kind=screen", b"", None).await;
    assert!(status == 422 && text.contains("body is empty"), "{text}");
    node.server.stop().await;
}
