//! Round trips over a fleet: each connection sends an answer frame and waits for the frame
//! carrying its sequence back (the node's `ack` or the echo's copy), at once again (closed
//! loop) or after a think time. The node and the echo baseline get the same frames.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::fleet::{Fleet, Member};
use crate::report::{Report, Tally};
use crate::source::Socket;
use crate::strategy::{AnswerStrategy as _, RandomAnswers};
use crate::timeline::Sampler;
use crate::timing::ThinkTime;

/// How often a connection sends.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// The next frame as soon as the reply is in.
    ClosedLoop,
    /// An exponential think time with this mean between reply and next frame.
    Think { mean_ms: u64 },
}

/// One round-trip phase.
#[derive(Clone, Copy, Debug)]
pub struct RoundTrips {
    pub duration: Duration,
    pub pace: Pace,
    pub reply_timeout: Duration,
    pub sample_period: Duration,
}

/// Answer frames around a sequence number: `prefix`, the sequence, `suffix`.
pub struct Frames(Vec<(String, String)>);

impl Frames {
    /// One well-formed answer per question, as a participant would send it.
    pub fn for_questions(questions: &[Value]) -> Self {
        let frames: Vec<_> = questions
            .iter()
            .filter_map(|question| {
                let value = RandomAnswers.answer(0, question)?;
                let id = serde_json::to_string(question["id"].as_str()?).ok()?;
                let suffix = format!(r#","question":{id},"value":{value}}}"#);
                Some((r#"{"v":1,"type":"answer","seq":"#.to_owned(), suffix))
            })
            .collect();
        if frames.is_empty() {
            let suffix = r#","question":"q1","value":{"choice":"А"}}"#.to_owned();
            return Self(vec![(
                r#"{"v":1,"type":"answer","seq":"#.to_owned(),
                suffix,
            )]);
        }
        Self(frames)
    }

    fn frame(&self, seq: u64) -> String {
        let (prefix, suffix) = &self.0[seq as usize % self.0.len()];
        format!("{prefix}{seq}{suffix}")
    }
}

/// The fields of a reply the generator looks at.
#[derive(Deserialize)]
struct ReplyHead {
    #[serde(rename = "type")]
    kind: String,
    seq: Option<u64>,
    code: Option<String>,
}

/// Drives every live member of the fleet for the phase's duration; members whose reply
/// times out lose their socket.
pub async fn drive(fleet: &mut Fleet, frames: Arc<Frames>, plan: RoundTrips) -> Report {
    let tally = Arc::new(Tally::default());
    let live = fleet.connected() as u64;
    tally.connected_now.store(live, Ordering::Relaxed);
    let sampler = Sampler::spawn(Arc::clone(&tally), plan.sample_period);
    let started = Instant::now();
    let until = tokio::time::Instant::now() + plan.duration;
    let members = std::mem::take(&mut fleet.members);
    let count = members.len();
    let tasks: Vec<_> = members
        .into_iter()
        .map(|member| {
            let (tally, frames) = (Arc::clone(&tally), Arc::clone(&frames));
            tokio::spawn(async move { drive_one(member, &frames, plan, until, &tally).await })
        })
        .collect();
    for task in tasks {
        if let Ok(member) = task.await {
            fleet.members.push(member);
        }
    }
    let mut report = tally.report(count, started.elapsed());
    report.timeline = sampler.finish();
    report
}

async fn drive_one(
    mut member: Member,
    frames: &Frames,
    plan: RoundTrips,
    until: tokio::time::Instant,
    tally: &Tally,
) -> Member {
    let Some(mut socket) = member.socket.take() else {
        return member;
    };
    loop {
        if let Pace::Think { mean_ms } = plan.pace {
            let think = ThinkTime::Exponential { mean_ms }.sample_ms((0, mean_ms * 20));
            let wake = tokio::time::Instant::now() + Duration::from_millis(think);
            tokio::time::sleep_until(wake.min(until)).await;
        }
        if tokio::time::Instant::now() >= until {
            break;
        }
        let seq = member.seq_sent + 1;
        member.seq_sent = seq;
        tally.answers_sent.fetch_add(1, Ordering::Relaxed);
        match round_trip(&mut socket, frames.frame(seq), seq, plan.reply_timeout).await {
            Ok(Ok(elapsed)) => {
                tally.ack(elapsed);
                member.seq_acked = seq;
            }
            Ok(Err(code)) => {
                tally.answers_refused.fetch_add(1, Ordering::Relaxed);
                tally.error(code);
            }
            Err(kind) => {
                tally.answers_lost.fetch_add(1, Ordering::Relaxed);
                tally.error(kind);
                tally.disconnect();
                return member;
            }
        }
    }
    member.socket = Some(socket);
    member
}

/// Sends one frame and waits for the reply with its sequence: `Ok(Ok(latency))` for an
/// acknowledgement or echo, `Ok(Err(code))` for an error frame, `Err(kind)` when the
/// connection failed or stayed silent.
async fn round_trip(
    socket: &mut Socket,
    frame: String,
    seq: u64,
    timeout: Duration,
) -> Result<Result<Duration, String>, &'static str> {
    let sent = Instant::now();
    socket
        .send(Message::text(frame))
        .await
        .map_err(|_| "ws_send")?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "reply_timeout")?;
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => return Err("ws_closed"),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Err("ws_read"),
        };
        let Ok(head) = serde_json::from_str::<ReplyHead>(text.as_str()) else {
            return Err("bad_frame");
        };
        // An error without a sequence (`rate_limited`) refuses the frame in flight.
        let unsequenced_error = head.kind == "error" && head.seq.is_none();
        if head.seq != Some(seq) && !unsequenced_error {
            continue;
        }
        return Ok(if head.kind == "error" {
            Err(head.code.unwrap_or_else(|| "error".into()))
        } else {
            Ok(sent.elapsed())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo_server::{self, EchoBuffers};
    use crate::fleet;
    use crate::source::Sources;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn round_trips_from_spread_sources_to_an_echo_server_all_come_back() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(echo_server::serve(listener, EchoBuffers::Tuned));
        let (mut fleet, connected) =
            fleet::echo(&url, 0, 20, Sources::new(4), Duration::ZERO).await;
        assert_eq!((connected.errors, fleet.connected()), (0, 20));
        let plan = RoundTrips {
            duration: Duration::from_millis(300),
            pace: Pace::ClosedLoop,
            reply_timeout: Duration::from_secs(5),
            sample_period: Duration::from_millis(100),
        };
        let frames = Arc::new(Frames::for_questions(&[]));
        let report = drive(&mut fleet, frames, plan).await;
        assert!(report.answers_acked > 20);
        assert_eq!(report.answers_acked, report.answers_sent);
        assert_eq!((report.answers_lost, report.errors), (0, 0));
        assert!(!report.timeline.is_empty());
        fleet.close().await;
        server.abort();
    }
}
