//! Property tests of the state machine: whatever commands arrive, in whatever order and
//! at whatever time, the lifecycle only moves forward, duplicates change nothing, and the
//! state rebuilt from the stored events is the state the actor held.

use proptest::prelude::*;

use super::*;

const START_MS: u64 = 1_000_000;
const DURATION_S: u64 = 60;
const CLOSES_AT_MS: u64 = START_MS + 3_600_000;

fn paper() -> Paper {
    super::tests::choice_paper(&["А", "Б"], 3)
}

/// A command as the actor would receive it, with the server time it arrives at.
#[derive(Clone, Debug)]
enum Command {
    Start,
    Answer { seq: u64, question: u8, label: bool },
    Violation { seq: u64 },
    Submit,
    Expire,
    ExtraTime { seconds: u64 },
}

fn command() -> impl Strategy<Value = (u64, Command)> {
    let at = 0..120_000u64;
    let command = prop_oneof![
        Just(Command::Start),
        (1..20u64, 1..5u8, any::<bool>()).prop_map(|(seq, question, label)| Command::Answer {
            seq,
            question,
            label
        }),
        (1..20u64).prop_map(|seq| Command::Violation { seq }),
        Just(Command::Submit),
        Just(Command::Expire),
        (1..300u64).prop_map(|seconds| Command::ExtraTime { seconds }),
    ];
    (at, command)
}

/// Decides one command; returns the events to store (nothing if refused or a duplicate).
fn decide(state: &SessionState, now: u64, command: &Command) -> Vec<SessionEvent> {
    let policy = ProctoringPolicy {
        warn_at_weight: 1,
        flag_at_weight: 3,
        terminate_at_weight: 6,
        fast_answer_ms: 500,
    };
    let window = (0, CLOSES_AT_MS);
    let decision = match command {
        Command::Start => state
            .decide_start(now, window, DURATION_S)
            .map(Vec::from_iter),
        Command::Answer {
            seq,
            question,
            label,
        } => {
            let value = AnswerValue::Choice(if *label { "А" } else { "Б" }.into());
            let id = format!("q{question}");
            state
                .decide_answer(now, *seq, &id, &value, &paper(), &policy)
                .map(events_of)
        }
        Command::Violation { seq } => state
            .decide_client_violation(now, *seq, ViolationKind::FocusLost, String::new(), &policy)
            .map(events_of),
        Command::Submit => state.decide_submit(now).map(Vec::from_iter),
        Command::Expire => Ok(Vec::from_iter(state.decide_expiry(now))),
        Command::ExtraTime { seconds } => state
            .decide_extra_time(now, *seconds, "admin", None)
            .map(Vec::from_iter),
    };
    decision.unwrap_or_default()
}

fn events_of(decision: Decision) -> Vec<SessionEvent> {
    match decision {
        Decision::Duplicate => Vec::new(),
        Decision::Append(events) => events,
    }
}

fn rank(status: Status) -> u8 {
    match status {
        Status::NotStarted => 0,
        Status::InProgress => 1,
        Status::Submitted | Status::Expired | Status::Terminated => 2,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lifecycle_only_moves_forward_and_replay_rebuilds_the_same_state(
        mut commands in proptest::collection::vec(command(), 1..60)
    ) {
        commands.sort_by_key(|(at, _)| *at);
        let mut state = SessionState::default();
        let mut stored: Vec<(u64, SessionEvent)> = Vec::new();
        for (offset, command) in &commands {
            let now = START_MS + offset;
            let before = state.status();
            let finished_at_before = state.finished_at_ms;
            let answers_before = state.answers.clone();
            let events = decide(&state, now, command);
            for event in events {
                let seq = state.last_event_seq + 1;
                state.apply(seq, &event);
                stored.push((seq, event));
            }
            let after = state.status();
            prop_assert!(rank(after) >= rank(before), "{before:?} -> {after:?}");
            if before.is_finished() {
                prop_assert_eq!(state.status(), before, "a finished session never changes status");
                prop_assert_eq!(state.finished_at_ms, finished_at_before);
                prop_assert_eq!(&state.answers, &answers_before, "no answer after finishing");
            }
            if state.status() == Status::Expired {
                let deadline = state.deadline_ms();
                prop_assert_eq!(state.finished_at_ms, deadline, "expiry is at the deadline");
            }
            if let (Some(deadline), Some(start)) = (state.deadline_ms(), state.started_at_ms) {
                prop_assert!(deadline <= CLOSES_AT_MS && deadline > start);
            }
            for answer in state.answers.values() {
                prop_assert!(answer.at_ms < state.deadline_ms().unwrap_or(u64::MAX));
            }
        }
        let replayed = SessionState::replay(stored.iter().map(|(seq, e)| (*seq, e)));
        prop_assert_eq!(replayed.status(), state.status());
        prop_assert_eq!(&replayed.answers, &state.answers);
        prop_assert_eq!(replayed.deadline_ms(), state.deadline_ms());
        prop_assert_eq!(replayed.last_client_seq, state.last_client_seq);
        prop_assert_eq!(&replayed.violations, &state.violations);
    }

    #[test]
    fn a_repeated_sequence_is_always_a_duplicate(seq in 1..1000u64, later in 0..50_000u64) {
        let mut state = SessionState::default();
        state.apply(1, &SessionEvent::Started {
            started_at_ms: START_MS,
            duration_s: DURATION_S,
            closes_at_ms: CLOSES_AT_MS,
        });
        let value = AnswerValue::Choice("А".into());
        let policy = ProctoringPolicy::default();
        let first = state.decide_answer(START_MS + 1, seq, "q1", &value, &paper(), &policy);
        let first = first.unwrap();
        for event in events_of(first) {
            let next = state.last_event_seq + 1;
            state.apply(next, &event);
        }
        let now = START_MS + 1 + later;
        let again = state.decide_answer(now, seq, "q2", &value, &paper(), &policy);
        prop_assert_eq!(again, Ok(Decision::Duplicate), "a retry changes nothing");
        if seq > 1 {
            let stale = state.decide_answer(now, seq - 1, "q1", &value, &paper(), &policy);
            prop_assert_eq!(stale, Ok(Decision::Duplicate), "an older answer to q1 is stale");
            let other = state.decide_answer(now, seq - 1, "q2", &value, &paper(), &policy);
            let saved = matches!(other, Ok(Decision::Append(_)));
            prop_assert!(saved, "an unapplied older seq is saved");
        }
    }
}
