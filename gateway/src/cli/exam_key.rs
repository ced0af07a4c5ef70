//! An answer key read straight from the raw ZNO JSON, apart from the importer, so that a
//! rehearsal can recompute every score independently and catch a scoring or import bug.
//! Rules (the ZNO's own): single choice 1 point; matching 1 point per right pair; each
//! numeric part 2 points, ids `q<n>` or `q<n>.<part>`.

use std::collections::BTreeMap;

use loadtest::AnswerStrategy;
use rand::Rng as _;
use serde_json::{Value, json};

/// The key of one question.
#[derive(Clone, Debug)]
pub enum Key {
    Choice {
        correct: String,
        options: Vec<String>,
    },
    Pairs {
        left: Vec<String>,
        right: Vec<String>,
        correct: Vec<String>,
    },
    Number(f64),
}

/// Keys by question id for one test of the file.
pub struct ExamKey {
    pub keys: BTreeMap<String, Key>,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .map(|c| match c {
            ',' => '.',
            '–' | '−' => '-',
            other => other,
        })
        .collect();
    cleaned.parse().ok()
}

impl ExamKey {
    /// Reads the key of the test whose `test_id` is `test_id`.
    pub fn read(raw: &Value, test_id: &str) -> Option<Self> {
        let test = raw.as_array()?.iter().find(|t| {
            t["test_id"].as_str() == Some(test_id)
                || t["test_id"]
                    .as_u64()
                    .is_some_and(|n| n.to_string() == test_id)
        })?;
        let mut keys = BTreeMap::new();
        for task in test["tasks"].as_array()? {
            let number_of_task = task["task_id"].as_u64()? + 1;
            let correct = strings(&task["correct_answer"]);
            let left = strings(&task["answer_hheader"]);
            let options: Vec<String> = task["answers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o["answer"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let id = format!("q{number_of_task}");
            if correct.is_empty() {
                continue;
            } else if !left.is_empty() {
                let right = strings(&task["answer_vheader"]);
                keys.insert(
                    id,
                    Key::Pairs {
                        left,
                        right,
                        correct,
                    },
                );
            } else if !options.is_empty() {
                keys.insert(
                    id,
                    Key::Choice {
                        correct: correct[0].clone(),
                        options,
                    },
                );
            } else if correct.len() == 1 {
                if let Some(value) = number(&correct[0]) {
                    keys.insert(id, Key::Number(value));
                }
            } else {
                for (part, text) in correct.iter().enumerate() {
                    if let Some(value) = number(text) {
                        keys.insert(format!("{id}.{}", part + 1), Key::Number(value));
                    }
                }
            }
        }
        Some(Self { keys })
    }

    /// Points an answer value earns under this key, or `None` for an unknown question.
    pub fn score(&self, question: &str, value: &Value) -> Option<u32> {
        Some(match self.keys.get(question)? {
            Key::Choice { correct, .. } => u32::from(value["choice"].as_str() == Some(correct)),
            Key::Pairs { left, correct, .. } => left
                .iter()
                .zip(correct)
                .filter(|(l, r)| value["pairs"][l.as_str()].as_str() == Some(r.as_str()))
                .count() as u32,
            Key::Number(key) => {
                let given = value["number"].as_str().and_then(number);
                if given.is_some_and(|g| (g - key).abs() <= 1e-9 * key.abs().max(1.0)) {
                    2
                } else {
                    0
                }
            }
        })
    }

    fn right_answer(key: &Key) -> Value {
        match key {
            Key::Choice { correct, .. } => json!({ "choice": correct }),
            Key::Pairs { left, correct, .. } => {
                let pairs: serde_json::Map<_, _> = left
                    .iter()
                    .cloned()
                    .zip(correct.iter().map(|c| json!(c)))
                    .collect();
                json!({ "pairs": pairs })
            }
            Key::Number(value) => json!({ "number": value.to_string().replace('.', ",") }),
        }
    }

    fn wrong_answer(key: &Key, rng: &mut impl rand::Rng) -> Value {
        match key {
            Key::Choice { correct, options } => {
                let wrong: Vec<_> = options.iter().filter(|o| *o != correct).collect();
                let pick = wrong.get(rng.random_range(0..wrong.len().max(1)));
                json!({ "choice": pick.map_or(correct, |w| *w) })
            }
            Key::Pairs { left, right, .. } => {
                let pairs: serde_json::Map<_, _> = left
                    .iter()
                    .map(|l| {
                        (
                            l.clone(),
                            json!(right[rng.random_range(0..right.len().max(1))]),
                        )
                    })
                    .collect();
                json!({ "pairs": pairs })
            }
            Key::Number(value) => json!({ "number": (value + 1.0).to_string() }),
        }
    }
}

/// Answers right with a participant-dependent chance, wrong otherwise; questions
/// without a key get a random answer.
pub struct KeyedAnswers(pub ExamKey);

impl AnswerStrategy for KeyedAnswers {
    fn answer(&self, participant: usize, question: &Value) -> Option<Value> {
        let id = question["id"].as_str()?;
        let Some(key) = self.0.keys.get(id) else {
            return loadtest::RandomAnswers.answer(participant, question);
        };
        let mut rng = rand::rng();
        let ability = 0.25 + 0.7 * (participant % 11) as f64 / 10.0;
        if rng.random_bool(ability.min(1.0)) {
            Some(ExamKey::right_answer(key))
        } else {
            Some(ExamKey::wrong_answer(key, &mut rng))
        }
    }
}
