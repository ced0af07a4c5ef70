//! The events of one session's stream: the source of truth from which every actor, result
//! and export is rebuilt. Stored through `storage::codec`; variants are only ever added.

use serde::{Deserialize, Serialize};

use crate::domain::answer::AnswerValue;
use crate::proctoring::ViolationKind;

/// One fact in a session's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SessionEvent {
    /// The participant pressed Start; everything needed to compute the deadline is here,
    /// so a later change to the olympiad never moves a running session's deadline.
    Started {
        started_at_ms: u64,
        duration_s: u64,
        closes_at_ms: u64,
    },
    /// An answer became the participant's current answer to a question.
    AnswerSaved {
        client_seq: u64,
        question_id: String,
        value: AnswerValue,
        at_ms: u64,
    },
    /// A proctoring violation, reported by the client (with its sequence) or observed by
    /// the server (without).
    ViolationRecorded {
        client_seq: Option<u64>,
        kind: ViolationKind,
        at_ms: u64,
        detail: String,
    },
    /// A camera snapshot or screen capture was stored; it documents the client-reported
    /// proctoring event with sequence `documents_seq`, or is a periodic capture.
    EvidenceStored {
        evidence_id: String,
        kind: EvidenceKind,
        media_type: String,
        bytes: u64,
        documents_seq: Option<u64>,
        at_ms: u64,
    },
    /// The session crossed the policy's review threshold.
    FlaggedForReview { at_ms: u64, weight: u32 },
    /// An admin granted extra time.
    ExtraTimeGranted {
        seconds: u64,
        by: String,
        at_ms: u64,
    },
    /// The session left "in progress" for good.
    Finished { at_ms: u64, reason: FinishReason },
    /// An admin granted extra time under the admin client's id for this grant: a retry
    /// with the same id grants nothing more. (Added after `Finished`: variants keep their
    /// place in the encoding.)
    ExtraTimeGrantedOnce {
        grant_id: String,
        seconds: u64,
        by: String,
        at_ms: u64,
    },
}

/// What a piece of evidence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Camera,
    Screen,
}

/// Why a session finished; decides its final status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// The participant submitted.
    Submitted,
    /// The deadline passed; `at_ms` is the deadline itself.
    Expired,
    /// The proctoring policy ended the session.
    Terminated,
}
