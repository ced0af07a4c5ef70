//! Why a GIFT question is left out of its paper: the reasons a `Rejected` entry carries,
//! worded for the author of the file.

use engine::domain::question::InvalidQuestion;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum Problem {
    #[error("essay questions are not scored automatically")]
    Essay,
    #[error("question has {0} answer blocks, only one is supported")]
    SeveralAnswerBlocks(usize),
    #[error("title opened with `::` is not closed")]
    UnclosedTitle,
    #[error("question has no text")]
    NoText,
    #[error("text {0:?} stands before the first `=` or `~` of the answers")]
    TextBeforeAnswers(String),
    #[error("weight {0:?} is not a percentage from -100 to 100")]
    BadWeight(String),
    #[error("answer {0} is empty")]
    EmptyAnswer(usize),
    #[error("no answer is marked fully correct")]
    NoCorrectAnswer,
    #[error(
        "{0} answers are marked fully correct; a single choice has one, \
         a multiple choice gives its right answers partial weights"
    )]
    SeveralFullyCorrect(usize),
    #[error("short answer {0:?} uses the `*` wildcard, which is not supported")]
    Wildcard(String),
    #[error("numeric answer {0:?} is not a number, a number:tolerance or a low..high range")]
    NotANumber(String),
    #[error("numeric range {0:?} runs from high to low")]
    ReversedRange(String),
    #[error("matching answer {0} has no `->`")]
    MissingArrow(usize),
    #[error("matching answer {0} has nothing after `->`")]
    EmptyMatch(usize),
    #[error("matching question pairs nothing: every answer is a distractor")]
    NoPairs,
    #[error("text after the answers would leave a blank, which a {0} question cannot fill")]
    UnfillableBlank(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidQuestion),
}
