//! Questions of an exam paper: the six kinds Olymp scores, with their answer keys, and the
//! participant-facing view that carries no key.

use serde::{Deserialize, Serialize};

/// A labelled option: what the participant sees and the stable label an answer names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Stable label, unique within its list ("А", "1", "b").
    pub label: String,
    /// Display text; may be empty when the original shows the option as an image.
    pub text: String,
}

/// One question with its key. Only the engine and the importers see this type whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Unique within its paper.
    pub id: String,
    /// The question's text as written by its author.
    pub prompt: String,
    /// Reference to an image on the author's host. Kept as data, never fetched by Olymp.
    pub image_url: Option<String>,
    /// Points for a fully correct answer; matching questions give a share per pair.
    pub points: u32,
    pub kind: QuestionKind,
}

/// What kind of question, and its answer key. Externally tagged, because papers are
/// stored with the binary codec, which cannot read internally tagged enums.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one option is right.
    SingleChoice {
        options: Vec<Choice>,
        correct: String,
    },
    /// Every right option and no wrong one must be chosen.
    MultipleChoice {
        options: Vec<Choice>,
        correct: Vec<String>,
    },
    /// A number within `tolerance` of `key` (inclusive) is right.
    Numeric { key: f64, tolerance: f64 },
    /// Any accepted text is right after normalisation (see `scoring::normalise_text`).
    ShortText { accepted: Vec<String> },
    /// Each left item is paired with one right item; `correct` lists the right label for
    /// every left item, in the order of `left`.
    Matching {
        left: Vec<Choice>,
        right: Vec<Choice>,
        correct: Vec<String>,
    },
    /// The items must be put in the order `correct` gives (labels).
    Ordering {
        items: Vec<Choice>,
        correct: Vec<String>,
    },
}

/// The participant-facing view of a question: everything but the key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicQuestion {
    pub id: String,
    pub prompt: String,
    pub image_url: Option<String>,
    pub points: u32,
    #[serde(flatten)]
    pub kind: PublicKind,
}

/// Kinds without keys, tagged by `type` in JSON (this view is never stored). Ordering
/// items are shown in the author's listed order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PublicKind {
    SingleChoice {
        options: Vec<Choice>,
    },
    MultipleChoice {
        options: Vec<Choice>,
    },
    Numeric,
    ShortText,
    Matching {
        left: Vec<Choice>,
        right: Vec<Choice>,
    },
    Ordering {
        items: Vec<Choice>,
    },
}

impl Question {
    /// The view sent to participants.
    pub fn public(&self) -> PublicQuestion {
        let kind = match &self.kind {
            QuestionKind::SingleChoice { options, .. } => PublicKind::SingleChoice {
                options: options.clone(),
            },
            QuestionKind::MultipleChoice { options, .. } => PublicKind::MultipleChoice {
                options: options.clone(),
            },
            QuestionKind::Numeric { .. } => PublicKind::Numeric,
            QuestionKind::ShortText { .. } => PublicKind::ShortText,
            QuestionKind::Matching { left, right, .. } => PublicKind::Matching {
                left: left.clone(),
                right: right.clone(),
            },
            QuestionKind::Ordering { items, .. } => PublicKind::Ordering {
                items: items.clone(),
            },
        };
        PublicQuestion {
            id: self.id.clone(),
            prompt: self.prompt.clone(),
            image_url: self.image_url.clone(),
            points: self.points,
            kind,
        }
    }

    /// Checks that the key is consistent with the options; importers call this so that a
    /// broken question is refused with a reason instead of scoring wrongly later.
    pub fn validate(&self) -> Result<(), InvalidQuestion> {
        if self.id.is_empty() {
            return Err(InvalidQuestion::EmptyId);
        }
        if self.points == 0 {
            return Err(InvalidQuestion::NoPoints);
        }
        match &self.kind {
            QuestionKind::SingleChoice { options, correct } => {
                check_labels(options)?;
                require_label(options, correct)
            }
            QuestionKind::MultipleChoice { options, correct } => {
                check_labels(options)?;
                if correct.is_empty() {
                    return Err(InvalidQuestion::NoKey);
                }
                correct.iter().try_for_each(|c| require_label(options, c))
            }
            QuestionKind::Numeric { key, tolerance } => {
                if !key.is_finite() || !tolerance.is_finite() || *tolerance < 0.0 {
                    return Err(InvalidQuestion::BadNumber);
                }
                Ok(())
            }
            QuestionKind::ShortText { accepted } => {
                let usable = accepted
                    .iter()
                    .any(|a| !crate::scoring::normalise_text(a).is_empty());
                if usable {
                    Ok(())
                } else {
                    Err(InvalidQuestion::NoKey)
                }
            }
            QuestionKind::Matching {
                left,
                right,
                correct,
            } => {
                check_labels(left)?;
                check_labels(right)?;
                if correct.len() != left.len() {
                    return Err(InvalidQuestion::KeyLength {
                        expected: left.len(),
                        found: correct.len(),
                    });
                }
                correct.iter().try_for_each(|c| require_label(right, c))
            }
            QuestionKind::Ordering { items, correct } => {
                check_labels(items)?;
                if correct.len() != items.len() {
                    return Err(InvalidQuestion::KeyLength {
                        expected: items.len(),
                        found: correct.len(),
                    });
                }
                correct.iter().try_for_each(|c| require_label(items, c))
            }
        }
    }
}

fn check_labels(options: &[Choice]) -> Result<(), InvalidQuestion> {
    if options.is_empty() {
        return Err(InvalidQuestion::NoOptions);
    }
    for (index, option) in options.iter().enumerate() {
        if options[..index].iter().any(|o| o.label == option.label) {
            return Err(InvalidQuestion::DuplicateLabel(option.label.clone()));
        }
    }
    Ok(())
}

fn require_label(options: &[Choice], label: &str) -> Result<(), InvalidQuestion> {
    if options.iter().any(|o| o.label == label) {
        Ok(())
    } else {
        Err(InvalidQuestion::UnknownKeyLabel(label.to_owned()))
    }
}

/// Why a question cannot be part of a paper.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidQuestion {
    #[error("question has an empty id")]
    EmptyId,
    #[error("question is worth no points")]
    NoPoints,
    #[error("question has no options")]
    NoOptions,
    #[error("question has no answer key")]
    NoKey,
    #[error("option label {0:?} appears twice")]
    DuplicateLabel(String),
    #[error("answer key names {0:?}, which is not an option")]
    UnknownKeyLabel(String),
    #[error("answer key has {found} entries, expected {expected}")]
    KeyLength { expected: usize, found: usize },
    #[error("numeric key or tolerance is not a finite, non-negative number")]
    BadNumber,
}
