//! The GIFT-grammar-PEG.js test files: each `.gift` comes with that project's parse as
//! JSON, which serves here as an independent oracle of what each question is.

use std::path::Path;

use bank::ImportReport;
use engine::domain::question::{Question, QuestionKind};
use serde_json::Value;

use crate::{data_path, read_data};

const FOLDER: &str = "gift-peg-tests/tests/questions";

/// What a question comes to, in terms both parses can be compared in.
#[derive(Debug, PartialEq)]
enum Outcome {
    Single { options: usize, correct: usize },
    TrueFalse(bool),
    Multiple { options: usize, correct: Vec<usize> },
    Short { accepted: usize },
    Numeric { key: f64, tolerance: f64 },
    Matching { pairs: usize },
    Rejected,
}

fn gift_files() -> Vec<String> {
    let folder = data_path(FOLDER);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".gift"))
        .collect();
    names.sort();
    names
}

fn import(name: &str) -> ImportReport {
    let text = read_data(&format!("{FOLDER}/{name}"));
    bank::gift::read(&text, name, "paper").unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Our outcomes in question-number order; numbers must run 1, 2, 3 without gaps.
fn outcomes(name: &str, report: &ImportReport) -> Vec<Outcome> {
    let mut numbered: Vec<(usize, Outcome)> = report.papers[0]
        .questions
        .iter()
        .map(|q| (q.id[1..].parse().unwrap(), our_outcome(q)))
        .chain(
            report
                .rejected
                .iter()
                .map(|r| (r.question_number, Outcome::Rejected)),
        )
        .collect();
    numbered.sort_by_key(|(number, _)| *number);
    let numbers: Vec<usize> = numbered.iter().map(|(number, _)| *number).collect();
    assert_eq!(
        numbers,
        (1..=numbers.len()).collect::<Vec<_>>(),
        "{name}: numbering"
    );
    numbered.into_iter().map(|(_, outcome)| outcome).collect()
}

fn our_outcome(question: &Question) -> Outcome {
    let index_of = |options: &[engine::domain::question::Choice], label: &str| {
        options.iter().position(|o| o.label == label).unwrap()
    };
    match &question.kind {
        QuestionKind::SingleChoice { options, correct }
            if options
                .iter()
                .map(|o| o.label.as_str())
                .eq(["true", "false"]) =>
        {
            Outcome::TrueFalse(correct == "true")
        }
        QuestionKind::SingleChoice { options, correct } => Outcome::Single {
            options: options.len(),
            correct: index_of(options, correct),
        },
        QuestionKind::MultipleChoice { options, correct } => Outcome::Multiple {
            options: options.len(),
            correct: correct.iter().map(|c| index_of(options, c)).collect(),
        },
        QuestionKind::ShortText { accepted } => Outcome::Short {
            accepted: accepted.len(),
        },
        QuestionKind::Numeric { key, tolerance } => Outcome::Numeric {
            key: *key,
            tolerance: *tolerance,
        },
        QuestionKind::Matching { left, .. } => Outcome::Matching { pairs: left.len() },
        QuestionKind::Ordering { .. } => panic!("GIFT has no ordering questions"),
    }
}

/// The oracle's verdict; `None` for what is not a question (category, description).
fn expected_outcome(question: &Value) -> Option<Outcome> {
    let outcome = match question["type"].as_str().unwrap() {
        "Category" | "Description" => return None,
        "Essay" => Outcome::Rejected,
        "TF" => Outcome::TrueFalse(question["isTrue"].as_bool().unwrap()),
        "MC" => expected_choice(question["choices"].as_array().unwrap()),
        "Short" => {
            let choices = question["choices"].as_array().unwrap();
            match choices.iter().filter(|c| fully_correct(c)).count() {
                0 => Outcome::Rejected,
                accepted => Outcome::Short { accepted },
            }
        }
        "Numerical" => expected_numeric(&question["choices"]),
        "Matching" => {
            let pairs = question["matchPairs"].as_array().unwrap();
            let asked = |pair: &&Value| pair["subquestion"]["text"] != "";
            Outcome::Matching {
                pairs: pairs.iter().filter(asked).count(),
            }
        }
        other => panic!("unknown type {other}"),
    };
    Some(outcome)
}

fn weight(choice: &Value) -> Option<f64> {
    choice["weight"].as_f64()
}

fn fully_correct(choice: &Value) -> bool {
    weight(choice).map_or(choice["isCorrect"] == true, |w| w >= 100.0)
}

/// The reference calls every choice question "MC"; from its weights, one fully correct
/// choice means single choice, none with some positive means multiple, and several fully
/// correct choices cannot be keyed either way.
fn expected_choice(choices: &[Value]) -> Outcome {
    let options = choices.len();
    let full: Vec<usize> = (0..options)
        .filter(|&i| fully_correct(&choices[i]))
        .collect();
    let positive = |c: &Value| weight(c).map_or(c["isCorrect"] == true, |w| w > 0.0);
    match full.as_slice() {
        [correct] => Outcome::Single {
            options,
            correct: *correct,
        },
        [] => {
            let correct: Vec<usize> = (0..options).filter(|&i| positive(&choices[i])).collect();
            if correct.is_empty() {
                Outcome::Rejected
            } else {
                Outcome::Multiple { options, correct }
            }
        }
        _ => Outcome::Rejected,
    }
}

/// One spec, or a list of answers of which the first fully correct one counts.
fn expected_numeric(choices: &Value) -> Outcome {
    let spec = match choices.as_array() {
        Some(list) => &list.iter().find(|c| fully_correct(c)).unwrap()["text"],
        None => choices,
    };
    let number = |field: &str| spec[field].as_f64().unwrap();
    let (key, tolerance) = match spec["type"].as_str().unwrap() {
        "simple" => (number("number"), 0.0),
        "range" => (number("number"), number("range")),
        "high-low" => {
            let (low, high) = (number("numberLow"), number("numberHigh"));
            ((low + high) / 2.0, (high - low) / 2.0)
        }
        other => panic!("unknown numeric type {other}"),
    };
    Outcome::Numeric { key, tolerance }
}

#[test]
fn every_file_agrees_with_the_reference_parse() {
    let files = gift_files();
    assert_eq!(files.len(), 51, "the data folder holds 51 GIFT files");
    for name in &files {
        let json_name = Path::new(name).with_extension("json");
        let json = read_data(&format!("{FOLDER}/{}", json_name.display()));
        let reference: Vec<Value> = serde_json::from_str(&json).unwrap();
        let expected: Vec<Outcome> = reference.iter().filter_map(expected_outcome).collect();

        let report = import(name);
        assert_eq!(outcomes(name, &report), expected, "{name}");
        for question in &report.papers[0].questions {
            question
                .validate()
                .unwrap_or_else(|e| panic!("{name} {}: {e}", question.id));
        }
    }
}

#[test]
fn rejected_questions_are_the_essays_and_one_ambiguous_choice() {
    let mut rejected = Vec::new();
    for name in &gift_files() {
        for r in import(name).rejected {
            rejected.push(format!(
                "{name} #{} line {}: {}",
                r.question_number,
                r.line.unwrap(),
                r.reason
            ));
        }
    }
    let essay = "essay questions are not scored automatically";
    let expected = [
        "escapeColon.gift #1 line 1: 4 answers are marked fully correct; a single choice has \
         one, a multiple choice gives its right answers partial weights"
            .to_owned(),
        format!("essay1.gift #1 line 1: {essay}"),
        format!("newlineAndLaTeX.gift #1 line 1: {essay}"),
        format!("tag_id.gift #1 line 2: {essay}"),
        format!("tag_id_and_two_tags.gift #1 line 3: {essay}"),
        format!("tag_two_tags.gift #1 line 2: {essay}"),
        format!("totara_moodle_backslash.gift #1 line 4: {essay}"),
        format!("totara_moodle_essay.gift #1 line 4: {essay}"),
        format!("totara_moodle_pre_content.gift #1 line 3: {essay}"),
    ];
    assert_eq!(rejected, expected);
}

#[test]
fn all_files_together_give_the_known_number_of_each_kind() {
    let mut counts = std::collections::BTreeMap::new();
    for name in &gift_files() {
        for question in &import(name).papers[0].questions {
            let kind = match our_outcome(question) {
                Outcome::Single { .. } => "single",
                Outcome::TrueFalse(_) => "true/false",
                Outcome::Multiple { .. } => "multiple",
                Outcome::Short { .. } => "short",
                Outcome::Numeric { .. } => "numeric",
                Outcome::Matching { .. } => "matching",
                Outcome::Rejected => unreachable!(),
            };
            *counts.entry(kind).or_insert(0) += 1;
        }
    }
    let expected = [
        ("matching", 4),
        ("multiple", 4),
        ("numeric", 14),
        ("short", 19),
        ("single", 26),
        ("true/false", 17),
    ];
    assert_eq!(counts, expected.into_iter().collect());
}
