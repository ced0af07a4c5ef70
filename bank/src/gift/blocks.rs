//! Cuts a GIFT file into question blocks: runs of lines between blank lines, with `//`
//! comment lines and `$CATEGORY:` commands dropped and the answer braces located.

use std::ops::Range;

use super::text::unescaped;
use crate::FormatError;

/// The source of one question, or of a description when it has no answer block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Block {
    /// 1-based line of the block's first kept line.
    pub line: usize,
    /// The kept lines, joined with line breaks.
    pub text: String,
    /// Byte ranges in `text` of what stands between each `{` and its `}`.
    pub answers: Vec<Range<usize>>,
}

/// An answer block's opening brace: where to report it, and where its content starts.
#[derive(Clone, Copy)]
struct Open {
    line: usize,
    column: usize,
    start: usize,
}

/// Splits the file. A brace left open at a blank line, at another `{` or at the end of the
/// file, and a `}` with nothing to close, make the file unreadable: where the author meant
/// the question to end is unknown.
pub(super) fn split(text: &str) -> Result<Vec<Block>, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut open: Option<Open> = None;

    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            close_block(&mut blocks, &mut current, open)?;
        } else if trimmed.starts_with("//")
            || (current.is_none() && trimmed.starts_with("$CATEGORY:"))
        {
            continue;
        } else {
            let block = current.get_or_insert_with(|| Block {
                line: number,
                text: String::new(),
                answers: Vec::new(),
            });
            add_line(block, &mut open, number, line)?;
        }
    }
    close_block(&mut blocks, &mut current, open)?;
    Ok(blocks)
}

fn close_block(
    blocks: &mut Vec<Block>,
    current: &mut Option<Block>,
    open: Option<Open>,
) -> Result<(), FormatError> {
    if let Some(Open { line, column, .. }) = open {
        return Err(FormatError::UnclosedAnswers { line, column });
    }
    blocks.extend(current.take());
    Ok(())
}

/// Appends a line and records the braces on it; escaped braces are text.
fn add_line(
    block: &mut Block,
    open: &mut Option<Open>,
    number: usize,
    line: &str,
) -> Result<(), FormatError> {
    if !block.text.is_empty() {
        block.text.push('\n');
    }
    let base = block.text.len();
    for (at, c) in unescaped(line).filter(|&(_, c)| c == '{' || c == '}') {
        let column = line[..at].chars().count() + 1;
        match (c, *open) {
            ('{', Some(Open { line, column, .. })) => {
                return Err(FormatError::UnclosedAnswers { line, column });
            }
            ('{', None) => {
                *open = Some(Open {
                    line: number,
                    column,
                    start: base + at + 1,
                })
            }
            (_, Some(Open { start, .. })) => {
                block.answers.push(start..base + at);
                *open = None;
            }
            (_, None) => {
                return Err(FormatError::StrayClosingBrace {
                    line: number,
                    column,
                });
            }
        }
    }
    block.text.push_str(line);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_separate_blocks_and_comments_vanish() {
        let text = "// intro\n$CATEGORY: x\n\n::T::Q1 {\n// inside\n=a}\n  \nQ2 {T}\n";
        let blocks = split(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].line, 4);
        assert_eq!(blocks[0].text, "::T::Q1 {\n=a}");
        assert_eq!(&blocks[0].text[blocks[0].answers[0].clone()], "\n=a");
        assert_eq!(blocks[1].line, 8);
    }

    #[test]
    fn escaped_braces_are_not_answer_blocks() {
        let blocks = split(r"a \{ b \} c").unwrap();
        assert!(blocks[0].answers.is_empty());
    }

    #[test]
    fn unterminated_brace_is_reported_where_it_opens() {
        let text = "Q1 {=a}\n\nQ2 is {\n  =b\n\nQ3 {=c}";
        assert_eq!(
            split(text),
            Err(FormatError::UnclosedAnswers { line: 3, column: 7 })
        );
        let at_end = "Q1 {=a\n=b";
        assert_eq!(
            split(at_end),
            Err(FormatError::UnclosedAnswers { line: 1, column: 4 })
        );
    }

    #[test]
    fn brace_opened_inside_an_answer_block_reports_the_first() {
        let text = "Q1 {=a\nQ2 {=b}";
        assert_eq!(
            split(text),
            Err(FormatError::UnclosedAnswers { line: 1, column: 4 })
        );
    }

    #[test]
    fn closing_brace_without_opening_is_reported() {
        let text = "Q1 {=a}\n\nQ2 =b} ";
        assert_eq!(
            split(text),
            Err(FormatError::StrayClosingBrace { line: 3, column: 6 })
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "Чому {";
        assert_eq!(
            split(text),
            Err(FormatError::UnclosedAnswers { line: 1, column: 6 })
        );
    }
}
