//! One simulated participant: register (or arrive registered), press Start, answer every
//! question over WebSocket with think time, proctoring events, snapshots and maybe a drop,
//! submit (at the deadline surge if there is one), and check the stored answers.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::Rng as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::http_client::{self, Body};
use crate::report::Tally;
use crate::run::{LoadConfig, RunContext};
use crate::source::{self, Socket};

/// What one participant did, for checks after the run.
#[derive(Clone, Debug, Default)]
pub struct ParticipantOutcome {
    pub index: usize,
    pub session_id: Option<String>,
    /// The last acknowledged answer per question id.
    pub acked: BTreeMap<String, Value>,
    pub submitted: bool,
}

/// A registration: the session and the ticket that resumes it.
#[derive(Clone, Debug)]
pub struct Pass {
    pub session_id: String,
    pub ticket: String,
}

/// Why a participant stopped early: a short kind for the error counts.
pub(crate) struct Failure(pub String);

impl<E: std::fmt::Display> From<(&'static str, E)> for Failure {
    fn from((kind, error): (&'static str, E)) -> Self {
        tracing::debug!(kind, %error, "participant failed");
        Self(kind.to_owned())
    }
}

/// A connection counted as live in the tally until dropped.
struct Held<'a> {
    socket: Socket,
    tally: &'a Tally,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.tally.disconnect();
    }
}

/// Sits the exam; never panics, counts its own errors.
pub(crate) async fn sit(index: usize, pass: Option<Pass>, run: &RunContext) -> ParticipantOutcome {
    let mut outcome = ParticipantOutcome {
        index,
        ..ParticipantOutcome::default()
    };
    if let Err(Failure(kind)) = sit_exam(&mut outcome, pass, run).await {
        run.tally.error(kind);
    }
    run.tally.finished.fetch_add(1, Ordering::Relaxed);
    outcome
}

async fn sit_exam(
    outcome: &mut ParticipantOutcome,
    pass: Option<Pass>,
    run: &RunContext,
) -> Result<(), Failure> {
    let (config, tally) = (&run.config, &*run.tally);
    let source = run.sources.for_participant(outcome.index, config.http_addr);
    let pass = match pass {
        Some(pass) => pass,
        None => register_request(config, outcome.index)
            .send(source)
            .await
            .map_err(Failure)?,
    };
    outcome.session_id = Some(pass.session_id.clone());
    let pressed_start = Instant::now();
    let ws_url = start(config, &pass.ticket, source).await?;
    tally.started.fetch_add(1, Ordering::Relaxed);
    let (mut held, state) = resume(&ws_url, &pass.ticket, source, run).await?;
    tally.connect(pressed_start.elapsed());
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
        match command(&mut held.socket, frame, seq, config, tally).await? {
            Reply::Ack(elapsed) => {
                tally.ack(elapsed);
                outcome.acked.insert(id, value);
            }
            Reply::Refused(code) => {
                tally.answers_refused.fetch_add(1, Ordering::Relaxed);
                tally.error(code.clone());
                if closing(&code) {
                    break;
                }
            }
        }
        if config.proctor_every > 0 && (number + 1) % config.proctor_every == 0 {
            seq += 1;
            let frame = json!({"v": 1, "type": "proctor", "seq": seq, "kind": "focus_lost",
                "detail": "load test"});
            tally.proctor_sent.fetch_add(1, Ordering::Relaxed);
            let reply = command(&mut held.socket, frame, seq, config, tally).await?;
            if let Reply::Refused(code) = reply {
                tally.error(code);
            }
        }
        if run.evidence.due(number + 1) {
            let http = config.http_addr;
            run.evidence.upload(http, source, &pass.ticket, tally).await;
        }
        if drop_after == Some(number) {
            drop(held);
            (held, _) = resume(&ws_url, &pass.ticket, source, run).await?;
        }
    }
    wait_for_surge(run).await;
    submit(&mut held.socket, config, tally).await?;
    outcome.submitted = true;
    let _ = held.socket.close(None).await;
    drop(held);
    if config.verify {
        verify(outcome, &ws_url, &pass.ticket, source, run).await?;
    }
    Ok(())
}

/// A registration about to be sent; built apart so that a run can register everyone
/// before T0.
pub(crate) struct RegisterRequest {
    http: SocketAddr,
    path: String,
    body: Value,
}

/// The registration of participant `index`.
pub(crate) fn register_request(config: &LoadConfig, index: usize) -> RegisterRequest {
    let region = ["Алматы", "Астана", "Київ", "Шымкент"][index % 4];
    RegisterRequest {
        http: config.http_addr,
        path: format!("/api/v1/olympiads/{}/registrations", config.olympiad_id),
        body: json!({
            "name": format!("Учасник {index}"),
            "school": format!("Школа {}", index % 97),
            "region": region,
            "grade": config.grade,
        }),
    }
}

impl RegisterRequest {
    /// Registers; the error is a short kind for the error counts.
    pub(crate) async fn send(self, source: Option<IpAddr>) -> Result<Pass, String> {
        let body = Body::Json(&self.body);
        let registered =
            http_client::request_from(self.http, source, "POST", &self.path, None, body)
                .await
                .map_err(|e| format!("register_{}", e.kind()))?;
        let field = |name: &str| registered[name].as_str().map(str::to_owned);
        match (field("session_id"), field("ticket")) {
            (Some(session_id), Some(ticket)) => Ok(Pass { session_id, ticket }),
            _ => Err("register_bad_response".into()),
        }
    }
}

/// Presses Start; returns the WebSocket URL.
async fn start(
    config: &LoadConfig,
    ticket: &str,
    source: Option<IpAddr>,
) -> Result<String, Failure> {
    let path = "/api/v1/sessions/start";
    let started = http_client::request_from(
        config.http_addr,
        source,
        "POST",
        path,
        Some(ticket),
        Body::Empty,
    )
    .await
    .map_err(|e| Failure(format!("start_{}", e.kind())))?;
    let ws_url = started["ws_url"]
        .as_str()
        .ok_or(("start_bad_response", "no ws_url"))?
        .to_owned();
    crate::run::require_loopback_url(&ws_url, config).map_err(|e| ("ws_url_not_allowed", e))?;
    Ok(ws_url)
}

async fn resume<'a>(
    ws_url: &str,
    ticket: &str,
    source: Option<IpAddr>,
    run: &'a RunContext,
) -> Result<(Held<'a>, Value), Failure> {
    let config = &run.config;
    let socket = source::websocket(ws_url, source, config.reply_timeout)
        .await
        .map_err(|e| {
            tracing::debug!(error = %e, "participant could not connect");
            Failure(e.kind())
        })?;
    run.tally.connected_now.fetch_add(1, Ordering::Relaxed);
    let mut held = Held {
        socket,
        tally: &run.tally,
    };
    let frame = json!({"v": 1, "type": "resume", "ticket": ticket});
    send(&mut held.socket, &frame).await?;
    let state = read_until(&mut held.socket, config, |f| {
        f["type"] == "state" || f["type"] == "error"
    })
    .await?;
    if state["type"] == "error" {
        return Err(Failure(format!(
            "resume_{}",
            state["code"].as_str().unwrap_or("error")
        )));
    }
    Ok((held, state))
}

fn wants_drop(config: &LoadConfig, questions: usize) -> Option<usize> {
    let mut rng = rand::rng();
    (questions > 1 && rng.random_bool(config.drop_share.clamp(0.0, 1.0)))
        .then(|| rng.random_range(0..questions - 1))
}

async fn think(config: &LoadConfig) {
    let millis = config.options.think.sample_ms(config.think_time_ms);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// With a deadline surge, waits for it (plus this participant's share of its spread).
async fn wait_for_surge(run: &RunContext) {
    let Some(surge) = run.config.options.deadline_surge else {
        return;
    };
    let spread_ms = rand::rng().random_range(0..=surge.spread_ms);
    let at = Duration::from_secs_f64(surge.submit_at_s.max(0.0)) + Duration::from_millis(spread_ms);
    tokio::time::sleep_until(run.t0 + at).await;
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
    source: Option<IpAddr>,
    run: &RunContext,
) -> Result<(), Failure> {
    let (mut held, state) = resume(ws_url, ticket, source, run).await?;
    let stored = &state["answers"];
    let missing = outcome
        .acked
        .iter()
        .filter(|(id, value)| &stored[id.as_str()] != *value)
        .count();
    run.tally
        .answers_lost
        .fetch_add(missing as u64, Ordering::Relaxed);
    if state["status"] != "submitted" {
        run.tally.error("not_submitted_on_server");
    }
    let _ = held.socket.close(None).await;
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
