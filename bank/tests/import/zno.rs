//! The nine real ZNO mathematics exams: what the file yields, pinned to exact numbers so
//! that any change in the reader shows up as a changed count.

use std::collections::BTreeMap;

use bank::ImportReport;
use engine::domain::question::{Choice, QuestionKind};

use crate::read_data;

const FILE: &str = "zno-math/tests/math_raw.json";

fn import() -> ImportReport {
    bank::zno::read(&read_data(FILE), "math_raw.json").unwrap()
}

fn kind_name(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::SingleChoice { .. } => "single",
        QuestionKind::MultipleChoice { .. } => "multiple",
        QuestionKind::Numeric { .. } => "numeric",
        QuestionKind::ShortText { .. } => "short",
        QuestionKind::Matching { .. } => "matching",
        QuestionKind::Ordering { .. } => "ordering",
    }
}

/// Per paper: questions by kind, rejected tasks and points, as one comparable line.
fn summary(report: &ImportReport) -> Vec<String> {
    report
        .papers
        .iter()
        .map(|paper| {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for question in &paper.questions {
                *kinds.entry(kind_name(&question.kind)).or_default() += 1;
            }
            let rejected = report
                .rejected
                .iter()
                .filter(|r| r.paper_id == paper.id)
                .count();
            let points = paper.max_points();
            format!("{} {kinds:?} rejected {rejected} points {points}", paper.id)
        })
        .collect()
}

#[test]
fn real_file_yields_the_known_papers_and_counts() {
    let report = import();
    let lines = summary(&report);
    for line in &lines {
        println!("{line}");
    }
    for rejected in &report.rejected {
        let Some(line) = rejected.line else {
            panic!("{rejected:?} has no line")
        };
        println!(
            "  {} #{} line {line}: {}",
            rejected.paper_id, rejected.question_number, rejected.reason
        );
    }

    let old = r#"{"matching": 4, "numeric": 13, "single": 16} rejected 5 points 54"#;
    let short = r#"{"matching": 4, "numeric": 2, "single": 14} rejected 0 points 30"#;
    let new = r#"{"matching": 3, "numeric": 4, "single": 15} rejected 0 points 32"#;
    let expected: Vec<String> = [
        ("455", old),
        ("469", old),
        ("489", old),
        ("516", short),
        ("521", short),
        ("523", new),
        ("546", new),
        ("547", new),
        ("570", new),
    ]
    .iter()
    .map(|(id, counts)| format!("zno-math-{id} {counts}"))
    .collect();
    assert_eq!(lines, expected);

    let questions: usize = report.papers.iter().map(|p| p.questions.len()).sum();
    assert_eq!((questions, report.rejected.len()), (227, 15));
}

#[test]
fn open_answer_tasks_without_numeric_keys_are_rejected_with_their_lines() {
    let report = import();
    let in_455: Vec<(usize, Option<usize>, &str)> = report
        .rejected
        .iter()
        .filter(|r| r.paper_id == "zno-math-455")
        .map(|r| (r.question_number, r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        in_455,
        vec![
            (30, Some(957), "no answer key"),
            (31, Some(967), r#"answer key "12tg(β/2)" is not a number"#),
            (
                32,
                Some(980),
                "answer key \"2arcsin\\u{2061}(1/(√2cos\\u{2061}(β/2)))\" is not a number"
            ),
            (33, Some(992), "no answer key"),
            (34, Some(1002), "no answer key"),
        ]
    );

    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for rejected in &report.rejected {
        let general = if rejected.reason.ends_with("is not a number") {
            "not a number"
        } else {
            rejected.reason.as_str()
        };
        *reasons.entry(general).or_default() += 1;
    }
    assert_eq!(
        reasons,
        BTreeMap::from([("no answer key", 9), ("not a number", 6)])
    );
}

#[test]
fn two_part_answers_become_two_numeric_questions_with_the_whole_prompt() {
    let report = import();
    let paper = &report.papers[0];
    let first = paper.question("q21.1").unwrap();
    let second = paper.question("q21.2").unwrap();
    assert!(paper.question("q21").is_none());
    assert_eq!(
        first.kind,
        QuestionKind::Numeric {
            key: 20.5,
            tolerance: 0.0
        }
    );
    assert_eq!(
        second.kind,
        QuestionKind::Numeric {
            key: 1620.0,
            tolerance: 0.0
        }
    );
    assert_eq!(first.prompt, second.prompt);
    assert!(
        first
            .prompt
            .contains("\n2. Скільки всього витрачено грошей")
    );
    assert_eq!((first.points, second.points), (2, 2));

    // "–0,2" is written with an en dash; "37.5" with a decimal point.
    let en_dash = paper.question("q24.2").unwrap();
    assert_eq!(
        en_dash.kind,
        QuestionKind::Numeric {
            key: -0.2,
            tolerance: 0.0
        }
    );
    let point = report.papers[1].question("q21.2").unwrap();
    assert_eq!(
        point.kind,
        QuestionKind::Numeric {
            key: 37.5,
            tolerance: 0.0
        }
    );
}

#[test]
fn matching_whose_right_column_is_a_picture_gets_empty_right_options() {
    let report = import();
    let paper = report
        .papers
        .iter()
        .find(|p| p.id == "zno-math-521")
        .unwrap();
    let question = paper.question("q17").unwrap();
    let QuestionKind::Matching {
        left,
        right,
        correct,
    } = &question.kind
    else {
        panic!("q17 is {:?}", question.kind)
    };
    assert_eq!(left[0].text, "діагональ прямокутника дорівнює 14");
    let empty = |label: &str| Choice {
        label: label.into(),
        text: String::new(),
    };
    assert_eq!(right, &["А", "Б", "В", "Г", "Д"].map(empty).to_vec());
    assert_eq!(correct, &["Г", "Б", "В"]);
    assert_eq!(question.points, 3);
    assert!(
        question
            .image_url
            .as_deref()
            .unwrap()
            .ends_with("multy-os-math-17-2022.png")
    );
}

#[test]
fn papers_name_their_source_and_keep_picture_urls() {
    let report = import();
    let paper = &report.papers[0];
    assert_eq!(paper.title, "ZNO mathematics 455");
    assert_eq!(paper.source, "math_raw.json#455");
    let with_picture = paper.question("q2").unwrap();
    assert_eq!(
        with_picture.image_url.as_deref(),
        Some("https://zno.osvita.ua/doc/images/znotest/229/22901/02_1.png")
    );
    assert_eq!(paper.question("q1").unwrap().image_url, None);
    // 52 tasks show a picture; two of them are rejected and five have two parts.
    let pictured = report.papers.iter().flat_map(|p| &p.questions);
    assert_eq!(pictured.filter(|q| q.image_url.is_some()).count(), 55);
}

#[test]
fn every_imported_question_passes_validation() {
    for paper in import().papers {
        for question in &paper.questions {
            question
                .validate()
                .unwrap_or_else(|e| panic!("{} {}: {e}", paper.id, question.id));
        }
    }
}
