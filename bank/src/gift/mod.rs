//! Reader for GIFT, Moodle's plain-text question format: one file makes one paper. The
//! submodules follow the reading order: blocks, text rules, answers, kind, question.

mod answers;
mod blocks;
mod kind;
mod problem;
mod question;
mod text;

use engine::domain::paper::Paper;

use crate::{FormatError, ImportReport, Rejected};

pub use question::BLANK;

/// Reads a whole GIFT file into the paper `paper_id`, titled and sourced `source_name`.
///
/// Questions are separated by blank lines. A block without an answer block `{...}` is a
/// description: it is skipped, reported nowhere and not numbered, since a paper holds
/// only questions. Every other block is numbered from 1 in file order, whether it is
/// taken or rejected, and becomes question `q<number>`; a rejection gives the line where
/// the block starts. Titles (unless the question has no other text), feedback and
/// `$CATEGORY:` commands are dropped. Each question is worth one point, a matching
/// question one per pair. When text follows the answer block, the prompt keeps it around
/// [`BLANK`].
pub fn read(text: &str, source_name: &str, paper_id: &str) -> Result<ImportReport, FormatError> {
    let question_blocks = blocks::split(text)?
        .into_iter()
        .filter(|block| !block.answers.is_empty());

    let mut questions = Vec::new();
    let mut rejected = Vec::new();
    for (index, block) in question_blocks.enumerate() {
        let number = index + 1;
        match question::convert(&block, number) {
            Ok(question) => questions.push(question),
            Err(problem) => rejected.push(Rejected {
                paper_id: paper_id.to_owned(),
                question_number: number,
                line: Some(block.line),
                reason: problem.to_string(),
            }),
        }
    }

    let paper = Paper {
        id: paper_id.to_owned(),
        title: source_name.to_owned(),
        source: source_name.to_owned(),
        questions,
    };
    Ok(ImportReport {
        papers: vec![paper],
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use engine::domain::question::{Question, QuestionKind};

    use super::*;

    /// A rejection as (question number, line, reason).
    type Place = (usize, Option<usize>, String);

    /// Reads `text` and returns the kept questions and the rejections.
    fn check(text: &str) -> (Vec<Question>, Vec<Place>) {
        let report = read(text, "test.gift", "paper").unwrap();
        assert_eq!(report.papers.len(), 1);
        let rejected = report.rejected.into_iter();
        let rejected = rejected
            .map(|r| (r.question_number, r.line, r.reason))
            .collect();
        (
            report.papers.into_iter().next().unwrap().questions,
            rejected,
        )
    }

    #[test]
    fn unterminated_brace_makes_the_file_unreadable_at_its_line() {
        let text = "Q1 {=a}\n\n// two\nQ2 has {\n  =b\n  ~c\n\nQ3 {T}\n";
        let error = read(text, "broken.gift", "paper").unwrap_err();
        assert_eq!(error, FormatError::UnclosedAnswers { line: 4, column: 8 });
        assert_eq!(error.line(), Some(4));
        assert_eq!(
            error.to_string(),
            "answer block opened at line 4, column 8 is not closed"
        );
    }

    #[test]
    fn descriptions_are_neither_numbered_nor_rejected() {
        let text = "::Intro::Use paper.\n\nQ1 {T}\n\nJust text.\n\nQ2 {F}";
        let (questions, rejected) = check(text);
        let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q2"]);
        assert!(rejected.is_empty());
    }

    #[test]
    fn bad_questions_are_named_and_good_ones_around_them_kept() {
        let text = "// header\nGood {=yes ~no}\n\n\n::Essay::\nWrite. {}\n\nAlso good {#4}";
        let (questions, rejected) = check(text);
        let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q3"]);
        let reason = "essay questions are not scored automatically".to_owned();
        assert_eq!(rejected, vec![(2, Some(5), reason)]);
    }

    #[test]
    fn answers_mid_text_leave_a_blank_with_the_authors_spacing() {
        let (questions, _) =
            check("Grant is {~buried =entombed} in \\{Grant's\\} tomb.\n\nFrom {=Kyiv}.");
        assert_eq!(questions[0].prompt, "Grant is ___ in {Grant's} tomb.");
        assert_eq!(questions[1].prompt, format!("From {BLANK}."));
    }

    #[test]
    fn blanks_that_nothing_could_fill_are_refused() {
        let (questions, rejected) = check("Pair {=a -> b =c -> d} now.\n\nIt is {T} so.");
        assert!(questions.is_empty());
        let reasons: Vec<&str> = rejected
            .iter()
            .map(|(_, _, reason)| reason.as_str())
            .collect();
        let unfillable = "text after the answers would leave a blank, which a";
        assert_eq!(
            reasons,
            [
                format!("{unfillable} matching question cannot fill"),
                format!("{unfillable} true/false question cannot fill"),
            ]
        );
    }

    #[test]
    fn format_tags_titles_and_escapes_leave_the_plain_prompt() {
        let text = concat!(
            r"::Q\: one::[markdown]Is **2 \= 1\+1**\nreally? {",
            "\n=[plain]Yes \\# sure#right\n~No}",
        );
        let (questions, _) = check(text);
        let question = &questions[0];
        assert_eq!(question.prompt, "Is **2 = 1\\+1**\nreally?");
        let QuestionKind::SingleChoice { options, .. } = &question.kind else {
            panic!()
        };
        assert_eq!(options[0].text, "Yes # sure");
    }

    #[test]
    fn a_question_without_text_takes_its_title_or_is_refused() {
        let (questions, rejected) = check("::What is 2+2?::{#4}\n\n{#4}\n\n::Unclosed {#4}");
        assert_eq!(questions[0].prompt, "What is 2+2?");
        let reasons: Vec<&str> = rejected
            .iter()
            .map(|(_, _, reason)| reason.as_str())
            .collect();
        assert_eq!(
            reasons,
            [
                "question has no text",
                "title opened with `::` is not closed"
            ]
        );
    }

    #[test]
    fn several_answer_blocks_in_one_question_are_refused() {
        let (_, rejected) = check("A {=x} and B {=y}.");
        assert_eq!(
            rejected[0].2,
            "question has 2 answer blocks, only one is supported"
        );
    }

    #[test]
    fn the_paper_is_named_by_the_caller() {
        let report = read("Q {T}", "exams/term1.gift", "term-1").unwrap();
        let paper = &report.papers[0];
        assert_eq!(
            (paper.id.as_str(), paper.title.as_str()),
            ("term-1", "exams/term1.gift")
        );
        assert_eq!(paper.source, "exams/term1.gift");
    }
}
