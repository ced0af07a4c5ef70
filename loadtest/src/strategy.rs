//! How a simulated participant answers: a strategy sees each question as the server sent
//! it (no key) and returns the answer value to send.

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use serde_json::{Value, json};

/// Chooses answers. Called once per question per participant.
pub trait AnswerStrategy: Send + Sync + 'static {
    /// The answer value (protocol JSON) for `question`, or `None` to skip it.
    fn answer(&self, participant: usize, question: &Value) -> Option<Value>;
}

/// Answers every question with a random well-formed value.
pub struct RandomAnswers;

impl RandomAnswers {
    /// A random well-formed answer to `question`.
    pub fn answer_value(&self, question: &Value) -> Option<Value> {
        self.answer(0, question)
    }
}

pub fn labels(question: &Value, field: &str) -> Vec<String> {
    question[field]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl AnswerStrategy for RandomAnswers {
    fn answer(&self, _participant: usize, question: &Value) -> Option<Value> {
        let mut rng = rand::rng();
        match question["type"].as_str()? {
            "single_choice" => {
                let options = labels(question, "options");
                Some(json!({ "choice": options.get(rng.random_range(0..options.len().max(1)))? }))
            }
            "multiple_choice" => {
                let mut options = labels(question, "options");
                options.shuffle(&mut rng);
                let take = rng
                    .random_range(1..=options.len().max(1))
                    .min(options.len());
                Some(json!({ "choices": &options[..take] }))
            }
            "numeric" => Some(json!({ "number": rng.random_range(-50..500).to_string() })),
            "short_text" => Some(json!({ "text": "відповідь" })),
            "matching" => {
                let right = labels(question, "right");
                let pairs: serde_json::Map<String, Value> = labels(question, "left")
                    .into_iter()
                    .filter_map(|l| {
                        Some((
                            l,
                            json!(right.get(rng.random_range(0..right.len().max(1)))?),
                        ))
                    })
                    .collect();
                Some(json!({ "pairs": pairs }))
            }
            "ordering" => {
                let mut items = labels(question, "items");
                items.shuffle(&mut rng);
                Some(json!({ "order": items }))
            }
            _ => None,
        }
    }
}
