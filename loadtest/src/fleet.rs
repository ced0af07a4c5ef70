//! Connections held open across a benchmark's phases: registered ahead of time, started
//! all at once (the 10:00:00 storm), kept idle, driven, and reconnected after a restart;
//! or plain connections to an echo server, so that both are measured by the same code.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::http_client::{self, Body};
use crate::participant::{self, Pass};
use crate::report::{Report, Tally};
use crate::run::LoadConfig;
use crate::source::{self, Socket, Sources};

/// Longest any one connect, start or resume of a fleet member may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One held connection.
pub struct Member {
    pub index: usize,
    pub pass: Option<Pass>,
    pub ws_url: String,
    pub source: Option<IpAddr>,
    pub socket: Option<Socket>,
    /// The last sequence sent, and the highest acknowledged.
    pub seq_sent: u64,
    pub seq_acked: u64,
}

/// Connections for a benchmark, with the questions they answer.
pub struct Fleet {
    pub members: Vec<Member>,
    /// The paper's public questions, from the first resume (empty for an echo fleet).
    pub questions: Arc<Vec<Value>>,
}

impl Fleet {
    /// Live connections.
    pub fn connected(&self) -> usize {
        self.members.iter().filter(|m| m.socket.is_some()).count()
    }

    /// Closes every connection.
    pub async fn close(&mut self) {
        for member in &mut self.members {
            if let Some(mut socket) = member.socket.take() {
                let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
            }
        }
    }

    /// Drops every socket at once, as a crashed server leaves them.
    pub fn forget_sockets(&mut self) {
        for member in &mut self.members {
            member.socket = None;
        }
    }
}

/// Registers `count` participants, `concurrency` at a time; returns their passes in order
/// (`None` where registration failed, counted in the tally).
pub async fn register(
    config: &LoadConfig,
    first_index: usize,
    count: usize,
    sources: Sources,
    tally: &Tally,
) -> Vec<Option<Pass>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(
        config.options.register_concurrency.clamp(1, 1024),
    ));
    let mut pending = Vec::with_capacity(count);
    for index in first_index..first_index + count {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .expect("never closed");
        let source = sources.for_participant(index, config.http_addr);
        let request = participant::register_request(config, index);
        pending.push(tokio::spawn(async move {
            let pass = request.send(source).await;
            drop(permit);
            pass
        }));
    }
    let mut passes = Vec::with_capacity(count);
    for task in pending {
        passes.push(match task.await {
            Ok(Ok(pass)) => Some(pass),
            Ok(Err(kind)) => {
                tally.error(kind);
                None
            }
            Err(_) => {
                tally.error("register_panicked");
                None
            }
        });
    }
    passes
}

/// Everyone presses Start at the same instant: HTTP start, WebSocket connect, resume.
/// The connect histogram holds each member's time from that instant to its state; the
/// report's duration is the time until the last one was in.
pub async fn storm(
    http: SocketAddr,
    passes: Vec<(usize, Pass)>,
    sources: Sources,
    spread: Duration,
) -> (Fleet, Report) {
    let tally = Arc::new(Tally::default());
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let count = passes.len();
    let tasks: Vec<_> = passes
        .into_iter()
        .enumerate()
        .map(|(order, (index, pass))| {
            let tally = Arc::clone(&tally);
            let source = sources.for_participant(index, http);
            let at = t0 + spread.mul_f64(order as f64 / count.max(1) as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let started = Instant::now();
                let joined = join(http, &pass, source, order == 0).await;
                let member = match joined {
                    Ok((ws_url, socket, resumed)) => {
                        tally.connect(started.elapsed().max(at.elapsed()));
                        tally.connected_now.fetch_add(1, Ordering::Relaxed);
                        let member = Member {
                            index,
                            pass: Some(pass),
                            ws_url,
                            source,
                            socket: Some(socket),
                            seq_sent: resumed.last_seq,
                            seq_acked: resumed.last_seq,
                        };
                        (member, resumed.questions)
                    }
                    Err(kind) => {
                        tally.error(kind);
                        (Member::lost(index, Some(pass), source), None)
                    }
                };
                tally.finished.fetch_add(1, Ordering::Relaxed);
                member
            })
        })
        .collect();
    let started = Instant::now();
    let mut members = Vec::with_capacity(tasks.len());
    let mut questions = Vec::new();
    for task in tasks {
        if let Ok((member, asked)) = task.await {
            if let Some(asked) = asked {
                questions = asked;
            }
            members.push(member);
        }
    }
    let report = tally.report(count, wall_until_last(&tally, started));
    let fleet = Fleet {
        members,
        questions: Arc::new(questions),
    };
    (fleet, report)
}

/// The storm's wall time: to the slowest member in (the connect histogram's maximum).
fn wall_until_last(tally: &Tally, started: Instant) -> Duration {
    let slowest = tally.report(0, started.elapsed()).connect_max_ms;
    Duration::from_secs_f64(slowest / 1000.0)
}

impl Member {
    fn lost(index: usize, pass: Option<Pass>, source: Option<IpAddr>) -> Self {
        Self {
            index,
            pass,
            ws_url: String::new(),
            source,
            socket: None,
            seq_sent: 0,
            seq_acked: 0,
        }
    }
}

/// Start, connect and resume for one pass; the error is a short kind.
async fn join(
    http: SocketAddr,
    pass: &Pass,
    source: Option<IpAddr>,
    want_questions: bool,
) -> Result<(String, Socket, Resumed), String> {
    let path = "/api/v1/sessions/start";
    let started =
        http_client::request_from(http, source, "POST", path, Some(&pass.ticket), Body::Empty)
            .await
            .map_err(|e| format!("start_{}", e.kind()))?;
    let ws_url = started["ws_url"]
        .as_str()
        .ok_or("start_bad_response")?
        .to_owned();
    let target = source::target_of(&ws_url).map_err(|_| "ws_url_bad")?;
    if !target.ip().is_loopback() {
        return Err("ws_url_not_loopback".into());
    }
    let (socket, resumed) = resume(&ws_url, &pass.ticket, source, want_questions).await?;
    Ok((ws_url, socket, resumed))
}

/// What a resume answered: the session's last sequence, and the paper's questions if
/// they were asked for (parsing 30 KiB of questions per member would cost the generator
/// more than the node spends sending them).
pub struct Resumed {
    pub last_seq: u64,
    pub questions: Option<Vec<Value>>,
}

/// The fields of a `state` or `error` frame the fleet looks at; the rest is skipped.
#[derive(serde::Deserialize)]
struct StateHead {
    #[serde(rename = "type")]
    kind: String,
    last_seq: Option<u64>,
    code: Option<String>,
}

/// Connects and resumes; the error is a short kind.
pub async fn resume(
    ws_url: &str,
    ticket: &str,
    source: Option<IpAddr>,
    want_questions: bool,
) -> Result<(Socket, Resumed), String> {
    let mut socket = source::websocket(ws_url, source, STEP_TIMEOUT)
        .await
        .map_err(|e| e.kind())?;
    let frame = json!({"v": 1, "type": "resume", "ticket": ticket}).to_string();
    socket
        .send(Message::text(frame))
        .await
        .map_err(|_| "ws_send")?;
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "resume_timeout")?;
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => return Err("ws_closed".into()),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Err("ws_read".into()),
        };
        let head: StateHead = serde_json::from_str(text.as_str()).map_err(|_| "bad_frame")?;
        match head.kind.as_str() {
            "state" => {
                let questions = if want_questions {
                    let state: Value =
                        serde_json::from_str(text.as_str()).map_err(|_| "bad_frame")?;
                    state["questions"].as_array().cloned()
                } else {
                    None
                };
                let last_seq = head.last_seq.unwrap_or(0);
                return Ok((
                    socket,
                    Resumed {
                        last_seq,
                        questions,
                    },
                ));
            }
            "error" => {
                let code = head.code.as_deref().unwrap_or("error");
                return Err(format!("resume_{code}"));
            }
            _ => continue,
        }
    }
}

/// Opens `count` plain WebSocket connections to an echo server, all at once.
pub async fn echo(
    ws_url: &str,
    first_index: usize,
    count: usize,
    sources: Sources,
    spread: Duration,
) -> (Fleet, Report) {
    let tally = Arc::new(Tally::default());
    let Ok(target) = source::target_of(ws_url) else {
        tally.error("ws_url_bad");
        let fleet = Fleet {
            members: Vec::new(),
            questions: Arc::new(Vec::new()),
        };
        return (fleet, tally.report(count, Duration::ZERO));
    };
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = (first_index..first_index + count)
        .map(|index| {
            let tally = Arc::clone(&tally);
            let source = sources.for_participant(index, target);
            let ws_url = ws_url.to_owned();
            let order = (index - first_index) as f64;
            let at = t0 + spread.mul_f64(order / count.max(1) as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let started = Instant::now();
                let mut member = Member::lost(index, None, source);
                match source::websocket(&ws_url, source, STEP_TIMEOUT).await {
                    Ok(socket) => {
                        tally.connect(started.elapsed());
                        tally.connected_now.fetch_add(1, Ordering::Relaxed);
                        member.socket = Some(socket);
                    }
                    Err(error) => tally.error(error.kind()),
                }
                member.ws_url = ws_url;
                member
            })
        })
        .collect();
    let started = Instant::now();
    let mut members = Vec::with_capacity(count);
    for task in tasks {
        if let Ok(member) = task.await {
            members.push(member);
        }
    }
    let report = tally.report(count, wall_until_last(&tally, started));
    let fleet = Fleet {
        members,
        questions: Arc::new(Vec::new()),
    };
    (fleet, report)
}

/// After a restart: every member reconnects and resumes, retrying until `within` has
/// passed since `restarted`. Counts as lost every acknowledged sequence the resumed
/// session no longer has.
pub async fn reconnect(fleet: &mut Fleet, restarted: Instant, within: Duration) -> Report {
    let tally = Arc::new(Tally::default());
    let deadline = tokio::time::Instant::from_std(restarted + within);
    let members = std::mem::take(&mut fleet.members);
    let count = members.len();
    let tasks: Vec<_> = members
        .into_iter()
        .map(|mut member| {
            let tally = Arc::clone(&tally);
            tokio::spawn(async move {
                if member.ws_url.is_empty() {
                    return member;
                }
                loop {
                    match rejoin(&member).await {
                        Ok((socket, stored)) => {
                            tally.connect(restarted.elapsed());
                            let lost = member.seq_acked.saturating_sub(stored);
                            tally.answers_lost.fetch_add(lost, Ordering::Relaxed);
                            member.seq_sent = member.seq_sent.max(stored);
                            member.socket = Some(socket);
                            return member;
                        }
                        Err(_) if tokio::time::Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(kind) => {
                            tally.error(kind);
                            return member;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        if let Ok(member) = task.await {
            fleet.members.push(member);
        }
    }
    tally.report(count, wall_until_last(&tally, restarted))
}

/// Connects a member again: resumes its session, or for an echo member just connects.
/// Returns the socket and the last sequence the session holds.
async fn rejoin(member: &Member) -> Result<(Socket, u64), String> {
    match &member.pass {
        Some(pass) => {
            let (socket, resumed) =
                resume(&member.ws_url, &pass.ticket, member.source, false).await?;
            Ok((socket, resumed.last_seq))
        }
        None => {
            let socket = source::websocket(&member.ws_url, member.source, STEP_TIMEOUT)
                .await
                .map_err(|e| e.kind())?;
            Ok((socket, member.seq_acked))
        }
    }
}

/// Members kept reading (so that they answer the node's pings) while nothing drives
/// them; `wake` gives them back.
pub struct Idle {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Member>>,
}

/// Lets the fleet idle: each member reads and drops whatever arrives.
pub fn idle(fleet: &mut Fleet) -> Idle {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = std::mem::take(&mut fleet.members)
        .into_iter()
        .map(|mut member| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let Some(mut socket) = member.socket.take() else {
                    return member;
                };
                let alive = loop {
                    tokio::select! {
                        _ = stopped.changed() => break true,
                        next = socket.next() => match next {
                            Some(Ok(_)) => continue,
                            _ => break false,
                        },
                    }
                };
                if alive {
                    member.socket = Some(socket);
                } else {
                    let _ = stopped.changed().await;
                }
                member
            })
        })
        .collect();
    Idle { stop, tasks }
}

impl Idle {
    /// Stops idling and puts the members back into the fleet.
    pub async fn wake(self, fleet: &mut Fleet) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Ok(member) = task.await {
                fleet.members.push(member);
            }
        }
    }
}

/// Presses Start for every pass over HTTP and opens no WebSocket: the sessions' actors
/// go live with no connection attached, as for pupils who started and then closed the
/// tab. At most `concurrency` requests at once.
pub async fn start_only(
    http: SocketAddr,
    passes: Vec<(usize, Pass)>,
    sources: Sources,
    concurrency: usize,
) -> Report {
    let tally = Arc::new(Tally::default());
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.clamp(1, 1024)));
    let started = Instant::now();
    let count = passes.len();
    let mut tasks = Vec::with_capacity(count);
    for (index, pass) in passes {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .expect("never closed");
        let (tally, source) = (Arc::clone(&tally), sources.for_participant(index, http));
        tasks.push(tokio::spawn(async move {
            let path = "/api/v1/sessions/start";
            let request_started = Instant::now();
            let bearer = Some(pass.ticket.as_str());
            match http_client::request_from(http, source, "POST", path, bearer, Body::Empty).await {
                Ok(_) => tally.connect(request_started.elapsed()),
                Err(error) => tally.error(format!("start_{}", error.kind())),
            }
            drop(permit);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    tally.report(count, started.elapsed())
}
