//! The participants' WebSocket protocol: JSON frames with a protocol version `v` and a
//! `type`. Only this module knows the wire shape; docs/protocol.md shows every frame.

use std::collections::BTreeMap;

use engine::domain::answer::AnswerValue;
use engine::domain::question::PublicQuestion;
use engine::proctoring::ViolationKind;
use engine::session::push::{Push, Snapshot};
use engine::session::state::{Status, Summary};
use serde::{Deserialize, Serialize};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the exam client.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientFrame {
    /// First frame of every connection: the signed session ticket.
    Resume { ticket: String },
    /// Save an answer under the client's sequence number.
    Answer {
        seq: u64,
        question: String,
        value: AnswerValue,
    },
    /// A proctoring event the client observed.
    Proctor {
        seq: u64,
        kind: ViolationKind,
        detail: String,
    },
    /// Hand in the exam.
    Submit,
    /// Keep-alive and clock sync; answered with `pong`.
    Ping,
}

/// Why a frame could not be read; each has a stable code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("frame is not a JSON object")]
    Malformed,
    #[error("protocol version {0} is not supported; this server speaks {PROTOCOL_VERSION}")]
    UnsupportedVersion(u64),
    #[error("frame has no version field v")]
    MissingVersion,
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("frame of type {kind} is invalid: {reason}")]
    Invalid { kind: &'static str, reason: String },
    #[error("binary frames are not part of the protocol")]
    Binary,
}

#[derive(Deserialize)]
struct ResumeBody {
    ticket: String,
}

#[derive(Deserialize)]
struct AnswerBody {
    seq: u64,
    question: String,
    value: AnswerValue,
}

#[derive(Deserialize)]
struct ProctorBody {
    seq: u64,
    kind: ViolationKind,
    #[serde(default)]
    detail: String,
}

/// Longest `detail` kept from a client's proctoring event, in characters.
pub const PROCTOR_DETAIL_MAX_CHARS: usize = 200;

fn body<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    value: serde_json::Value,
) -> Result<T, FrameError> {
    serde_json::from_value(value).map_err(|error| FrameError::Invalid {
        kind,
        reason: error.to_string(),
    })
}

/// The first top-level field named twice, if any: JSON parsers keep the last of them, so a
/// frame like `{"type":"ping","type":"submit"}` would mean what its reader overlooked.
fn repeated_field(text: &str) -> Option<String> {
    struct Fields(Option<String>);
    impl<'de> serde::Deserialize<'de> for Fields {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(FieldsVisitor)
        }
    }
    struct FieldsVisitor;
    impl<'de> serde::de::Visitor<'de> for FieldsVisitor {
        type Value = Fields;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut repeated = None;
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                if !seen.insert(key.clone()) && repeated.is_none() {
                    repeated = Some(key);
                }
            }
            Ok(Fields(repeated))
        }
    }
    serde_json::from_str::<Fields>(text)
        .ok()
        .and_then(|fields| fields.0)
}

/// Largest sequence accepted: the largest integer a JavaScript number holds exactly, so
/// that a browser client can always number past it.
pub const SEQ_MAX: u64 = (1 << 53) - 1;

/// Sequences run from 1 (0 is what a client that forgot to number sends) to `SEQ_MAX`.
fn positive_seq(kind: &'static str, seq: u64) -> Result<(), FrameError> {
    if seq == 0 || seq > SEQ_MAX {
        let reason = format!("seq must be between 1 and {SEQ_MAX}");
        return Err(FrameError::Invalid { kind, reason });
    }
    Ok(())
}

impl ClientFrame {
    /// Parses a text frame: JSON object, then version, then type, then the type's fields.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| FrameError::Malformed)?;
        let object = value.as_object().ok_or(FrameError::Malformed)?;
        if let Some(field) = repeated_field(text) {
            let reason = format!("field {field:?} appears more than once");
            return Err(FrameError::Invalid {
                kind: "frame",
                reason,
            });
        }
        match object.get("v").map(serde_json::Value::as_u64) {
            None => return Err(FrameError::MissingVersion),
            Some(Some(v)) if v == u64::from(PROTOCOL_VERSION) => {}
            Some(Some(v)) => return Err(FrameError::UnsupportedVersion(v)),
            Some(None) => {
                return Err(FrameError::Invalid {
                    kind: "frame",
                    reason: "v must be a number".into(),
                });
            }
        }
        let kind = match object.get("type") {
            Some(serde_json::Value::String(kind)) => kind.clone(),
            _ => {
                return Err(FrameError::Invalid {
                    kind: "frame",
                    reason: "type must be a string".into(),
                });
            }
        };
        match kind.as_str() {
            "resume" => {
                body::<ResumeBody>("resume", value).map(|b| Self::Resume { ticket: b.ticket })
            }
            "answer" => body::<AnswerBody>("answer", value)
                .and_then(|b| positive_seq("answer", b.seq).map(|()| b))
                .map(|b| Self::Answer {
                    seq: b.seq,
                    question: b.question,
                    value: b.value,
                }),
            "proctor" => body::<ProctorBody>("proctor", value)
                .and_then(|b| positive_seq("proctor", b.seq).map(|()| b))
                .map(|b| Self::Proctor {
                    seq: b.seq,
                    kind: b.kind,
                    detail: b.detail.chars().take(PROCTOR_DETAIL_MAX_CHARS).collect(),
                }),
            "submit" => Ok(Self::Submit),
            "ping" => Ok(Self::Ping),
            _ => Err(FrameError::UnknownType(kind.chars().take(40).collect())),
        }
    }
}

/// A frame to the exam client.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    State(StateFrame),
    Ack { seq: u64, saved_at_ms: u64 },
    Error(ErrorFrame),
    TimeWarning { minutes_left: u32, deadline_ms: u64 },
    DeadlineChanged { deadline_ms: u64 },
    ProctorWarning { kind: ViolationKind, flagged: bool },
    Submitted { summary: Summary },
    Superseded,
    Pong { server_time_ms: u64 },
}

/// The session as the client shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateFrame {
    pub session_id: String,
    pub olympiad_title: String,
    pub status: Status,
    pub questions: Vec<PublicQuestion>,
    pub answers: BTreeMap<String, AnswerValue>,
    /// Highest client sequence the server has applied; continue numbering after it.
    pub last_seq: u64,
    pub server_time_ms: u64,
    pub started_at_ms: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub summary: Option<Summary>,
}

/// An error with a stable code, and the sequence of the frame it answers if it had one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorFrame {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl From<Snapshot> for StateFrame {
    fn from(s: Snapshot) -> Self {
        Self {
            session_id: s.session_id,
            olympiad_title: s.olympiad_title,
            status: s.status,
            questions: s.questions,
            answers: s.answers,
            last_seq: s.last_seq,
            server_time_ms: s.server_time_ms,
            started_at_ms: s.started_at_ms,
            deadline_ms: s.deadline_ms,
            summary: s.summary,
        }
    }
}

impl From<Push> for ServerFrame {
    fn from(push: Push) -> Self {
        match push {
            Push::Ack { seq, saved_at_ms } => Self::Ack { seq, saved_at_ms },
            Push::Refused { seq, error } => {
                Self::Error(crate::errors::session_error_frame(&error, seq))
            }
            Push::TimeWarning {
                minutes_left,
                deadline_ms,
            } => Self::TimeWarning {
                minutes_left,
                deadline_ms,
            },
            Push::DeadlineChanged { deadline_ms } => Self::DeadlineChanged { deadline_ms },
            Push::ProctorWarning { kind, flagged } => Self::ProctorWarning { kind, flagged },
            Push::Finished(summary) => Self::Submitted { summary },
            Push::Superseded => Self::Superseded,
        }
    }
}

/// A server frame as JSON text, with the protocol version first.
pub fn encode(frame: &ServerFrame) -> String {
    match frame {
        ServerFrame::State(state) if !state.questions.is_empty() => encode_state(state),
        other => encode_generic(other),
    }
}

/// The state frame with its questions spliced in from the per-paper cache: the same
/// text as the generic path, whose sorted keys put `"questions":[]` once at the top level
/// (answer values are objects, so no nested key can be followed by `[]`).
fn encode_state(state: &StateFrame) -> String {
    let text = encode_generic(&ServerFrame::State(state.clone_without_questions()));
    let questions = paper_json::questions_json(&state.questions);
    text.replacen(
        r#""questions":[]"#,
        &format!(r#""questions":{questions}"#),
        1,
    )
}

impl StateFrame {
    fn clone_without_questions(&self) -> Self {
        Self {
            session_id: self.session_id.clone(),
            olympiad_title: self.olympiad_title.clone(),
            status: self.status,
            questions: Vec::new(),
            answers: self.answers.clone(),
            last_seq: self.last_seq,
            server_time_ms: self.server_time_ms,
            started_at_ms: self.started_at_ms,
            deadline_ms: self.deadline_ms,
            summary: self.summary.clone(),
        }
    }
}

fn encode_generic(frame: &ServerFrame) -> String {
    let mut value = serde_json::to_value(frame).expect("server frames serialize");
    if let Some(object) = value.as_object_mut() {
        object.insert("v".into(), PROTOCOL_VERSION.into());
    }
    value.to_string()
}

mod paper_json;

#[cfg(test)]
mod tests;
