//! One GIFT question block made into an engine question: title, prompt with the blank
//! where answers stood mid-text, and the kind its answer block gives.

use engine::domain::question::Question;

use super::answers;
use super::blocks::Block;
use super::kind::{self, GiftType};
use super::problem::Problem;
use super::text::{split_title, strip_format, unescape};

/// Stands in the prompt where the answers were, when text follows them.
pub const BLANK: &str = "___";

/// Builds and validates question `q<number>` from a block that has answers.
pub(super) fn convert(block: &Block, number: usize) -> Result<Question, Problem> {
    let [answers_range] = block.answers.as_slice() else {
        return Err(Problem::SeveralAnswerBlocks(block.answers.len()));
    };
    let before = &block.text[..answers_range.start - 1];
    let inside = &block.text[answers_range.clone()];
    let after = &block.text[answers_range.end + 1..];

    let (title, before) = split_title(before)?;
    let converted = kind::convert(&answers::parse(inside)?)?;
    let prompt = prompt(strip_format(before), after, converted.gift_type)?;
    let prompt = match (prompt.is_empty(), title) {
        (true, Some(title)) => title,
        (_, _) => prompt,
    };
    if prompt.is_empty() {
        return Err(Problem::NoText);
    }

    let question = Question {
        id: format!("q{number}"),
        prompt,
        image_url: None,
        points: converted.points,
        kind: converted.kind,
    };
    question.validate()?;
    Ok(question)
}

/// The text before the answers, or, when text follows them, both around a blank; the
/// spacing is the author's.
fn prompt(before: &str, after: &str, gift_type: GiftType) -> Result<String, Problem> {
    if after.trim().is_empty() {
        return Ok(unescape(before).trim().to_owned());
    }
    if !gift_type.fills_blank() {
        return Err(Problem::UnfillableBlank(gift_type.name()));
    }
    let joined = format!("{}{BLANK}{}", unescape(before), unescape(after));
    Ok(joined.trim().to_owned())
}
