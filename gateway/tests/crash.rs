//! `kill -9` of a real `olymp serve` in the middle of an exam: every acknowledged answer is
//! there after the restart, every deadline is unchanged, and clients resume and finish.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::Client;

const OLYMP: &str = env!("CARGO_BIN_EXE_olymp");
const EXAM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zno-math/tests/math_raw.json"
);
const PARTICIPANTS: usize = 20;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn import(dir: &Path) {
    let status = Command::new(OLYMP)
        .args([
            "import",
            "--format",
            "zno",
            EXAM,
            "--olympiad",
            "crash",
            "--grade",
            "11",
        ])
        .args(["--duration-min", "30", "--opens-in-min", "-1", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

pub(crate) fn serve(dir: &Path, http: SocketAddr, ws: SocketAddr) -> Child {
    Command::new(OLYMP)
        .args([
            "serve",
            "--http",
            &http.to_string(),
            "--ws",
            &ws.to_string(),
            "--data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) async fn wait_healthy(http: SocketAddr) {
    for _ in 0..200 {
        if loadtest::http_client::request(http, "GET", "/health", None, None)
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node did not come up");
}

/// What a participant saw acknowledged before the crash.
#[derive(Default)]
struct Seen {
    ticket: String,
    deadline_ms: u64,
    acked: BTreeMap<String, Value>,
    last_acked_seq: u64,
}

/// Answers every question as fast as acks come, until the socket dies.
async fn answer_until_killed(ws: SocketAddr, seen: Arc<Mutex<Seen>>) {
    let ticket = seen.lock().await.ticket.clone();
    let (mut client, state) = Client::resume(ws, &ticket).await;
    seen.lock().await.deadline_ms = state["deadline_ms"].as_u64().unwrap();
    let questions = state["questions"].as_array().unwrap().clone();
    for round in 0u64.. {
        for (index, question) in questions.iter().enumerate() {
            let Some(value) = loadtest::RandomAnswers.answer_value(question) else {
                continue;
            };
            let seq = round * questions.len() as u64 + index as u64 + 1;
            let id = question["id"].as_str().unwrap().to_owned();
            let frame =
                json!({"v": 1, "type": "answer", "seq": seq, "question": id, "value": value});
            let reply = loop {
                if client.socket_send(frame.clone()).await.is_err() {
                    return;
                }
                // Pushes (the fast-answer warning, say) may come before the reply.
                let reply = loop {
                    match client.try_next().await {
                        Some(frame) if frame["seq"] == seq => break frame,
                        Some(_) => continue,
                        None => return,
                    }
                };
                // Over the frame rate: the frame was dropped; send it again a bit later.
                if reply["code"] != "rate_limited" {
                    break reply;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(reply["type"], "ack", "{reply}");
            let mut seen = seen.lock().await;
            seen.acked.insert(id, value);
            seen.last_acked_seq = seq;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_exam_loses_no_acknowledged_answer_and_keeps_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path());
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ws: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut node = serve(dir.path(), http, ws);
    wait_healthy(http).await;

    let mut everyone = Vec::new();
    for n in 0..PARTICIPANTS {
        let body = json!({"name": format!("Учень {n}"), "grade": 11});
        let path = "/api/v1/olympiads/crash/registrations";
        let registered = loadtest::http_client::request(http, "POST", path, None, Some(&body))
            .await
            .unwrap();
        let ticket = registered["ticket"].as_str().unwrap().to_owned();
        loadtest::http_client::request(http, "POST", "/api/v1/sessions/start", Some(&ticket), None)
            .await
            .unwrap();
        everyone.push(Arc::new(Mutex::new(Seen {
            ticket,
            ..Seen::default()
        })));
    }
    let tasks: Vec<_> = everyone
        .iter()
        .map(|seen| tokio::spawn(answer_until_killed(ws, Arc::clone(seen))))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // SIGKILL: no shutdown code runs.
    node.kill().unwrap();
    node.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }

    let mut node = serve(dir.path(), http, ws);
    wait_healthy(http).await;
    let mut acked_total = 0;
    for seen in &everyone {
        let seen = seen.lock().await;
        acked_total += seen.acked.len();
        let (mut client, state) = Client::resume(ws, &seen.ticket).await;
        assert_eq!(
            state["deadline_ms"].as_u64(),
            Some(seen.deadline_ms),
            "deadline moved"
        );
        assert_eq!(state["status"], "in_progress");
        for (question, value) in &seen.acked {
            assert_eq!(
                &state["answers"][question.as_str()],
                value,
                "acknowledged answer to {question} lost"
            );
        }
        let next_seq = state["last_seq"].as_u64().unwrap() + 1;
        assert!(next_seq > seen.last_acked_seq);
        let question = state["questions"][0]["id"].as_str().unwrap();
        let value = loadtest::RandomAnswers
            .answer_value(&state["questions"][0])
            .unwrap();
        let answer = json!({"v": 1, "type": "answer", "seq": next_seq,
            "question": question, "value": value});
        client.send(answer).await;
        client.send(json!({"v": 1, "type": "submit"})).await;
        let mut replies = Vec::new();
        while replies
            .last()
            .is_none_or(|r: &Value| r["type"] != "submitted")
        {
            replies.push(client.next().await);
        }
        assert!(
            replies
                .iter()
                .any(|r| r["type"] == "ack" && r["seq"] == next_seq),
            "{replies:?}"
        );
    }
    assert!(
        acked_total > PARTICIPANTS * 5,
        "too few answers before the kill: {acked_total}"
    );
    let _ = Command::new("kill").arg(node.id().to_string()).status();
    node.wait().unwrap();
}
