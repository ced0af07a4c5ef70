//! The error a reader returns when a file cannot be read at all. Problems with single
//! questions are not errors: they become `Rejected` entries of the report.

/// Why a whole file was refused. Lines and columns are 1-based and columns count
/// characters; for JSON they are serde_json's, whose column is 0 when the fault is found
/// before a line's first character.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// ZNO: the text is not JSON, or it breaks off.
    #[error("invalid JSON: {detail}")]
    Json {
        line: usize,
        column: usize,
        detail: String,
    },
    /// ZNO: the text is JSON but not a list of tests laid out as the format has them.
    #[error("not a list of ZNO tests: {detail}")]
    Layout {
        line: usize,
        column: usize,
        detail: String,
    },
    /// ZNO: a test's `num_tasks` disagrees with its task list, so tasks may be missing.
    #[error("test {test_id} declares {declared} tasks but lists {listed}")]
    TaskCount {
        test_id: String,
        declared: usize,
        listed: usize,
    },
    /// ZNO: a test id that cannot be part of a paper id: empty, or with characters other
    /// than ASCII letters, digits, `-` and `_`.
    #[error("test id {test_id:?} cannot name a paper")]
    BadTestId { test_id: String },
    /// ZNO: two tests share an id, so their papers would share one.
    #[error("test {test_id} appears more than once")]
    RepeatedTest { test_id: String },
    /// ZNO: two tasks of a test share an id, so their questions would share one.
    #[error("test {test_id} lists task {task_id} more than once")]
    RepeatedTask { test_id: String, task_id: usize },
    /// GIFT: an answer block is still open at a blank line, another `{` or the end of
    /// the file, so where the question ends is unknown.
    #[error("answer block opened at line {line}, column {column} is not closed")]
    UnclosedAnswers { line: usize, column: usize },
    /// GIFT: an unescaped `}` outside any answer block.
    #[error("`}}` at line {line}, column {column} closes no answer block")]
    StrayClosingBrace { line: usize, column: usize },
}

impl FormatError {
    /// The source line the error points at, where it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Json { line, .. }
            | Self::Layout { line, .. }
            | Self::UnclosedAnswers { line, .. }
            | Self::StrayClosingBrace { line, .. } => Some(*line),
            Self::TaskCount { .. }
            | Self::BadTestId { .. }
            | Self::RepeatedTest { .. }
            | Self::RepeatedTask { .. } => None,
        }
    }
}
