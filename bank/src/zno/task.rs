//! One ZNO task turned into questions: a single choice, a matching, or one numeric
//! question per answer part; or the reason it cannot be taken.

use engine::domain::answer::parse_number;
use engine::domain::question::{Choice, InvalidQuestion, Question, QuestionKind};

use super::raw::{RawAnswer, RawTask};
use crate::report::validate_all;

/// Points the exam gives: one for a choice, one per matched pair, two per numeric part.
const CHOICE_POINTS: u32 = 1;
const PAIR_POINTS: u32 = 1;
const PART_POINTS: u32 = 2;

/// Why a task is left out of its paper.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum TaskProblem {
    #[error("no answer key")]
    NoKey,
    #[error("single-choice task has {0} answer keys")]
    SeveralKeys(usize),
    #[error("answer key \"{}\" is not a number", crate::report::visible(.0))]
    NotANumber(String),
    #[error("answer key {0:?} is written in Latin letters, the options are labelled in Cyrillic")]
    LatinKey(String),
    #[error("option label {0:?} is in neither answer header")]
    UnknownLabel(String),
    #[error("task refers to a picture but has no photo_url")]
    MissingPicture,
    #[error(transparent)]
    Invalid(#[from] InvalidQuestion),
}

/// Converts a task; the questions come back validated, all or none.
pub(super) fn convert(task: &RawTask) -> Result<Vec<Question>, TaskProblem> {
    if task.correct_answer.is_empty() {
        return Err(TaskProblem::NoKey);
    }
    if task.with_photo && picture(task).is_none() {
        return Err(TaskProblem::MissingPicture);
    }
    let number = task.task_id + 1;
    let keys: Vec<String> = task
        .correct_answer
        .iter()
        .map(|k| k.trim().to_owned())
        .collect();
    let left_labels = trimmed(task.answer_hheader.as_deref());
    let right_labels = trimmed(task.answer_vheader.as_deref());

    let questions = if !left_labels.is_empty() {
        vec![matching(task, number, &left_labels, &right_labels, keys)?]
    } else if !right_labels.is_empty() || !task.answers.is_empty() {
        vec![single_choice(task, number, &right_labels, keys)?]
    } else {
        numeric(task, number, &keys)?
    };

    validate_all(&questions)?;
    Ok(questions)
}

fn single_choice(
    task: &RawTask,
    number: usize,
    labels: &[String],
    mut keys: Vec<String>,
) -> Result<Question, TaskProblem> {
    if keys.len() != 1 {
        return Err(TaskProblem::SeveralKeys(keys.len()));
    }
    let options = if labels.is_empty() {
        let own: Vec<String> = task
            .answers
            .iter()
            .map(|a| a.answer.trim().to_owned())
            .collect();
        items(&own, &task.answers)
    } else {
        check_known(&task.answers, &[labels])?;
        items(labels, &task.answers)
    };
    let correct = keys.remove(0);
    check_script(&correct, &options)?;
    let kind = QuestionKind::SingleChoice { options, correct };
    Ok(question(task, format!("q{number}"), CHOICE_POINTS, kind))
}

/// The left column comes from the numbered header, the right from the lettered one; the
/// key lists a right label per left item, in order.
fn matching(
    task: &RawTask,
    number: usize,
    left_labels: &[String],
    right_labels: &[String],
    keys: Vec<String>,
) -> Result<Question, TaskProblem> {
    check_known(&task.answers, &[left_labels, right_labels])?;
    let left = items(left_labels, &task.answers);
    let right = items(right_labels, &task.answers);
    keys.iter().try_for_each(|key| check_script(key, &right))?;
    let points = PAIR_POINTS * left.len() as u32;
    let kind = QuestionKind::Matching {
        left,
        right,
        correct: keys,
    };
    Ok(question(task, format!("q{number}"), points, kind))
}

/// One question per part, each with the whole prompt; a task of several parts numbers
/// them `q<n>.1`, `q<n>.2`, ...
fn numeric(task: &RawTask, number: usize, keys: &[String]) -> Result<Vec<Question>, TaskProblem> {
    let values = keys
        .iter()
        .map(|key| parse_number(key).map_err(|_| TaskProblem::NotANumber(key.clone())))
        .collect::<Result<Vec<f64>, _>>()?;
    let single = values.len() == 1;
    let questions = values.into_iter().enumerate().map(|(index, key)| {
        let id = if single {
            format!("q{number}")
        } else {
            format!("q{number}.{}", index + 1)
        };
        let kind = QuestionKind::Numeric {
            key,
            tolerance: 0.0,
        };
        question(task, id, PART_POINTS, kind)
    });
    Ok(questions.collect())
}

fn question(task: &RawTask, id: String, points: u32, kind: QuestionKind) -> Question {
    Question {
        id,
        prompt: task.question.clone(),
        image_url: picture(task).map(str::to_owned),
        points,
        kind,
    }
}

fn picture(task: &RawTask) -> Option<&str> {
    task.photo_url
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty())
}

fn trimmed(labels: Option<&[String]>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .iter()
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Choices in header order with the text the answers give them. An option the exam shows
/// only as a picture has no answer entry and gets empty text.
fn items(labels: &[String], answers: &[RawAnswer]) -> Vec<Choice> {
    let text_of = |label: &str| {
        let answer = answers.iter().find(|a| a.answer.trim() == label);
        answer.map(|a| a.text.trim().to_owned()).unwrap_or_default()
    };
    labels
        .iter()
        .map(|label| Choice {
            label: label.clone(),
            text: text_of(label),
        })
        .collect()
}

/// Every answer must carry a label from one of the headers; anything else (a Latin
/// look-alike, a typo) would silently drop an option.
fn check_known(answers: &[RawAnswer], headers: &[&[String]]) -> Result<(), TaskProblem> {
    for answer in answers {
        let label = answer.answer.trim();
        if !headers
            .iter()
            .any(|header| header.iter().any(|known| known == label))
        {
            return Err(TaskProblem::UnknownLabel(label.to_owned()));
        }
    }
    Ok(())
}

/// A Latin "B" next to Cyrillic labels could mean "В" (same glyph) or "Б" (same place in
/// the alphabet); guessing could mark right answers wrong, so such a key is refused.
fn check_script(key: &str, options: &[Choice]) -> Result<(), TaskProblem> {
    let latin = |text: &str| text.chars().any(|c| c.is_ascii_alphabetic());
    let known = options.iter().any(|o| o.label == key);
    if !known && latin(key) && !options.iter().any(|o| latin(&o.label)) {
        return Err(TaskProblem::LatinKey(key.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Converts a task written as the JSON the file holds; unset fields take the values of
    /// a single-choice task with options А to В.
    fn check(overrides: serde_json::Value) -> Result<Vec<Question>, TaskProblem> {
        let mut task = serde_json::json!({
            "task_id": 4,
            "question": "Скільки?",
            "answers": [
                {"answer": "А", "text": "1"},
                {"answer": "Б", "text": "2"},
                {"answer": "В", "text": "3"}
            ],
            "answer_vheader": ["А", "Б", "В"],
            "answer_hheader": [],
            "correct_answer": ["Б"],
            "with_photo": false
        });
        for (field, value) in overrides.as_object().unwrap() {
            task[field] = value.clone();
        }
        convert(&serde_json::from_value(task).unwrap())
    }

    fn ids(questions: &[Question]) -> Vec<&str> {
        questions.iter().map(|q| q.id.as_str()).collect()
    }

    #[test]
    fn single_choice_is_numbered_from_one_and_trims_labels() {
        let questions = check(serde_json::json!({"correct_answer": [" Б\u{a0}"]})).unwrap();
        assert_eq!(ids(&questions), ["q5"]);
        let QuestionKind::SingleChoice { options, correct } = &questions[0].kind else {
            panic!()
        };
        assert_eq!((options.len(), correct.as_str()), (3, "Б"));
        assert_eq!(questions[0].points, 1);
    }

    #[test]
    fn latin_look_alike_key_is_refused_rather_than_guessed() {
        let result = check(serde_json::json!({"correct_answer": ["B"]}));
        assert_eq!(result, Err(TaskProblem::LatinKey("B".into())));
        assert_eq!(
            result.unwrap_err().to_string(),
            "answer key \"B\" is written in Latin letters, the options are labelled in Cyrillic"
        );
    }

    #[test]
    fn answer_label_missing_from_the_headers_is_refused() {
        let answers =
            serde_json::json!([{"answer": "А", "text": "1"}, {"answer": "B", "text": "2"}]);
        let result = check(serde_json::json!({"answers": answers}));
        assert_eq!(result, Err(TaskProblem::UnknownLabel("B".into())));
    }

    #[test]
    fn options_shown_only_as_a_picture_get_empty_text() {
        let picture = "https://example.org/5.png";
        let overrides =
            serde_json::json!({"answers": [], "with_photo": true, "photo_url": picture});
        let questions = check(overrides).unwrap();
        let QuestionKind::SingleChoice { options, .. } = &questions[0].kind else {
            panic!()
        };
        assert!(options.iter().all(|o| o.text.is_empty()));
        assert_eq!(questions[0].image_url.as_deref(), Some(picture));
    }

    #[test]
    fn refused_keys_name_the_problem() {
        let check_reason = |overrides| check(overrides).unwrap_err().to_string();
        assert_eq!(
            check_reason(serde_json::json!({"correct_answer": []})),
            "no answer key"
        );
        let two = serde_json::json!({"correct_answer": ["А", "Б"]});
        assert_eq!(check_reason(two), "single-choice task has 2 answer keys");
        let unknown = serde_json::json!({"correct_answer": ["Д"]});
        assert_eq!(
            check_reason(unknown),
            "answer key names \"Д\", which is not an option"
        );
        let photo = serde_json::json!({"with_photo": true});
        assert_eq!(
            check_reason(photo),
            "task refers to a picture but has no photo_url"
        );
    }

    #[test]
    fn matching_takes_a_point_per_pair_and_checks_the_key_length() {
        let answers = serde_json::json!([
            {"answer": "1", "text": "x"}, {"answer": "2", "text": "y"},
            {"answer": "А", "text": "a"}, {"answer": "Б", "text": "b"}
        ]);
        let matching = |key: serde_json::Value| {
            check(serde_json::json!({
                "answers": answers, "answer_hheader": ["1", "2"],
                "answer_vheader": ["А", "Б", "В"], "correct_answer": key
            }))
        };
        let questions = matching(serde_json::json!(["Б", "В"])).unwrap();
        let QuestionKind::Matching {
            left,
            right,
            correct,
        } = &questions[0].kind
        else {
            panic!()
        };
        assert_eq!((left.len(), right.len(), correct.len()), (2, 3, 2));
        assert_eq!(right[2].text, "");
        assert_eq!(questions[0].points, 2);
        let short_key = matching(serde_json::json!(["Б"])).unwrap_err();
        assert_eq!(
            short_key.to_string(),
            "answer key has 1 entries, expected 2"
        );
    }

    #[test]
    fn numeric_parts_become_questions_that_stand_or_fall_together() {
        let numeric = |key: serde_json::Value| {
            let overrides = serde_json::json!({
                "answers": [], "answer_vheader": null, "answer_hheader": null, "correct_answer": key
            });
            check(overrides)
        };
        let one = numeric(serde_json::json!(["–0,4"])).unwrap();
        assert_eq!(ids(&one), ["q5"]);
        assert_eq!(
            one[0].kind,
            QuestionKind::Numeric {
                key: -0.4,
                tolerance: 0.0
            }
        );
        assert_eq!(one[0].points, 2);

        let two = numeric(serde_json::json!(["20,5", " 1620 "])).unwrap();
        assert_eq!(ids(&two), ["q5.1", "q5.2"]);

        let half = numeric(serde_json::json!(["12", "12tg(β/2)"]));
        assert_eq!(half, Err(TaskProblem::NotANumber("12tg(β/2)".into())));
    }
}
