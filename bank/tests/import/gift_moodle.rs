//! Moodle's own GIFT import fixtures, cut out of its PHP tests; some questions still carry
//! the `";` that closed the PHP string.

use bank::ImportReport;
use engine::domain::question::{Choice, QuestionKind};

use crate::read_data;

fn import(name: &str) -> ImportReport {
    let text = read_data(&format!("moodle-fixtures/{name}"));
    bank::gift::read(&text, name, "moodle").unwrap()
}

fn choices(pairs: &[(&str, &str)]) -> Vec<Choice> {
    pairs
        .iter()
        .map(|(label, text)| Choice {
            label: (*label).into(),
            text: (*text).into(),
        })
        .collect()
}

#[test]
fn questions_fixture_keeps_seven_and_names_the_two_it_cannot_take() {
    let report = import("questions.gift.txt");
    let paper = &report.papers[0];
    let ids: Vec<&str> = paper.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["q2", "q3", "q4", "q5", "q6", "q8", "q9"]);

    let rejected: Vec<(usize, Option<usize>, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.question_number, r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (1, Some(2), "essay questions are not scored automatically"),
            (
                7,
                Some(41),
                "text after the answers would leave a blank, which a true/false question \
                 cannot fill"
            ),
        ]
    );
}

#[test]
fn matching_distractor_with_empty_left_joins_the_right_column_only() {
    let report = import("questions.gift.txt");
    let question = report.papers[0].question("q2").unwrap();
    assert_eq!(
        question.prompt,
        "Match the <b>activity</b> to the description."
    );
    let QuestionKind::Matching {
        left,
        right,
        correct,
    } = &question.kind
    else {
        panic!("q2 is {:?}", question.kind)
    };
    assert_eq!(left.len(), 4);
    assert_eq!(
        left[1].text,
        "A teacher asks a question and specifies a choice of multiple responses."
    );
    assert_eq!(
        right,
        &choices(&[
            ("a", "Forum"),
            ("b", "Choice"),
            ("c", "Database"),
            ("d", "Wiki"),
            ("e", "Chat")
        ])
    );
    assert_eq!(correct, &["a", "b", "c", "d"]);
    assert_eq!(question.points, 4);
}

#[test]
fn weights_decide_between_single_and_multiple_choice() {
    let report = import("questions.gift.txt");
    let paper = &report.papers[0];
    let single = &paper.question("q3").unwrap().kind;
    let options = choices(&[("a", "yellow"), ("b", "red"), ("c", "blue")]);
    assert_eq!(
        single,
        &QuestionKind::SingleChoice {
            options,
            correct: "a".into()
        }
    );

    let multiple = &paper.question("q4").unwrap().kind;
    let options = choices(&[
        ("a", "yellow"),
        ("b", "red"),
        ("c", "off-beige"),
        ("d", "blue"),
    ]);
    let correct = vec!["a".into(), "c".into()];
    assert_eq!(multiple, &QuestionKind::MultipleChoice { options, correct });
}

#[test]
fn numeric_wrong_answer_entry_is_ignored_and_php_leftovers_stay_after_the_blank() {
    let report = import("questions.gift.txt");
    let question = report.papers[0].question("q5").unwrap();
    assert_eq!(
        question.kind,
        QuestionKind::Numeric {
            key: 3.0,
            tolerance: 2.0
        }
    );
    assert_eq!(question.prompt, "What is a number from 1 to 5? ___\";");
}

#[test]
fn short_answer_accepts_only_full_credit_and_true_false_reads_t_and_true() {
    let report = import("questions.gift.txt");
    let paper = &report.papers[0];
    let short = &paper.question("q6").unwrap().kind;
    assert_eq!(
        short,
        &QuestionKind::ShortText {
            accepted: vec!["Frog".into()]
        }
    );
    let options = choices(&[("true", "True"), ("false", "False")]);
    let true_false = QuestionKind::SingleChoice {
        options,
        correct: "true".into(),
    };
    assert_eq!(paper.question("q8").unwrap().kind, true_false);
    assert_eq!(paper.question("q9").unwrap().kind, true_false);
}

#[test]
fn category_fixture_ignores_the_category_and_resolves_escapes() {
    let report = import("questions_in_category.gift.txt");
    assert!(report.rejected.is_empty());
    let paper = &report.papers[0];
    let kinds: Vec<&str> = paper
        .questions
        .iter()
        .map(|q| match q.kind {
            QuestionKind::Matching { .. } => "matching",
            QuestionKind::SingleChoice { .. } => "single",
            QuestionKind::ShortText { .. } => "short",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["matching", "single", "short", "single"]);
    assert_eq!(
        paper.question("q2").unwrap().prompt,
        "<a href=\"http://demo.moodle.net/file.php/5/media/bonjour.mp3\">Listen to this \
         greeting:</a><br /><br />What language is being spoken?"
    );
    let short = &paper.question("q3").unwrap().kind;
    assert_eq!(
        short,
        &QuestionKind::ShortText {
            accepted: vec!["Moodler".into()]
        }
    );
    assert_eq!(paper.questions[0].points, 4);
}
