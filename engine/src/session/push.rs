//! What a session tells its connection: replies to commands and pushes of its own (timer
//! warnings, proctoring warnings, the end of the exam). Engine types; the gateway alone
//! turns them into wire frames.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::state::{SessionError, Status, Summary};
use crate::domain::answer::AnswerValue;
use crate::domain::question::PublicQuestion;
use crate::proctoring::ViolationKind;

/// Capacity of a connection's outbound queue. When it is full the push is dropped and the
/// connection is told to close: a client that cannot keep up resumes and resends, which is
/// safe because every command is idempotent.
pub const OUTBOUND_CAPACITY: usize = 64;

/// A connection's outbound queue, as the session holds it.
#[derive(Clone, Debug)]
pub struct Outbound {
    sender: mpsc::Sender<Push>,
    overflowed: Arc<Notify>,
}

/// The connection's end of its outbound queue.
#[derive(Debug)]
pub struct Inbound {
    pub receiver: mpsc::Receiver<Push>,
    /// Notified when a push was dropped because the queue was full.
    pub overflowed: Arc<Notify>,
}

impl Outbound {
    /// A bounded queue of `OUTBOUND_CAPACITY` pushes.
    pub fn channel() -> (Self, Inbound) {
        let (sender, receiver) = mpsc::channel(OUTBOUND_CAPACITY);
        let overflowed = Arc::new(Notify::new());
        let inbound = Inbound {
            receiver,
            overflowed: Arc::clone(&overflowed),
        };
        (Self { sender, overflowed }, inbound)
    }

    /// Queues a push without waiting. A full queue drops it and tells the connection.
    pub fn push(&self, push: Push) -> bool {
        match self.sender.try_send(push) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// One message from a session to a connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Push {
    /// The command with this client sequence is durable (or was already).
    Ack { seq: u64, saved_at_ms: u64 },
    /// The command with this sequence (if it had one) was refused; nothing changed.
    Refused {
        seq: Option<u64>,
        error: SessionError,
    },
    /// Minutes left until the deadline, pushed at 5 and 1.
    TimeWarning { minutes_left: u32, deadline_ms: u64 },
    /// The deadline moved (extra time granted).
    DeadlineChanged { deadline_ms: u64 },
    /// A proctoring violation was recorded and the policy warns the participant.
    ProctorWarning { kind: ViolationKind, flagged: bool },
    /// The session has finished; sent to the submitter and to the attached connection.
    Finished(Summary),
    /// Another connection resumed this session; this one gets nothing more.
    Superseded,
}

/// A session's whole participant-visible state, sent on resume.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub session_id: String,
    pub olympiad_title: String,
    pub status: Status,
    pub questions: Vec<PublicQuestion>,
    pub answers: BTreeMap<String, AnswerValue>,
    pub last_seq: u64,
    pub server_time_ms: u64,
    pub started_at_ms: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub summary: Option<Summary>,
}

/// The session's timing, as the HTTP start call returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SessionView {
    pub session_id: String,
    pub status: Status,
    pub started_at_ms: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub server_time_ms: u64,
}
