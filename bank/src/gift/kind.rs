//! Which question a GIFT answer block makes, and its key: choice, true/false, short
//! answer, numeric or matching, decided the way Moodle decides it.

use engine::domain::answer::parse_number;
use engine::domain::question::{Choice, QuestionKind};

use super::answers::{Answers, Entry, Marker};
use super::problem::Problem;
use super::text::{display, split_unescaped, unescape};

/// Points for every question but matching, which gives one per pair.
const QUESTION_POINTS: u32 = 1;
const PAIR_POINTS: u32 = 1;

/// The question types of GIFT that Olymp scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GiftType {
    Choice,
    TrueFalse,
    ShortAnswer,
    Numeric,
    Matching,
}

impl GiftType {
    /// Whether a blank in the prompt can stand for the answer, as when text follows the
    /// answer block: it can for a choice, a word or a number, not for true/false or pairs.
    pub fn fills_blank(self) -> bool {
        !matches!(self, Self::TrueFalse | Self::Matching)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Choice => "choice",
            Self::TrueFalse => "true/false",
            Self::ShortAnswer => "short-answer",
            Self::Numeric => "numeric",
            Self::Matching => "matching",
        }
    }
}

/// An answer block's meaning: its type, the engine's kind with the key, and the points.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Converted {
    pub gift_type: GiftType,
    pub kind: QuestionKind,
    pub points: u32,
}

impl Converted {
    fn one_point(gift_type: GiftType, kind: QuestionKind) -> Self {
        Self {
            gift_type,
            kind,
            points: QUESTION_POINTS,
        }
    }
}

/// Decides the type as Moodle does: `#` numeric, any `~` choice, `->` matching, a lone
/// `T`/`F` true/false, the rest short answer; an empty block is an essay.
pub(super) fn convert(answers: &Answers) -> Result<Converted, Problem> {
    if answers.numeric {
        return Ok(Converted::one_point(GiftType::Numeric, numeric(answers)?));
    }
    let entries = &answers.entries;
    if entries.is_empty() {
        return match answers.leading {
            "" => Err(Problem::Essay),
            leading => lone_answer(leading),
        };
    }
    if !answers.leading.is_empty() {
        return Err(Problem::TextBeforeAnswers(answers.leading.to_owned()));
    }
    let has_arrow = entries
        .iter()
        .any(|e| split_unescaped(e.raw, "->").is_some());
    if entries.iter().any(|e| e.marker == Marker::Wrong) {
        Ok(Converted::one_point(GiftType::Choice, choice(entries)?))
    } else if has_arrow {
        matching(entries)
    } else {
        let kind = short_text(entries)?;
        Ok(Converted::one_point(GiftType::ShortAnswer, kind))
    }
}

/// `{T}`, `{FALSE}` and the like are true/false; any other lone text is the one accepted
/// short answer.
fn lone_answer(leading: &str) -> Result<Converted, Problem> {
    let truth = match leading.to_ascii_uppercase().as_str() {
        "T" | "TRUE" => true,
        "F" | "FALSE" => false,
        _ => {
            let accepted = vec![accepted_text(leading)?];
            let kind = QuestionKind::ShortText { accepted };
            return Ok(Converted::one_point(GiftType::ShortAnswer, kind));
        }
    };
    let option = |label: &str, text: &str| Choice {
        label: label.into(),
        text: text.into(),
    };
    let kind = QuestionKind::SingleChoice {
        options: vec![option("true", "True"), option("false", "False")],
        correct: if truth { "true" } else { "false" }.to_owned(),
    };
    Ok(Converted::one_point(GiftType::TrueFalse, kind))
}

/// One fully correct entry makes a single choice (partial credit is dropped: Olymp's
/// single choice is all or nothing); none, with some positive weights, makes a multiple
/// choice whose right options are the positive ones.
fn choice(entries: &[Entry]) -> Result<QuestionKind, Problem> {
    let mut options = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let text = display(entry.raw);
        if text.is_empty() {
            return Err(Problem::EmptyAnswer(index + 1));
        }
        options.push(Choice {
            label: letter_label(index),
            text,
        });
    }

    let mut fully_correct = labels_where(entries, &options, |entry| entry.is_fully_correct());
    match fully_correct.len() {
        1 => Ok(QuestionKind::SingleChoice {
            options,
            correct: fully_correct.remove(0),
        }),
        0 => {
            let correct = labels_where(entries, &options, |entry| entry.percent() > 0.0);
            if correct.is_empty() {
                return Err(Problem::NoCorrectAnswer);
            }
            Ok(QuestionKind::MultipleChoice { options, correct })
        }
        several => Err(Problem::SeveralFullyCorrect(several)),
    }
}

fn labels_where(entries: &[Entry], options: &[Choice], keep: fn(&Entry) -> bool) -> Vec<String> {
    let kept = entries.iter().zip(options).filter(|(entry, _)| keep(entry));
    kept.map(|(_, option)| option.label.clone()).collect()
}

/// The answers with full credit are accepted; partly credited ones are not.
fn short_text(entries: &[Entry]) -> Result<QuestionKind, Problem> {
    let accepted = entries
        .iter()
        .filter(|entry| entry.is_fully_correct())
        .map(|entry| accepted_text(entry.raw))
        .collect::<Result<Vec<String>, Problem>>()?;
    if accepted.is_empty() {
        return Err(Problem::NoCorrectAnswer);
    }
    Ok(QuestionKind::ShortText { accepted })
}

/// Moodle reads `*` in a short answer as "any text"; the engine compares literally.
fn accepted_text(raw: &str) -> Result<String, Problem> {
    let text = display(raw);
    if text.contains('*') {
        return Err(Problem::Wildcard(text));
    }
    Ok(text)
}

/// The first fully correct answer is the key; the rest, and `~` entries, are dropped.
fn numeric(answers: &Answers) -> Result<QuestionKind, Problem> {
    let leading = (!answers.leading.is_empty()).then_some(answers.leading);
    let correct = answers
        .entries
        .iter()
        .filter(|entry| entry.is_fully_correct());
    let first = leading.or_else(|| correct.map(|entry| entry.raw).next());
    let (key, tolerance) = numeric_key(first.ok_or(Problem::NoCorrectAnswer)?)?;
    Ok(QuestionKind::Numeric { key, tolerance })
}

/// `3`, `3:2` (tolerance) or `1..5` (range, read as its midpoint and half-width).
fn numeric_key(raw: &str) -> Result<(f64, f64), Problem> {
    let spec = raw.trim();
    let number = |text: &str| {
        let text = unescape(text);
        parse_number(&text).map_err(|_| Problem::NotANumber(spec.to_owned()))
    };
    if let Some((low, high)) = spec.split_once("..") {
        let (low, high) = (number(low)?, number(high)?);
        if high < low {
            return Err(Problem::ReversedRange(spec.to_owned()));
        }
        Ok(((low + high) / 2.0, (high - low) / 2.0))
    } else if let Some((key, tolerance)) = split_unescaped(spec, ":") {
        Ok((number(key)?, number(tolerance)?))
    } else {
        Ok((number(spec)?, 0.0))
    }
}

/// `=left -> right` pairs; an entry with nothing on the left only adds a distractor to
/// the right column. Left items are labelled 1, 2, ...; distinct right texts a, b, ...
fn matching(entries: &[Entry]) -> Result<Converted, Problem> {
    let mut left = Vec::new();
    let mut right: Vec<Choice> = Vec::new();
    let mut correct = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let (question, answer) =
            split_unescaped(entry.raw, "->").ok_or(Problem::MissingArrow(index + 1))?;
        let (question, answer) = (display(question), display(answer));
        if answer.is_empty() {
            return Err(Problem::EmptyMatch(index + 1));
        }
        let label = match right.iter().find(|choice| choice.text == answer) {
            Some(existing) => existing.label.clone(),
            None => {
                let label = letter_label(right.len());
                right.push(Choice {
                    label: label.clone(),
                    text: answer,
                });
                label
            }
        };
        if !question.is_empty() {
            left.push(Choice {
                label: (left.len() + 1).to_string(),
                text: question,
            });
            correct.push(label);
        }
    }
    if left.is_empty() {
        return Err(Problem::NoPairs);
    }
    let points = PAIR_POINTS * left.len() as u32;
    let kind = QuestionKind::Matching {
        left,
        right,
        correct,
    };
    Ok(Converted {
        gift_type: GiftType::Matching,
        kind,
        points,
    })
}

/// "a" to "z", then "aa", "ab", ...: as many labels as there are options.
fn letter_label(index: usize) -> String {
    let mut label = Vec::new();
    let mut rest = index + 1;
    while rest > 0 {
        rest -= 1;
        label.push(b'a' + (rest % 26) as u8);
        rest /= 26;
    }
    label.reverse();
    String::from_utf8(label).expect("ASCII letters")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gift::answers;

    /// Converts the inside of an answer block.
    fn check(inside: &str) -> Result<Converted, Problem> {
        convert(&answers::parse(inside)?)
    }

    fn kind(inside: &str) -> QuestionKind {
        check(inside)
            .unwrap_or_else(|problem| panic!("{inside:?}: {problem}"))
            .kind
    }

    fn labels(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|label| (*label).to_owned()).collect()
    }

    #[test]
    fn true_false_is_read_in_every_spelling_and_ignores_feedback() {
        for (inside, truth) in [
            ("T", "true"),
            ("TRUE", "true"),
            ("f", "false"),
            ("\nFALSE#a#b", "false"),
        ] {
            let converted = check(inside).unwrap();
            assert_eq!(converted.gift_type, GiftType::TrueFalse, "{inside:?}");
            let QuestionKind::SingleChoice { options, correct } = converted.kind else {
                panic!("{inside:?} is not a single choice")
            };
            assert_eq!(
                options[0],
                Choice {
                    label: "true".into(),
                    text: "True".into()
                }
            );
            assert_eq!(correct, truth, "{inside:?}");
        }
    }

    #[test]
    fn one_fully_correct_answer_makes_a_single_choice_and_partial_credit_is_dropped() {
        let QuestionKind::SingleChoice { options, correct } = kind("~a ~%50%b =c") else {
            panic!("not a single choice")
        };
        assert_eq!(
            options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(options[2].text, "c");
        assert_eq!(correct, "c");
        assert!(matches!(
            kind("~%100%a ~%-100%b"),
            QuestionKind::SingleChoice { .. }
        ));
    }

    #[test]
    fn positive_weights_without_a_full_answer_make_a_multiple_choice() {
        let QuestionKind::MultipleChoice { correct, .. } = kind("~%50%a ~%-100%b ~%50%c ~d") else {
            panic!("not a multiple choice")
        };
        assert_eq!(correct, labels(&["a", "c"]));
    }

    #[test]
    fn choices_without_exactly_one_key_are_refused() {
        assert_eq!(check("~a ~%-50%b"), Err(Problem::NoCorrectAnswer));
        assert_eq!(check("=a =b ~c"), Err(Problem::SeveralFullyCorrect(2)));
        assert_eq!(check("=a ~ ~c"), Err(Problem::EmptyAnswer(2)));
    }

    #[test]
    fn numeric_answers_read_tolerances_and_ranges() {
        let numeric = |inside| match kind(inside) {
            QuestionKind::Numeric { key, tolerance } => (key, tolerance),
            other => panic!("{inside:?} is {other:?}"),
        };
        assert_eq!(numeric("#1822"), (1822.0, 0.0));
        assert_eq!(numeric("#3:2"), (3.0, 2.0));
        assert_eq!(numeric("#1..5"), (3.0, 2.0));
        assert_eq!(numeric("#-5..5"), (0.0, 5.0));
        assert_eq!(numeric("# 2,5 : 0,5 #feedback"), (2.5, 0.5));
        assert_eq!(numeric("#=%50%1 =2:0.5 ~3 =4"), (2.0, 0.5));
        assert_eq!(numeric("#3:2~#Completely wrong"), (3.0, 2.0));
    }

    #[test]
    fn numeric_answers_that_are_not_numbers_are_refused() {
        assert_eq!(check("#5..1"), Err(Problem::ReversedRange("5..1".into())));
        assert_eq!(check("#three"), Err(Problem::NotANumber("three".into())));
        assert_eq!(check("#1..x"), Err(Problem::NotANumber("1..x".into())));
        assert_eq!(check("#"), Err(Problem::NoCorrectAnswer));
        assert_eq!(check("#=%50%1 ~2"), Err(Problem::NoCorrectAnswer));
    }

    #[test]
    fn short_answers_accept_only_full_credit_and_no_wildcards() {
        let short = |accepted: &[&str]| QuestionKind::ShortText {
            accepted: labels(accepted),
        };
        assert_eq!(
            kind("=no one =%100%nobody =%50%noone"),
            short(&["no one", "nobody"])
        );
        assert_eq!(kind("One"), short(&["One"]));
        assert_eq!(check("=%50%almost"), Err(Problem::NoCorrectAnswer));
        assert_eq!(check("=Frog =Fr*g"), Err(Problem::Wildcard("Fr*g".into())));
    }

    #[test]
    fn matching_pairs_share_right_labels_and_take_distractors() {
        let converted =
            check("=Kyiv -> Ukraine =Lviv -> Ukraine =Rome -> Italy = -> Spain").unwrap();
        assert_eq!(converted.points, 3);
        let QuestionKind::Matching {
            left,
            right,
            correct,
        } = converted.kind
        else {
            panic!("not matching")
        };
        assert_eq!(
            left.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        assert_eq!(
            right.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            ["Ukraine", "Italy", "Spain"]
        );
        assert_eq!(correct, labels(&["a", "a", "b"]));
    }

    #[test]
    fn broken_matching_is_refused() {
        assert_eq!(check("=a -> b =c"), Err(Problem::MissingArrow(2)));
        assert_eq!(check("=a -> b =c -> "), Err(Problem::EmptyMatch(2)));
        assert_eq!(check("= -> b = -> c"), Err(Problem::NoPairs));
    }

    #[test]
    fn empty_blocks_are_essays_and_text_before_markers_is_refused() {
        assert_eq!(check(""), Err(Problem::Essay));
        assert_eq!(check("  \n ####general feedback"), Err(Problem::Essay));
        assert_eq!(
            check("TRUE =a"),
            Err(Problem::TextBeforeAnswers("TRUE".into()))
        );
    }

    #[test]
    fn letter_labels_continue_past_z() {
        let label = |index| letter_label(index);
        assert_eq!(
            [label(0), label(25), label(26), label(27)],
            ["a", "z", "aa", "ab"]
        );
        assert_eq!([label(701), label(702)], ["zz", "aaa"]);
    }
}
