//! A session's state as a pure state machine: `apply` folds stored events into it, and the
//! `decide_*` methods turn a command into the events to store, or a named refusal.
//!
//! Lifecycle: `NotStarted → InProgress → {Submitted | Expired | Terminated}`. The only way
//! out of `InProgress` is a `Finished` event, and nothing is accepted after it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::events::{EvidenceKind, FinishReason, SessionEvent};
use crate::clock::deadline_ms;
use crate::domain::answer::{AnswerValue, InvalidAnswer};
use crate::domain::paper::Paper;
use crate::proctoring::{FAST_ANSWER_RUN, PolicyDecision, ProctoringPolicy, ViolationKind};

/// Where a session is in its lifecycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    NotStarted,
    InProgress,
    Submitted,
    Expired,
    Terminated,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotStarted => "not started",
            Self::InProgress => "in progress",
            Self::Submitted => "submitted",
            Self::Expired => "expired",
            Self::Terminated => "terminated",
        })
    }
}

impl Status {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Submitted | Self::Expired | Self::Terminated)
    }

    fn finished_by(reason: FinishReason) -> Self {
        match reason {
            FinishReason::Submitted => Self::Submitted,
            FinishReason::Expired => Self::Expired,
            FinishReason::Terminated => Self::Terminated,
        }
    }
}

/// Why a command was refused. Each has a stable wire code in the gateway.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("session has not started")]
    NotStarted,
    #[error("session is {0} and accepts no more changes")]
    Closed(Status),
    #[error("the deadline has passed")]
    DeadlinePassed,
    #[error("the olympiad's window is not open")]
    WindowNotOpen,
    #[error("the olympiad's window has closed")]
    WindowClosed,
    #[error("no question {0:?} in this paper")]
    UnknownQuestion(String),
    #[error(transparent)]
    InvalidAnswer(#[from] InvalidAnswer),
    #[error("{0} is observed by the server and cannot be reported by a client")]
    ServerOnlyViolation(ViolationKind),
    #[error("storage is unavailable; nothing was saved")]
    StorageUnavailable,
    #[error("the session is busy; retry")]
    Busy,
    #[error("no such session")]
    UnknownSession,
    #[error("another node serves this session now; connect again")]
    ServedElsewhere,
    #[error("no proctoring event with sequence {0} was reported in this session")]
    UnknownEvent(u64),
}

/// A saved answer with the client sequence that saved it.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedAnswer {
    pub value: AnswerValue,
    pub client_seq: u64,
    pub at_ms: u64,
}

/// What a session has finished with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub status: Status,
    pub finished_at_ms: u64,
    pub answered: usize,
    pub questions: usize,
}

/// Evidence just stored in the blob store, to be linked to the session.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvidence {
    pub id: String,
    pub kind: EvidenceKind,
    pub media_type: String,
    pub bytes: u64,
    pub documents_seq: Option<u64>,
}

/// The outcome of deciding a command that carries a client sequence.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Already applied, or overtaken by a later answer to the same question: acknowledge
    /// again, store nothing.
    Duplicate,
    /// Store these events, then acknowledge.
    Append(Vec<SessionEvent>),
}

/// Everything the actor knows about its session, rebuilt from events.
#[derive(Clone, Debug, Default)]
pub struct SessionState {
    status: Status,
    /// Start time, duration and window close, from `Started`.
    pub started_at_ms: Option<u64>,
    duration_s: u64,
    closes_at_ms: u64,
    extra_s: u64,
    /// Current answer per question id.
    pub answers: BTreeMap<String, SavedAnswer>,
    /// Highest client sequence applied; clients continue numbering after it.
    pub last_client_seq: u64,
    /// Every client sequence applied. A command whose sequence is here is a retry:
    /// acknowledged again, stored never.
    pub applied_seqs: BTreeSet<u64>,
    /// Sequence of the last stored event; the next event gets this plus one.
    pub last_event_seq: u64,
    pub finished_at_ms: Option<u64>,
    /// Violation count per kind and their summed weight.
    pub violations: BTreeMap<ViolationKind, u32>,
    pub violation_weight: u32,
    pub flagged: bool,
    /// Client sequences of the proctoring events the client reported; evidence may
    /// document only these.
    pub reported_seqs: BTreeSet<u64>,
    /// Ids of stored evidence, per kind.
    pub evidence: BTreeMap<EvidenceKind, BTreeSet<String>>,
    /// Ids of the extra-time grants made under an id.
    grants: BTreeSet<String>,
    /// Arrival times of the latest answers, for the fast-answer check (bounded).
    recent_answers_ms: VecDeque<u64>,
}

impl SessionState {
    pub fn status(&self) -> Status {
        self.status
    }

    /// The deadline, once started: never later than the window's close.
    pub fn deadline_ms(&self) -> Option<u64> {
        let started = self.started_at_ms?;
        Some(deadline_ms(
            started,
            self.duration_s,
            self.extra_s,
            self.closes_at_ms,
        ))
    }

    /// Rebuilds state from a stream, in order.
    pub fn replay<'a>(events: impl IntoIterator<Item = (u64, &'a SessionEvent)>) -> Self {
        let mut state = Self::default();
        for (seq, event) in events {
            state.apply(seq, event);
        }
        state
    }

    /// Folds one stored event into the state. The only place state changes.
    pub fn apply(&mut self, seq: u64, event: &SessionEvent) {
        self.last_event_seq = self.last_event_seq.max(seq);
        match event {
            SessionEvent::Started {
                started_at_ms,
                duration_s,
                closes_at_ms,
            } => {
                self.status = Status::InProgress;
                self.started_at_ms = Some(*started_at_ms);
                self.duration_s = *duration_s;
                self.closes_at_ms = *closes_at_ms;
            }
            SessionEvent::AnswerSaved {
                client_seq,
                question_id,
                value,
                at_ms,
            } => {
                self.last_client_seq = self.last_client_seq.max(*client_seq);
                self.applied_seqs.insert(*client_seq);
                let saved = SavedAnswer {
                    value: value.clone(),
                    client_seq: *client_seq,
                    at_ms: *at_ms,
                };
                // Only first answers count for pace: changing one's mind is not speed.
                if self.answers.insert(question_id.clone(), saved).is_none() {
                    self.note_answer_time(*at_ms);
                }
            }
            SessionEvent::ViolationRecorded {
                client_seq, kind, ..
            } => {
                if let Some(seq) = client_seq {
                    self.last_client_seq = self.last_client_seq.max(*seq);
                    self.applied_seqs.insert(*seq);
                    self.reported_seqs.insert(*seq);
                }
                *self.violations.entry(*kind).or_default() += 1;
                self.violation_weight += kind.severity().weight();
                if *kind == ViolationKind::ImplausiblyFast {
                    self.recent_answers_ms.clear();
                }
            }
            SessionEvent::EvidenceStored {
                evidence_id, kind, ..
            } => {
                self.evidence
                    .entry(*kind)
                    .or_default()
                    .insert(evidence_id.clone());
            }
            SessionEvent::FlaggedForReview { .. } => self.flagged = true,
            SessionEvent::ExtraTimeGranted { seconds, .. } => self.extra_s += seconds,
            SessionEvent::ExtraTimeGrantedOnce {
                grant_id, seconds, ..
            } => {
                self.extra_s += seconds;
                self.grants.insert(grant_id.clone());
            }
            SessionEvent::Finished { at_ms, reason } => {
                self.status = Status::finished_by(*reason);
                self.finished_at_ms = Some(*at_ms);
            }
        }
    }

    fn note_answer_time(&mut self, at_ms: u64) {
        if self.recent_answers_ms.len() == FAST_ANSWER_RUN {
            self.recent_answers_ms.pop_front();
        }
        self.recent_answers_ms.push_back(at_ms);
    }

    pub fn summary(&self, questions: usize) -> Option<Summary> {
        Some(Summary {
            status: self.status(),
            finished_at_ms: self.finished_at_ms?,
            answered: self.answers.len(),
            questions,
        })
    }

    /// Refuses anything but an in-progress session before its deadline.
    fn require_open(&self, now_ms: u64) -> Result<(), SessionError> {
        match self.status() {
            Status::NotStarted => Err(SessionError::NotStarted),
            Status::InProgress if self.deadline_ms().is_some_and(|d| now_ms >= d) => {
                Err(SessionError::DeadlinePassed)
            }
            Status::InProgress => Ok(()),
            finished => Err(SessionError::Closed(finished)),
        }
    }

    /// Start: only from `NotStarted`, only inside the window.
    pub fn decide_start(
        &self,
        now_ms: u64,
        window: (u64, u64),
        duration_s: u64,
    ) -> Result<Option<SessionEvent>, SessionError> {
        if self.status() != Status::NotStarted {
            return Ok(None);
        }
        let (opens_at_ms, closes_at_ms) = window;
        if now_ms < opens_at_ms {
            return Err(SessionError::WindowNotOpen);
        }
        if now_ms >= closes_at_ms {
            return Err(SessionError::WindowClosed);
        }
        Ok(Some(SessionEvent::Started {
            started_at_ms: now_ms,
            duration_s,
            closes_at_ms,
        }))
    }

    /// Save an answer. An applied sequence is a retry (acknowledged again even after the
    /// session closed); an answer older than the one saved for its question is stale
    /// (acknowledged, not stored); any other sequence is applied, even below the highest,
    /// so that an answer resent after a refusal is never acknowledged unsaved.
    pub fn decide_answer(
        &self,
        now_ms: u64,
        client_seq: u64,
        question_id: &str,
        value: &AnswerValue,
        paper: &Paper,
        policy: &ProctoringPolicy,
    ) -> Result<Decision, SessionError> {
        if self.applied_seqs.contains(&client_seq) {
            return Ok(Decision::Duplicate);
        }
        self.require_open(now_ms)?;
        let question = paper
            .question(question_id)
            .ok_or_else(|| SessionError::UnknownQuestion(question_id.to_owned()))?;
        value.check_fits(&question.kind)?;
        let saved_seq = self.answers.get(question_id).map(|saved| saved.client_seq);
        if saved_seq.is_some_and(|saved| saved > client_seq) {
            return Ok(Decision::Duplicate);
        }
        let saved = SessionEvent::AnswerSaved {
            client_seq,
            question_id: question_id.to_owned(),
            value: value.clone(),
            at_ms: now_ms,
        };
        let mut events = vec![saved];
        if self.answers_too_fast(now_ms, policy) {
            let detail = format!("{FAST_ANSWER_RUN} answers in a row under the policy's pace");
            events.push(server_violation(
                ViolationKind::ImplausiblyFast,
                now_ms,
                detail,
            ));
            events.extend(self.policy_events(ViolationKind::ImplausiblyFast, now_ms, policy));
        }
        Ok(Decision::Append(events))
    }

    fn answers_too_fast(&self, now_ms: u64, policy: &ProctoringPolicy) -> bool {
        if policy.fast_answer_ms == 0 || self.recent_answers_ms.len() + 1 < FAST_ANSWER_RUN {
            return false;
        }
        let skip = self.recent_answers_ms.len() + 1 - FAST_ANSWER_RUN;
        let Some(&first) = self.recent_answers_ms.get(skip) else {
            return false;
        };
        let gaps = (FAST_ANSWER_RUN - 1) as u64;
        now_ms.saturating_sub(first) < gaps * u64::from(policy.fast_answer_ms)
    }

    /// Record a client-reported violation and apply the policy.
    pub fn decide_client_violation(
        &self,
        now_ms: u64,
        client_seq: u64,
        kind: ViolationKind,
        detail: String,
        policy: &ProctoringPolicy,
    ) -> Result<Decision, SessionError> {
        if self.applied_seqs.contains(&client_seq) {
            return Ok(Decision::Duplicate);
        }
        if kind.is_server_observed() {
            return Err(SessionError::ServerOnlyViolation(kind));
        }
        self.require_open(now_ms)?;
        let recorded = SessionEvent::ViolationRecorded {
            client_seq: Some(client_seq),
            kind,
            at_ms: now_ms,
            detail,
        };
        let mut events = vec![recorded];
        events.extend(self.policy_events(kind, now_ms, policy));
        Ok(Decision::Append(events))
    }

    /// Record a violation the server observed; nothing if the session is not open.
    pub fn decide_server_violation(
        &self,
        now_ms: u64,
        kind: ViolationKind,
        detail: String,
        policy: &ProctoringPolicy,
    ) -> Vec<SessionEvent> {
        if self.require_open(now_ms).is_err() {
            return Vec::new();
        }
        let mut events = vec![server_violation(kind, now_ms, detail)];
        events.extend(self.policy_events(kind, now_ms, policy));
        events
    }

    /// The policy's consequence of one more violation of `kind`.
    fn policy_events(
        &self,
        kind: ViolationKind,
        now_ms: u64,
        policy: &ProctoringPolicy,
    ) -> Vec<SessionEvent> {
        let weight = self.violation_weight + kind.severity().weight();
        match policy.decide(weight, self.flagged) {
            PolicyDecision::Terminate => vec![SessionEvent::Finished {
                at_ms: now_ms,
                reason: FinishReason::Terminated,
            }],
            PolicyDecision::FlagAndWarn => {
                vec![SessionEvent::FlaggedForReview {
                    at_ms: now_ms,
                    weight,
                }]
            }
            PolicyDecision::Warn | PolicyDecision::Record => Vec::new(),
        }
    }

    /// Submit: finishes an open session; a finished one answers with its summary again.
    pub fn decide_submit(&self, now_ms: u64) -> Result<Option<SessionEvent>, SessionError> {
        match self.require_open(now_ms) {
            Ok(()) => Ok(Some(SessionEvent::Finished {
                at_ms: now_ms,
                reason: FinishReason::Submitted,
            })),
            Err(SessionError::Closed(_)) => Ok(None),
            Err(SessionError::DeadlinePassed) => Ok(self.decide_expiry(now_ms)),
            Err(other) => Err(other),
        }
    }

    /// Expiry: once the deadline has passed, an in-progress session finishes at the
    /// deadline itself, however late this runs.
    pub fn decide_expiry(&self, now_ms: u64) -> Option<SessionEvent> {
        let deadline = self.deadline_ms()?;
        let due = self.status() == Status::InProgress && now_ms >= deadline;
        due.then_some(SessionEvent::Finished {
            at_ms: deadline,
            reason: FinishReason::Expired,
        })
    }

    /// Link stored evidence to the session: while it is open, to a reported event or none.
    /// Evidence already linked changes nothing.
    pub fn decide_evidence(
        &self,
        now_ms: u64,
        evidence: NewEvidence,
    ) -> Result<Option<SessionEvent>, SessionError> {
        self.require_open(now_ms)?;
        if let Some(seq) = evidence.documents_seq
            && !self.reported_seqs.contains(&seq)
        {
            return Err(SessionError::UnknownEvent(seq));
        }
        let known = self
            .evidence
            .get(&evidence.kind)
            .is_some_and(|ids| ids.contains(&evidence.id));
        Ok((!known).then_some(SessionEvent::EvidenceStored {
            evidence_id: evidence.id,
            kind: evidence.kind,
            media_type: evidence.media_type,
            bytes: evidence.bytes,
            documents_seq: evidence.documents_seq,
            at_ms: now_ms,
        }))
    }

    /// Extra time: only while in progress and before the deadline.
    /// Extra time, once per `grant_id` when one is given: `None` if that grant is made.
    pub fn decide_extra_time(
        &self,
        now_ms: u64,
        seconds: u64,
        by: &str,
        grant_id: Option<&str>,
    ) -> Result<Option<SessionEvent>, SessionError> {
        if grant_id.is_some_and(|id| self.grants.contains(id)) {
            return Ok(None);
        }
        self.require_open(now_ms)?;
        let by = by.to_owned();
        Ok(Some(match grant_id {
            Some(id) => SessionEvent::ExtraTimeGrantedOnce {
                grant_id: id.to_owned(),
                seconds,
                by,
                at_ms: now_ms,
            },
            None => SessionEvent::ExtraTimeGranted {
                seconds,
                by,
                at_ms: now_ms,
            },
        }))
    }
}

fn server_violation(kind: ViolationKind, at_ms: u64, detail: String) -> SessionEvent {
    SessionEvent::ViolationRecorded {
        client_seq: None,
        kind,
        at_ms,
        detail,
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
