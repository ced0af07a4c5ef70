//! Reader for the ZNO mathematics exams as published by the NLPForUA project: a JSON list
//! of tests, one paper each, with Cyrillic option labels and decimal-comma number keys.

mod locate;
mod raw;
mod task;

use std::collections::HashSet;

use engine::domain::paper::Paper;
use serde_json::error::Category;

use crate::{FormatError, ImportReport, Rejected};
use raw::RawTest;

/// Reads the whole file. `source_name` names it in each paper's `source`, for audit.
///
/// Test `<id>` becomes paper `zno-math-<id>`. The task the exam numbers `n` (its 0-based
/// `task_id` plus one) becomes question `q<n>`, or `q<n>.1`, `q<n>.2`, ... when its written
/// answer has several parts. Single choice is worth one point, matching one per pair, a
/// numeric part two. A task without a usable key is rejected with the line it opens on.
pub fn read(json: &str, source_name: &str) -> Result<ImportReport, FormatError> {
    let tests: Vec<RawTest> = serde_json::from_str(json).map_err(format_error)?;
    let test_ids = check_ids(&tests)?;

    let lines = locate::task_lines(json).filter(|lines| {
        lines.len() == tests.len()
            && lines
                .iter()
                .zip(&tests)
                .all(|(found, test)| found.len() == test.tasks.len())
    });
    let mut report = ImportReport {
        papers: Vec::new(),
        rejected: Vec::new(),
    };
    for (index, (test, test_id)) in tests.iter().zip(&test_ids).enumerate() {
        let task_lines = lines.as_ref().map(|lines| lines[index].as_slice());
        let (paper, mut rejected) = paper(test, test_id, source_name, task_lines);
        report.papers.push(paper);
        report.rejected.append(&mut rejected);
    }
    Ok(report)
}

fn paper(
    test: &RawTest,
    test_id: &str,
    source_name: &str,
    lines: Option<&[usize]>,
) -> (Paper, Vec<Rejected>) {
    let id = format!("zno-math-{test_id}");
    let mut questions = Vec::new();
    let mut rejected = Vec::new();
    for (index, raw_task) in test.tasks.iter().enumerate() {
        match task::convert(raw_task) {
            Ok(mut converted) => questions.append(&mut converted),
            Err(problem) => rejected.push(Rejected {
                paper_id: id.clone(),
                question_number: raw_task.task_id + 1,
                line: lines.map(|lines| lines[index]),
                reason: problem.to_string(),
            }),
        }
    }
    let paper = Paper {
        id,
        title: format!("ZNO mathematics {test_id}"),
        source: format!("{source_name}#{test_id}"),
        questions,
    };
    (paper, rejected)
}

/// Returns the test ids as they go into paper ids, which must be unique and plain. Task
/// ids become question ids and must be unique too; a task count that disagrees with
/// `num_tasks` means the file lost tasks, and a paper must not silently lack them.
fn check_ids(tests: &[RawTest]) -> Result<Vec<String>, FormatError> {
    let mut test_ids = Vec::with_capacity(tests.len());
    for test in tests {
        let test_id = test.test_id.to_text();
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if test_id.is_empty() || !test_id.chars().all(plain) {
            return Err(FormatError::BadTestId { test_id });
        }
        if test_ids.contains(&test_id) {
            return Err(FormatError::RepeatedTest { test_id });
        }
        if test.num_tasks != test.tasks.len() {
            let (declared, listed) = (test.num_tasks, test.tasks.len());
            return Err(FormatError::TaskCount {
                test_id,
                declared,
                listed,
            });
        }
        let mut task_ids = HashSet::with_capacity(test.tasks.len());
        if let Some(task) = test
            .tasks
            .iter()
            .find(|task| !task_ids.insert(task.task_id))
        {
            return Err(FormatError::RepeatedTask {
                test_id,
                task_id: task.task_id,
            });
        }
        test_ids.push(test_id);
    }
    Ok(test_ids)
}

fn format_error(error: serde_json::Error) -> FormatError {
    let (line, column, detail) = (error.line(), error.column(), error.to_string());
    match error.classify() {
        Category::Data => FormatError::Layout {
            line,
            column,
            detail,
        },
        Category::Io | Category::Syntax | Category::Eof => FormatError::Json {
            line,
            column,
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of one test with the given id, declared count and task ids; every task is a
    /// one-part numeric task keyed "1".
    fn file(test_id: &str, num_tasks: usize, task_ids: &[usize]) -> String {
        let tasks: Vec<String> = task_ids
            .iter()
            .map(|id| {
                let key = if *id == 1 { "[]" } else { r#"["1"]"# };
                format!(
                    "\n    {{\"task_id\": {id}, \"question\": \"?\", \"answers\": [],\n     \
                     \"answer_vheader\": null, \"answer_hheader\": null, \
                     \"correct_answer\": {key}, \"with_photo\": false}}"
                )
            })
            .collect();
        format!(
            "[\n  {{\"link\": \"x\", \"test_id\": {test_id}, \"num_tasks\": {num_tasks}, \
             \"tasks\": [{}\n  ]}}\n]",
            tasks.join(",")
        )
    }

    #[test]
    fn rejected_tasks_carry_their_paper_number_and_line() {
        let report = read(&file("\"7\"", 3, &[0, 1, 2]), "f.json").unwrap();
        assert_eq!(report.papers[0].id, "zno-math-7");
        assert_eq!(report.papers[0].questions.len(), 2);
        let rejected = Rejected {
            paper_id: "zno-math-7".into(),
            question_number: 2,
            line: Some(5),
            reason: "no answer key".into(),
        };
        assert_eq!(report.rejected, vec![rejected]);
    }

    #[test]
    fn numeric_test_ids_are_accepted_too() {
        let report = read(&file("12", 1, &[0]), "f.json").unwrap();
        assert_eq!(report.papers[0].source, "f.json#12");
    }

    #[test]
    fn broken_json_is_reported_with_its_position() {
        let error = read("[\n  {\"test_id\": \"1\",,}\n]", "f.json").unwrap_err();
        let FormatError::Json { line, column, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!((*line, *column), (2, 19));
        assert!(error.to_string().starts_with("invalid JSON: "), "{error}");

        let cut = read("[{\"test_id\": \"1\"", "f.json").unwrap_err();
        assert!(matches!(cut, FormatError::Json { line: 1, .. }), "{cut:?}");
    }

    #[test]
    fn json_of_another_layout_is_reported_as_such() {
        let error = read("{\"tests\": []}", "f.json").unwrap_err();
        assert!(
            matches!(error, FormatError::Layout { line: 1, .. }),
            "{error:?}"
        );
        let missing = read(r#"[{"test_id": "1", "tasks": []}]"#, "f.json").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "not a list of ZNO tests: missing field `num_tasks` at line 1 column 30"
        );
    }

    #[test]
    fn inconsistent_ids_and_counts_refuse_the_file() {
        let lost = read(&file("\"7\"", 4, &[0, 1, 2]), "f.json").unwrap_err();
        assert_eq!(lost.to_string(), "test 7 declares 4 tasks but lists 3");
        let twice = read(&file("\"7\"", 2, &[0, 0]), "f.json").unwrap_err();
        assert_eq!(twice.to_string(), "test 7 lists task 0 more than once");
        let odd = read(&file("\"7 b\"", 1, &[0]), "f.json").unwrap_err();
        assert_eq!(odd.to_string(), "test id \"7 b\" cannot name a paper");

        let one = file("\"7\"", 1, &[0]);
        let repeated = format!("[{}, {}]", &one[1..one.len() - 1], &one[1..one.len() - 1]);
        let error = read(&repeated, "f.json").unwrap_err();
        assert_eq!(
            error,
            FormatError::RepeatedTest {
                test_id: "7".into()
            }
        );
    }
}
