//! Events at rest: encoding and decoding one answer event, and rebuilding a session's
//! state from a 100-event stream (what a resume after passivation or a restart costs).

use engine::domain::answer::AnswerValue;
use engine::session::events::SessionEvent;
use engine::session::state::SessionState;

fn main() {
    divan::main();
}

fn answer_event(seq: u64) -> SessionEvent {
    SessionEvent::AnswerSaved {
        client_seq: seq,
        question_id: format!("q{}", seq % 33 + 1),
        value: AnswerValue::Choice("Б".into()),
        at_ms: 1_700_000_000_000 + seq,
    }
}

#[divan::bench]
fn encode_an_answer_event(bencher: divan::Bencher) {
    let event = answer_event(7);
    bencher.bench(|| storage::encode(divan::black_box(&event)));
}

#[divan::bench]
fn decode_an_answer_event(bencher: divan::Bencher) {
    let bytes = storage::encode(&answer_event(7));
    bencher.bench(|| storage::decode::<SessionEvent>(divan::black_box(&bytes)).unwrap());
}

#[divan::bench]
fn rebuild_a_session_from_100_events(bencher: divan::Bencher) {
    let started = SessionEvent::Started {
        started_at_ms: 1_700_000_000_000,
        duration_s: 3_600,
        closes_at_ms: 1_700_010_000_000,
    };
    let stream: Vec<Vec<u8>> = std::iter::once(started)
        .chain((1..100).map(answer_event))
        .map(|event| storage::encode(&event))
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(stream.len()))
        .bench(|| {
            let mut state = SessionState::default();
            for (seq, body) in (1..).zip(&stream) {
                let event: SessionEvent = storage::decode(body).unwrap();
                state.apply(seq, &event);
            }
            state
        });
}
