//! What an import yields: the papers built from a file, and the questions left out of them
//! with the place and the reason.

use engine::domain::paper::Paper;
use engine::domain::question::{InvalidQuestion, Question};

/// Papers read from one file. A question is either whole in a paper or listed in
/// `rejected`, never both and never half-converted.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    pub papers: Vec<Paper>,
    pub rejected: Vec<Rejected>,
}

/// A question that could not be taken: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The paper the question would have belonged to.
    pub paper_id: String,
    /// 1-based, as the author numbers the questions.
    pub question_number: usize,
    /// 1-based source line where the question starts, where known.
    pub line: Option<usize>,
    /// Why, in words meant for the author of the file.
    pub reason: String,
}

/// Runs the engine's own check on every question converted from one source question, so
/// that a question split in parts is taken whole or not at all.
pub(crate) fn validate_all(questions: &[Question]) -> Result<(), InvalidQuestion> {
    questions.iter().try_for_each(Question::validate)
}

/// Text as an author should read it in a report: printable characters as they are,
/// invisible and control ones spelled out (`\u{2061}`), so that nothing hides.
pub(crate) fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}');
        if hidden {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
