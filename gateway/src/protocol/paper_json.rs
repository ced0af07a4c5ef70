//! The state frame's questions as wire JSON, encoded once per paper. Every resume sends
//! the whole paper; encoding it afresh each time was a quarter of the node's CPU in a
//! start storm. The text is byte-for-byte what the generic encoder writes (keys sorted).

use std::sync::{Arc, Mutex};

use engine::domain::question::PublicQuestion;

/// Papers whose encoded questions are kept; the oldest is dropped beyond this.
const PAPERS_MAX: usize = 8;

/// Encoded questions, most recently added last.
static ENCODED: Mutex<Vec<(Vec<PublicQuestion>, Arc<str>)>> = Mutex::new(Vec::new());

/// The questions as a JSON array, from the cache when the same paper was encoded before.
pub fn questions_json(questions: &[PublicQuestion]) -> Arc<str> {
    let mut cache = ENCODED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, json)) = cache
        .iter()
        .find(|(known, _)| known.as_slice() == questions)
    {
        return Arc::clone(json);
    }
    let value = serde_json::to_value(questions).expect("questions serialize");
    let json: Arc<str> = value.to_string().into();
    if cache.len() >= PAPERS_MAX {
        cache.remove(0);
    }
    cache.push((questions.to_vec(), Arc::clone(&json)));
    json
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use engine::domain::answer::AnswerValue;
    use engine::domain::question::{Choice, PublicKind};
    use engine::session::state::Status;

    use super::super::{ServerFrame, StateFrame, encode, encode_generic};
    use super::*;

    fn question(id: &str, kind: PublicKind) -> PublicQuestion {
        PublicQuestion {
            id: id.into(),
            prompt: "Обчисліть \"x\" <b>".into(),
            image_url: Some("https://example.org/q.png".into()),
            points: 2,
            kind,
        }
    }

    #[test]
    fn state_frames_encode_exactly_as_the_generic_path_once_cached_and_again() {
        let options = vec![Choice {
            label: "А".into(),
            text: "один".into(),
        }];
        let state = StateFrame {
            session_id: "s1".into(),
            olympiad_title: "Олімпіада".into(),
            status: Status::InProgress,
            questions: vec![
                question("q1", PublicKind::SingleChoice { options }),
                question("questions", PublicKind::Numeric),
            ],
            answers: BTreeMap::from([("q1".into(), AnswerValue::Choice("А".into()))]),
            last_seq: 4,
            server_time_ms: 9,
            started_at_ms: Some(1),
            deadline_ms: Some(100),
            summary: None,
        };
        let frame = ServerFrame::State(state);
        let generic = encode_generic(&frame);
        assert_eq!(encode(&frame), generic);
        assert_eq!(encode(&frame), generic);
    }
}
