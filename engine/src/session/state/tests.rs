//! Behaviour of the session state machine, command by command.

use super::*;
use crate::domain::question::{Choice, Question, QuestionKind};

const START_MS: u64 = 1_000_000;
const WINDOW: (u64, u64) = (0, 10_000_000);

/// A paper of `questions` single-choice questions over `labels`, each answered by "А".
pub(super) fn choice_paper(labels: &[&str], questions: usize) -> Paper {
    let options: Vec<Choice> = labels
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: String::new(),
        })
        .collect();
    let questions = (1..=questions)
        .map(|n| Question {
            id: format!("q{n}"),
            prompt: String::new(),
            image_url: None,
            points: 1,
            kind: QuestionKind::SingleChoice {
                options: options.clone(),
                correct: "А".into(),
            },
        })
        .collect();
    Paper {
        id: "p".into(),
        title: String::new(),
        source: String::new(),
        questions,
    }
}

fn paper() -> Paper {
    choice_paper(&["А", "Б", "В"], 10)
}

fn quiet_policy() -> ProctoringPolicy {
    ProctoringPolicy {
        fast_answer_ms: 0,
        ..ProctoringPolicy::default()
    }
}

/// A state with the given events applied in order, numbered from 1.
fn state_after(events: &[SessionEvent]) -> SessionState {
    SessionState::replay(events.iter().enumerate().map(|(i, e)| (i as u64 + 1, e)))
}

fn started(duration_s: u64) -> SessionEvent {
    SessionEvent::Started {
        started_at_ms: START_MS,
        duration_s,
        closes_at_ms: WINDOW.1,
    }
}

fn answer(
    state: &SessionState,
    now_ms: u64,
    seq: u64,
    question: &str,
) -> Result<Decision, SessionError> {
    let value = AnswerValue::Choice("Б".into());
    state.decide_answer(now_ms, seq, question, &value, &paper(), &quiet_policy())
}

fn apply_all(state: &mut SessionState, decision: Decision) {
    let Decision::Append(events) = decision else {
        panic!("expected events")
    };
    for event in events {
        let seq = state.last_event_seq + 1;
        state.apply(seq, &event);
    }
}

#[test]
fn answer_before_start_is_refused() {
    let state = SessionState::default();
    assert_eq!(
        answer(&state, START_MS, 1, "q1"),
        Err(SessionError::NotStarted)
    );
}

#[test]
fn repeated_or_stale_sequence_changes_nothing() {
    let mut state = state_after(&[started(600)]);
    let first = answer(&state, START_MS + 10, 5, "q1").unwrap();
    apply_all(&mut state, first);
    assert_eq!(
        answer(&state, START_MS + 20, 5, "q2"),
        Ok(Decision::Duplicate)
    );
    let stale = answer(&state, START_MS + 20, 3, "q1");
    assert_eq!(
        stale,
        Ok(Decision::Duplicate),
        "older than q1's saved answer"
    );
    assert_eq!(state.answers.len(), 1);
    // An older sequence never applied (say, resent after a refusal) is saved.
    let resent = answer(&state, START_MS + 20, 3, "q2");
    assert!(matches!(resent, Ok(Decision::Append(_))));
}

#[test]
fn answer_after_deadline_is_refused_and_expiry_finishes_at_the_deadline() {
    let state = state_after(&[started(60)]);
    let deadline = START_MS + 60_000;
    assert_eq!(state.deadline_ms(), Some(deadline));
    assert_eq!(
        answer(&state, deadline, 1, "q1"),
        Err(SessionError::DeadlinePassed)
    );
    assert_eq!(state.decide_expiry(deadline - 1), None);
    let late = state.decide_expiry(deadline + 3_600_000);
    assert_eq!(
        late,
        Some(SessionEvent::Finished {
            at_ms: deadline,
            reason: FinishReason::Expired
        })
    );
}

#[test]
fn answer_after_submit_is_refused_and_submit_again_changes_nothing() {
    let mut state = state_after(&[started(600)]);
    let submit = state.decide_submit(START_MS + 5).unwrap().unwrap();
    state.apply(2, &submit);
    assert_eq!(state.status(), Status::Submitted);
    assert_eq!(
        answer(&state, START_MS + 6, 1, "q1"),
        Err(SessionError::Closed(Status::Submitted))
    );
    assert_eq!(state.decide_submit(START_MS + 7), Ok(None));
    assert_eq!(state.summary(10).unwrap().finished_at_ms, START_MS + 5);
}

#[test]
fn submit_after_the_deadline_expires_instead() {
    let state = state_after(&[started(60)]);
    let event = state.decide_submit(START_MS + 61_000).unwrap().unwrap();
    assert_eq!(
        event,
        SessionEvent::Finished {
            at_ms: START_MS + 60_000,
            reason: FinishReason::Expired
        }
    );
}

#[test]
fn start_is_refused_outside_the_window_and_idempotent_inside() {
    let state = SessionState::default();
    assert_eq!(
        state.decide_start(5, (10, 20), 60),
        Err(SessionError::WindowNotOpen)
    );
    assert_eq!(
        state.decide_start(20, (10, 20), 60),
        Err(SessionError::WindowClosed)
    );
    let event = state.decide_start(15, (10, 20), 60).unwrap().unwrap();
    let started = state_after(&[event]);
    assert_eq!(started.decide_start(16, (10, 20), 60), Ok(None));
    assert_eq!(
        started.deadline_ms(),
        Some(20),
        "a late start gets the window's close"
    );
}

#[test]
fn extra_time_moves_the_deadline_but_not_past_the_window() {
    let mut state = state_after(&[started(60)]);
    let extra = state.decide_extra_time(START_MS + 1, 120, "admin", None);
    state.apply(2, &extra.unwrap().unwrap());
    assert_eq!(state.deadline_ms(), Some(START_MS + 180_000));
    let huge = state.decide_extra_time(START_MS + 2, 1_000_000_000, "admin", None);
    state.apply(3, &huge.unwrap().unwrap());
    assert_eq!(state.deadline_ms(), Some(WINDOW.1));
}

#[test]
fn a_grant_id_grants_once() {
    let mut state = state_after(&[started(60)]);
    let grant = state.decide_extra_time(START_MS + 1, 120, "admin", Some("g1"));
    state.apply(2, &grant.unwrap().expect("a first grant"));
    let again = state.decide_extra_time(START_MS + 2, 120, "admin", Some("g1"));
    assert_eq!(again, Ok(None), "the same grant again changes nothing");
    let other = state.decide_extra_time(START_MS + 3, 60, "admin", Some("g2"));
    state.apply(3, &other.unwrap().expect("another grant"));
    assert_eq!(state.deadline_ms(), Some(START_MS + 240_000));
}

#[test]
fn misshapen_answers_and_unknown_questions_are_refused() {
    let state = state_after(&[started(600)]);
    assert_eq!(
        answer(&state, START_MS + 1, 1, "q99"),
        Err(SessionError::UnknownQuestion("q99".into()))
    );
    let text = AnswerValue::Text("А".into());
    let refused = state.decide_answer(START_MS + 1, 1, "q1", &text, &paper(), &quiet_policy());
    assert!(matches!(refused, Err(SessionError::InvalidAnswer(_))));
}

#[test]
fn violations_escalate_to_a_flag_and_then_termination() {
    let policy = ProctoringPolicy {
        warn_at_weight: 1,
        flag_at_weight: 2,
        terminate_at_weight: 4,
        fast_answer_ms: 0,
    };
    let mut state = state_after(&[started(600)]);
    let focus = ViolationKind::FocusLost;
    for seq in 1..=4 {
        let decision = state
            .decide_client_violation(START_MS + seq, seq, focus, String::new(), &policy)
            .unwrap();
        apply_all(&mut state, decision);
    }
    assert!(state.flagged);
    assert_eq!(state.status(), Status::Terminated);
    assert_eq!(state.violations[&focus], 4);
    let after = state.decide_client_violation(START_MS + 9, 9, focus, String::new(), &policy);
    assert_eq!(after, Err(SessionError::Closed(Status::Terminated)));
}

#[test]
fn clients_cannot_report_server_observed_violations() {
    let state = state_after(&[started(600)]);
    let kind = ViolationKind::SecondConnection;
    let refused = state.decide_client_violation(START_MS, 1, kind, String::new(), &quiet_policy());
    assert_eq!(refused, Err(SessionError::ServerOnlyViolation(kind)));
}

#[test]
fn implausibly_fast_answers_are_recorded_once_per_run() {
    let policy = ProctoringPolicy {
        fast_answer_ms: 1000,
        ..ProctoringPolicy::default()
    };
    let mut state = state_after(&[started(600)]);
    let value = AnswerValue::Choice("А".into());
    for n in 1..=6u64 {
        let question = format!("q{n}");
        let now = START_MS + n * 100;
        let decision = state
            .decide_answer(now, n, &question, &value, &paper(), &policy)
            .unwrap();
        apply_all(&mut state, decision);
    }
    assert_eq!(
        state.violations.get(&ViolationKind::ImplausiblyFast),
        Some(&1)
    );
}
