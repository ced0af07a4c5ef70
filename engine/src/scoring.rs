//! Scoring of answers against keys. Pure functions: the same paper and answers always
//! give the same points, which is what makes results reproducible from events.

use std::collections::BTreeMap;

use crate::domain::answer::{AnswerValue, parse_number};
use crate::domain::paper::Paper;
use crate::domain::question::{Question, QuestionKind};

/// Points for one answer. A missing or misshapen answer scores zero.
///
/// Matching gives `points * right_pairs / pairs`, rounded down, so that a three-pair
/// question worth 3 gives one point per pair; every other kind is all or nothing.
pub fn score_answer(question: &Question, answer: &AnswerValue) -> u32 {
    let full = question.points;
    let right = match (&question.kind, answer) {
        (QuestionKind::SingleChoice { correct, .. }, AnswerValue::Choice(choice)) => {
            choice == correct
        }
        (QuestionKind::MultipleChoice { correct, .. }, AnswerValue::Choices(choices)) => {
            choices.len() == correct.len() && correct.iter().all(|c| choices.contains(c))
        }
        (QuestionKind::Numeric { key, tolerance }, AnswerValue::Number(number)) => {
            // A relative epsilon keeps 0.1 + 0.2 style keys from failing on exact input.
            let slack = tolerance + key.abs() * 1e-9;
            parse_number(number).is_ok_and(|value| (value - key).abs() <= slack)
        }
        (QuestionKind::ShortText { accepted }, AnswerValue::Text(text)) => {
            let given = normalise_text(text);
            !given.is_empty() && accepted.iter().any(|a| normalise_text(a) == given)
        }
        (QuestionKind::Matching { left, correct, .. }, AnswerValue::Pairs(pairs)) => {
            return matching_points(full, left.iter().map(|l| &l.label), correct, pairs);
        }
        (QuestionKind::Ordering { correct, .. }, AnswerValue::Order(order)) => order == correct,
        _ => false,
    };
    if right { full } else { 0 }
}

fn matching_points<'a>(
    full: u32,
    left_labels: impl Iterator<Item = &'a String>,
    correct: &[String],
    pairs: &BTreeMap<String, String>,
) -> u32 {
    if correct.is_empty() {
        return 0;
    }
    let right_pairs = left_labels
        .zip(correct)
        .filter(|(left, right)| pairs.get(*left) == Some(*right))
        .count() as u32;
    full * right_pairs / correct.len() as u32
}

/// Total points of a set of answers keyed by question id; unknown ids score nothing.
pub fn score_paper(paper: &Paper, answers: &BTreeMap<String, AnswerValue>) -> u32 {
    answers
        .iter()
        .filter_map(|(id, answer)| paper.question(id).map(|q| score_answer(q, answer)))
        .sum()
}

/// Normalises short text for comparison: Unicode-aware lower case, whitespace runs
/// collapsed, surrounding whitespace and punctuation trimmed, the Cyrillic "ё" folded to
/// "е" and apostrophe variants unified.
pub fn normalise_text(raw: &str) -> String {
    let lowered = raw.to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    for word in lowered.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            out.push(match c {
                'ё' => 'е',
                '\u{2019}' | '\u{02bc}' | '`' | '\u{2018}' => '\'',
                other => other,
            });
        }
    }
    let trimmed = out.trim_matches(|c: char| c.is_ascii_punctuation() && c != '\'' && c != '-');
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::question::Choice;

    fn question(kind: QuestionKind, points: u32) -> Question {
        Question {
            id: "q".into(),
            prompt: String::new(),
            image_url: None,
            points,
            kind,
        }
    }

    fn choices(labels: &[&str]) -> Vec<Choice> {
        labels
            .iter()
            .map(|l| Choice {
                label: (*l).into(),
                text: String::new(),
            })
            .collect()
    }

    #[test]
    fn numeric_within_tolerance_scores_and_outside_does_not() {
        let q = question(
            QuestionKind::Numeric {
                key: 20.5,
                tolerance: 0.0,
            },
            2,
        );
        assert_eq!(score_answer(&q, &AnswerValue::Number("20,5".into())), 2);
        assert_eq!(score_answer(&q, &AnswerValue::Number("20.51".into())), 0);
        let q = question(
            QuestionKind::Numeric {
                key: 3.0,
                tolerance: 0.5,
            },
            1,
        );
        assert_eq!(score_answer(&q, &AnswerValue::Number("3.5".into())), 1);
        assert_eq!(score_answer(&q, &AnswerValue::Number("2.4".into())), 0);
    }

    #[test]
    fn matching_gives_a_share_per_right_pair() {
        let kind = QuestionKind::Matching {
            left: choices(&["1", "2", "3"]),
            right: choices(&["А", "Б", "В", "Г", "Д"]),
            correct: vec!["Г".into(), "Б".into(), "В".into()],
        };
        let q = question(kind, 3);
        let pairs = |p: &[(&str, &str)]| {
            AnswerValue::Pairs(p.iter().map(|(l, r)| ((*l).into(), (*r).into())).collect())
        };
        assert_eq!(
            score_answer(&q, &pairs(&[("1", "Г"), ("2", "Б"), ("3", "В")])),
            3
        );
        assert_eq!(score_answer(&q, &pairs(&[("1", "Г"), ("2", "А")])), 1);
        assert_eq!(score_answer(&q, &pairs(&[])), 0);
    }

    #[test]
    fn multiple_choice_needs_the_exact_set() {
        let kind = QuestionKind::MultipleChoice {
            options: choices(&["a", "b", "c"]),
            correct: vec!["a".into(), "c".into()],
        };
        let q = question(kind, 1);
        let pick = |c: &[&str]| AnswerValue::Choices(c.iter().map(|s| (*s).into()).collect());
        assert_eq!(score_answer(&q, &pick(&["c", "a"])), 1);
        assert_eq!(score_answer(&q, &pick(&["a"])), 0);
        assert_eq!(score_answer(&q, &pick(&["a", "b", "c"])), 0);
    }

    #[test]
    fn short_text_is_compared_after_normalisation() {
        let q = question(
            QuestionKind::ShortText {
                accepted: vec!["Алматы".into()],
            },
            1,
        );
        let text = |t: &str| AnswerValue::Text(t.into());
        assert_eq!(score_answer(&q, &text("  АЛМАТЫ. ")), 1);
        assert_eq!(score_answer(&q, &text("Астана")), 0);
        assert_eq!(score_answer(&q, &text("")), 0);
        assert_eq!(normalise_text("Ёлка   зелёная"), "елка зеленая");
    }

    #[test]
    fn wrong_answer_shape_scores_zero() {
        let kind = QuestionKind::SingleChoice {
            options: choices(&["А", "Б"]),
            correct: "А".into(),
        };
        let q = question(kind, 1);
        assert_eq!(score_answer(&q, &AnswerValue::Text("А".into())), 0);
        assert_eq!(score_answer(&q, &AnswerValue::Choice("А".into())), 1);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn labels(count: usize) -> Vec<String> {
            (0..count).map(|i| format!("L{i}")).collect()
        }

        proptest! {
            #[test]
            fn the_key_itself_scores_full_and_nothing_scores_more(
                count in 2..8usize, picks in proptest::collection::vec(0..8usize, 0..8),
                points in 1..5u32, chosen in 0..8usize,
            ) {
                let right = labels(count);
                let left: Vec<Choice> = labels(count).into_iter()
                    .map(|label| Choice { label, text: String::new() }).collect();
                let key: Vec<String> = right.iter().rev().cloned().collect();
                let kind = QuestionKind::Matching {
                    left: left.clone(),
                    right: left.clone(),
                    correct: key.clone(),
                };
                let q = question(kind, points);
                let pairs = right.iter().cloned().zip(key.iter().cloned()).collect();
                let exact = AnswerValue::Pairs(pairs);
                prop_assert_eq!(score_answer(&q, &exact), points);
                let any: BTreeMap<String, String> = picks.iter()
                    .map(|p| (format!("L{}", p % count), format!("L{}", (p * 7) % count)))
                    .collect();
                prop_assert!(score_answer(&q, &AnswerValue::Pairs(any)) <= points);

                let single = QuestionKind::SingleChoice {
                    options: left.clone(),
                    correct: right[chosen % count].clone(),
                };
                let q = question(single, points);
                let pick = AnswerValue::Choice(right[(chosen + 1) % count].clone());
                prop_assert_eq!(score_answer(&q, &pick), 0);
                let hit = AnswerValue::Choice(right[chosen % count].clone());
                prop_assert_eq!(score_answer(&q, &hit), points);
            }
        }
    }
}
