//! The layout of the ZNO exam JSON as published: a list of tests, each with its tasks.
//! Fields the importer does not use (`link`, `comment`) are left out and ignored.

use serde::Deserialize;

/// One exam sitting.
#[derive(Debug, Deserialize)]
pub(super) struct RawTest {
    /// The publisher's id; a string in the published file ("455"), a number accepted too.
    pub test_id: RawTestId,
    pub num_tasks: usize,
    pub tasks: Vec<RawTask>,
}

/// One task as the exam prints it. Which headers are filled tells its kind: letters only
/// for single choice, numbers and letters for matching, neither for a written answer.
#[derive(Debug, Deserialize)]
pub(super) struct RawTask {
    /// 0-based position in the test.
    pub task_id: usize,
    pub question: String,
    #[serde(default)]
    pub answers: Vec<RawAnswer>,
    /// Labels of the options, or of the right column in matching; null for written answers.
    pub answer_vheader: Option<Vec<String>>,
    /// Labels of the left column in matching; empty or null otherwise.
    pub answer_hheader: Option<Vec<String>>,
    /// One option label, one right label per left item, or one number per part.
    pub correct_answer: Vec<String>,
    #[serde(default)]
    pub with_photo: bool,
    pub photo_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTestId {
    Text(String),
    Number(u64),
}

impl RawTestId {
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(text) => text.trim().to_owned(),
            Self::Number(number) => number.to_string(),
        }
    }
}

/// A labelled option or matching item.
#[derive(Debug, Deserialize)]
pub(super) struct RawAnswer {
    pub answer: String,
    pub text: String,
}
