//! One simulated participant: register, start, resume over WebSocket, answer every
//! question with think time, report proctoring events, maybe drop and reconnect, submit,
//! and finally resume once more to check that every acknowledged answer is stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::Rng as _;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::http_client;
use crate::report::Tally;
use crate::run::LoadConfig;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one participant did, for checks after the run.
#[derive(Clone, Debug, Default)]
pub struct ParticipantOutcome {
    pub index: usize,
    pub session_id: Option<String>,
    /// The last acknowledged answer per question id.
    pub acked: BTreeMap<String, Value>,
    pub submitted: bool,
}

/// Why a participant stopped early: a short kind for the error counts.
struct Failure(String);

impl<E: std::fmt::Display> From<(&'static str, E)> for Failure {
    fn from((kind, error): (&'static str, E)) -> Self {
        tracing::debug!(kind, %error, "participant failed");
        Self(kind.to_owned())
    }
}

/// Sits the exam; never panics, counts its own errors.
pub async fn sit(index: usize, config: Arc<LoadConfig>, tally: Arc<Tally>) -> ParticipantOutcome {
    let mut outcome = ParticipantOutcome {
        index,
        ..ParticipantOutcome::default()
    };
    if let Err(Failure(kind)) = sit_exam(&mut outcome, &config, &tally).await {
        tally.error(kind);
    }
    tally.finished.fetch_add(1, Ordering::Relaxed);
    outcome
}

async fn sit_exam(
    outcome: &mut ParticipantOutcome,
    config: &LoadConfig,
    tally: &Tally,
) -> Result<(), Failure> {
    let (ticket, ws_url) = register_and_start(outcome, config).await?;
    tally.started.fetch_add(1, Ordering::Relaxed);
    let connect_started = Instant::now();
    let (mut socket, state) = resume(&ws_url, &ticket, config).await?;
    tally.connect(connect_started.elapsed());
    let questions = state["questions"].as_array().cloned().unwrap_or_default();
    let mut seq = state["last_seq"].as_u64().unwrap_or(0);
    let drop_after = wants_drop(config, questions.len());
    for (number, question) in questions.iter().enumerate() {
        think(config).await;
        let Some(value) = config.strategy.answer(outcome.index, question) else {
            continue;
        };
        let id = question["id"].as_str().unwrap_or_default().to_owned();
        seq += 1;
        let frame = json!({"v": 1, "type": "answer", "seq": seq, "question": id, "value": value});
        tally.answers_sent.fetch_add(1, Ordering::Relaxed);
        match command(&mut socket, frame, seq, config, tally).await? {
            Reply::Ack(elapsed) => {
                tally.ack(elapsed);
                outcome.acked.insert(id, value);
            }
            Reply::Refused(code) if closing(&code) => {
                tally.error(code);
                break;
            }
            Reply::Refused(code) => tally.error(code),
        }
        if config.proctor_every > 0 && (number + 1) % config.proctor_every == 0 {
            seq += 1;
            let frame = json!({"v": 1, "type": "proctor", "seq": seq, "kind": "focus_lost",
                "detail": "load test"});
            tally.proctor_sent.fetch_add(1, Ordering::Relaxed);
            if let Reply::Refused(code) = command(&mut socket, frame, seq, config, tally).await? {
                tally.error(code);
            }
        }
        if drop_after == Some(number) {
            drop(socket);
            (socket, _) = resume(&ws_url, &ticket, config).await?;
        }
    }
    submit(&mut socket, config, tally).await?;
    outcome.submitted = true;
    let _ = socket.close(None).await;
    if config.verify {
        verify(outcome, &ws_url, &ticket, config, tally).await?;
    }
    Ok(())
}

async fn register_and_start(
    outcome: &mut ParticipantOutcome,
    config: &LoadConfig,
) -> Result<(String, String), Failure> {
    let region = ["Алматы", "Астана", "Київ", "Шымкент"][outcome.index % 4];
    let body = json!({
        "name": format!("Учасник {}", outcome.index),
        "school": format!("Школа {}", outcome.index % 97),
        "region": region,
        "grade": config.grade,
    });
    let path = format!("/api/v1/olympiads/{}/registrations", config.olympiad_id);
    let registered = http_client::request(config.http_addr, "POST", &path, None, Some(&body))
        .await
        .map_err(|e| Failure(format!("register_{}", e.kind())))?;
    let ticket = registered["ticket"]
        .as_str()
        .ok_or(("register_bad_response", "no ticket"))?
        .to_owned();
    outcome.session_id = registered["session_id"].as_str().map(str::to_owned);
    let started = http_client::request(
        config.http_addr,
        "POST",
        "/api/v1/sessions/start",
        Some(&ticket),
        None,
    )
    .await
    .map_err(|e| Failure(format!("start_{}", e.kind())))?;
    let ws_url = started["ws_url"]
        .as_str()
        .ok_or(("start_bad_response", "no ws_url"))?
        .to_owned();
    crate::run::require_loopback_url(&ws_url, config).map_err(|e| ("ws_url_not_allowed", e))?;
    Ok((ticket, ws_url))
}

async fn resume(
    ws_url: &str,
    ticket: &str,
    config: &LoadConfig,
) -> Result<(Socket, Value), Failure> {
    let connect = tokio_tungstenite::connect_async(ws_url);
    let (mut socket, _) = tokio::time::timeout(config.reply_timeout, connect)
        .await
        .map_err(|e| ("ws_connect_timeout", e))?
        .map_err(|e| ("ws_connect", e))?;
    let frame = json!({"v": 1, "type": "resume", "ticket": ticket});
    send(&mut socket, &frame).await?;
    let state = read_until(&mut socket, config, |f| {
        f["type"] == "state" || f["type"] == "error"
    })
    .await?;
    if state["type"] == "error" {
        return Err(Failure(format!(
            "resume_{}",
            state["code"].as_str().unwrap_or("error")
        )));
    }
    Ok((socket, state))
}

fn wants_drop(config: &LoadConfig, questions: usize) -> Option<usize> {
    let mut rng = rand::rng();
    (questions > 1 && rng.random_bool(config.drop_share.clamp(0.0, 1.0)))
        .then(|| rng.random_range(0..questions - 1))
}

async fn think(config: &LoadConfig) {
    let (low, high) = config.think_time_ms;
    let millis = if high > low {
        rand::rng().random_range(low..=high)
    } else {
        low
    };
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// A command's reply.
enum Reply {
    Ack(Duration),
    Refused(String),
}

fn closing(code: &str) -> bool {
    matches!(code, "session_closed" | "deadline_passed")
}

/// Sends a command with a sequence and waits for its `ack` or `error`.
async fn command(
    socket: &mut Socket,
    frame: Value,
    seq: u64,
    config: &LoadConfig,
    tally: &Tally,
) -> Result<Reply, Failure> {
    let sent = Instant::now();
    send(socket, &frame).await?;
    let reply = read_until(socket, config, |f| {
        f["seq"] == seq && (f["type"] == "ack" || f["type"] == "error")
    })
    .await;
    match reply {
        Ok(reply) if reply["type"] == "ack" => Ok(Reply::Ack(sent.elapsed())),
        Ok(reply) => Ok(Reply::Refused(
            reply["code"].as_str().unwrap_or("error").to_owned(),
        )),
        Err(failure) => {
            // No reply at all: the answer counts as lost unless the final check finds it.
            tally
                .answers_lost
                .fetch_add(u64::from(frame["type"] == "answer"), Ordering::Relaxed);
            Err(failure)
        }
    }
}

async fn submit(socket: &mut Socket, config: &LoadConfig, tally: &Tally) -> Result<(), Failure> {
    let started = Instant::now();
    send(socket, &json!({"v": 1, "type": "submit"})).await?;
    let reply = read_until(socket, config, |f| {
        f["type"] == "submitted" || (f["type"] == "error" && f["seq"].is_null())
    })
    .await?;
    if reply["type"] == "error" {
        return Err(Failure(format!(
            "submit_{}",
            reply["code"].as_str().unwrap_or("error")
        )));
    }
    tally.submit(started.elapsed());
    Ok(())
}

/// Resumes once more and compares the server's answers with the acknowledged ones.
async fn verify(
    outcome: &ParticipantOutcome,
    ws_url: &str,
    ticket: &str,
    config: &LoadConfig,
    tally: &Tally,
) -> Result<(), Failure> {
    let (mut socket, state) = resume(ws_url, ticket, config).await?;
    let stored = &state["answers"];
    let missing = outcome
        .acked
        .iter()
        .filter(|(id, value)| &stored[id.as_str()] != *value)
        .count();
    tally
        .answers_lost
        .fetch_add(missing as u64, Ordering::Relaxed);
    if state["status"] != "submitted" {
        tally.error("not_submitted_on_server");
    }
    let _ = socket.close(None).await;
    Ok(())
}

async fn send(socket: &mut Socket, frame: &Value) -> Result<(), Failure> {
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(|e| Failure::from(("ws_send", e)))
}

/// Reads frames until one matches, skipping pushes (warnings, pongs); bounded by the
/// reply timeout.
async fn read_until(
    socket: &mut Socket,
    config: &LoadConfig,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Value, Failure> {
    let deadline = tokio::time::Instant::now() + config.reply_timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|e| ("reply_timeout", e))?;
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(("ws_read", error).into()),
            None => return Err(("ws_closed", "stream ended").into()),
        };
        let Message::Text(text) = message else {
            if let Message::Close(frame) = message {
                return Err(("ws_closed", format!("{frame:?}")).into());
            }
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).map_err(|e| ("bad_frame", e))?;
        if wanted(&frame) {
            return Ok(frame);
        }
        if frame["type"] == "superseded" {
            return Err(("superseded", "another connection resumed").into());
        }
    }
}
