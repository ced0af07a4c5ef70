//! A participant's answer to one question, and the shape check against that question.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::question::{Choice, QuestionKind};

/// Longest text or number string an answer may carry, in bytes.
pub const ANSWER_TEXT_MAX_BYTES: usize = 1024;

/// An answer as the participant gave it. Its shape must match the question's kind.
/// In JSON each variant is an object with one key: `{"choice": "Б"}`,
/// `{"pairs": {"1": "Г"}}`; the same form is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    /// Single choice: one option label.
    Choice(String),
    /// Multiple choice: the chosen option labels.
    Choices(Vec<String>),
    /// Numeric: kept as typed ("20,5" and "20.5" are both accepted) so that the record
    /// shows what the participant entered.
    Number(String),
    /// Short text.
    Text(String),
    /// Matching: right label per left label.
    Pairs(BTreeMap<String, String>),
    /// Ordering: labels in the chosen order.
    Order(Vec<String>),
}

/// Why an answer does not fit its question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAnswer {
    #[error("answer type does not fit a {expected} question")]
    WrongType { expected: &'static str },
    #[error("{0:?} is not an option of this question")]
    UnknownLabel(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("answer is longer than {ANSWER_TEXT_MAX_BYTES} bytes")]
    TooLong,
    #[error("label {0:?} is given twice")]
    Repeated(String),
}

impl AnswerValue {
    /// Checks the answer's shape against the question; the key plays no part.
    pub fn check_fits(&self, kind: &QuestionKind) -> Result<(), InvalidAnswer> {
        match (kind, self) {
            (QuestionKind::SingleChoice { options, .. }, Self::Choice(choice)) => {
                known(options, choice)
            }
            (QuestionKind::MultipleChoice { options, .. }, Self::Choices(choices)) => {
                distinct_known(options, choices)
            }
            (QuestionKind::Numeric { .. }, Self::Number(number)) => {
                bounded(number)?;
                parse_number(number).map(|_| ())
            }
            (QuestionKind::ShortText { .. }, Self::Text(text)) => bounded(text),
            (QuestionKind::Matching { left, right, .. }, Self::Pairs(pairs)) => {
                pairs.iter().try_for_each(|(l, r)| {
                    known(left, l)?;
                    known(right, r)
                })
            }
            (QuestionKind::Ordering { items, .. }, Self::Order(order)) => {
                distinct_known(items, order)
            }
            (kind, _) => Err(InvalidAnswer::WrongType {
                expected: kind_name(kind),
            }),
        }
    }
}

/// Parses a number as pupils type it: a decimal comma or point, surrounding spaces, a
/// Unicode minus sign.
pub fn parse_number(raw: &str) -> Result<f64, InvalidAnswer> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            ',' => '.',
            '\u{2212}' | '\u{2013}' => '-',
            other => other,
        })
        .collect();
    match cleaned.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(InvalidAnswer::NotANumber(raw.to_owned())),
    }
}

fn kind_name(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::SingleChoice { .. } => "single choice",
        QuestionKind::MultipleChoice { .. } => "multiple choice",
        QuestionKind::Numeric { .. } => "numeric",
        QuestionKind::ShortText { .. } => "short text",
        QuestionKind::Matching { .. } => "matching",
        QuestionKind::Ordering { .. } => "ordering",
    }
}

fn bounded(text: &str) -> Result<(), InvalidAnswer> {
    if text.len() > ANSWER_TEXT_MAX_BYTES {
        return Err(InvalidAnswer::TooLong);
    }
    Ok(())
}

fn known(options: &[Choice], label: &str) -> Result<(), InvalidAnswer> {
    if options.iter().any(|o| o.label == label) {
        Ok(())
    } else {
        Err(InvalidAnswer::UnknownLabel(label.to_owned()))
    }
}

fn distinct_known(options: &[Choice], labels: &[String]) -> Result<(), InvalidAnswer> {
    for (index, label) in labels.iter().enumerate() {
        known(options, label)?;
        if labels[..index].contains(label) {
            return Err(InvalidAnswer::Repeated(label.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_comma_point_and_unicode_minus() {
        assert_eq!(parse_number("20,5"), Ok(20.5));
        assert_eq!(parse_number(" 1620 "), Ok(1620.0));
        assert_eq!(parse_number("\u{2212}3.25"), Ok(-3.25));
        assert!(parse_number("12a").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("").is_err());
    }
}
