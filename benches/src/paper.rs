//! The paper the benchmarks use: the real ZNO mathematics test when the shared data sits
//! next to the checkout, otherwise a generated one of the same size and mix of kinds.

use engine::domain::paper::Paper;
use engine::domain::question::{Choice, Question, QuestionKind};

/// Where the real exam is, relative to this crate.
const EXAM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zno-math/tests/math_raw.json"
);

/// Questions in the generated paper, as in the real one.
const QUESTIONS: usize = 33;

/// The real paper if it can be read, or a generated one.
pub fn exam_paper() -> Paper {
    let real = std::fs::read_to_string(EXAM)
        .ok()
        .and_then(|json| bank::zno::read(&json, "math_raw.json").ok())
        .and_then(|report| report.papers.into_iter().next());
    real.unwrap_or_else(generated_paper)
}

fn choices(labels: &[&str]) -> Vec<Choice> {
    labels
        .iter()
        .map(|label| Choice {
            label: (*label).to_owned(),
            text: format!("варіант {label}"),
        })
        .collect()
}

/// 33 questions: single choice, matching and numeric, like the ZNO test.
pub fn generated_paper() -> Paper {
    let labels = ["А", "Б", "В", "Г", "Д"];
    let questions = (0..QUESTIONS)
        .map(|index| {
            let kind = match index % 3 {
                0 => QuestionKind::SingleChoice {
                    options: choices(&labels),
                    correct: "В".into(),
                },
                1 => QuestionKind::Matching {
                    left: choices(&["1", "2", "3", "4"]),
                    right: choices(&labels),
                    correct: vec!["А".into(), "Б".into(), "Г".into(), "Д".into()],
                },
                _ => QuestionKind::Numeric {
                    key: 20.5,
                    tolerance: 0.0,
                },
            };
            Question {
                id: format!("q{}", index + 1),
                prompt: "Обчисліть".into(),
                image_url: None,
                points: 1 + (index % 3) as u32,
                kind,
            }
        })
        .collect();
    Paper {
        id: "generated".into(),
        title: "Generated paper".into(),
        source: "benches".into(),
        questions,
    }
}

/// The right answer to every question of the paper: scoring's longest path.
pub fn right_answers(
    paper: &Paper,
) -> std::collections::BTreeMap<String, engine::domain::answer::AnswerValue> {
    use engine::domain::answer::AnswerValue;
    paper
        .questions
        .iter()
        .map(|question| {
            let value = match &question.kind {
                QuestionKind::SingleChoice { correct, .. } => AnswerValue::Choice(correct.clone()),
                QuestionKind::MultipleChoice { correct, .. } => {
                    AnswerValue::Choices(correct.clone())
                }
                QuestionKind::Numeric { key, .. } => AnswerValue::Number(key.to_string()),
                QuestionKind::ShortText { accepted } => {
                    AnswerValue::Text(accepted.first().cloned().unwrap_or_default())
                }
                QuestionKind::Matching { left, correct, .. } => AnswerValue::Pairs(
                    left.iter()
                        .map(|l| l.label.clone())
                        .zip(correct.iter().cloned())
                        .collect(),
                ),
                QuestionKind::Ordering { correct, .. } => AnswerValue::Order(correct.clone()),
            };
            (question.id.clone(), value)
        })
        .collect()
}
