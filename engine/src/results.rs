//! Results of an olympiad, computed from the session streams: score, time used, status
//! and violations per participant, ranked per grade.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::proctoring::ViolationKind;
use crate::session::state::{SessionState, Status};

/// One participant's line in the results. Cached, unranked, once its session finished
/// (`read_cache`); a change to its fields must bump the cache format there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Competition rank within the grade ("1224"): finished sessions by score, then by
    /// time used; `None` for sessions not finished or terminated.
    pub rank: Option<u32>,
    pub session_id: String,
    pub participant_id: String,
    pub name: String,
    pub school: String,
    pub region: String,
    pub grade: u8,
    pub status: Status,
    pub score: u32,
    pub max_score: u32,
    pub answered: usize,
    pub time_used_s: Option<u64>,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub violations: BTreeMap<ViolationKind, u32>,
    pub violations_total: u32,
    /// Snapshots and screen captures stored for the session.
    pub evidence_count: usize,
    pub flagged: bool,
}

/// The per-session facts a row is built from.
pub struct RowInput<'a> {
    pub session_id: &'a str,
    pub participant_id: &'a str,
    pub name: &'a str,
    pub school: &'a str,
    pub region: &'a str,
    pub grade: u8,
    pub state: &'a SessionState,
    pub score: u32,
    pub max_score: u32,
}

pub fn row(input: RowInput<'_>) -> ResultRow {
    let state = input.state;
    let time_used_s = match (state.started_at_ms, state.finished_at_ms) {
        (Some(start), Some(end)) => Some(end.saturating_sub(start) / 1000),
        _ => None,
    };
    ResultRow {
        rank: None,
        session_id: input.session_id.to_owned(),
        participant_id: input.participant_id.to_owned(),
        name: input.name.to_owned(),
        school: input.school.to_owned(),
        region: input.region.to_owned(),
        grade: input.grade,
        status: state.status(),
        score: input.score,
        max_score: input.max_score,
        answered: state.answers.len(),
        time_used_s,
        started_at_ms: state.started_at_ms,
        finished_at_ms: state.finished_at_ms,
        violations: state.violations.clone(),
        violations_total: state.violations.values().sum(),
        evidence_count: state.evidence.values().map(|ids| ids.len()).sum(),
        flagged: state.flagged,
    }
}

/// Sorts rows by grade, then rank order, and assigns competition ranks per grade.
pub fn rank(rows: &mut [ResultRow]) {
    let ranked = |row: &ResultRow| matches!(row.status, Status::Submitted | Status::Expired);
    rows.sort_by(|a, b| {
        a.grade
            .cmp(&b.grade)
            .then(ranked(b).cmp(&ranked(a)))
            .then(b.score.cmp(&a.score))
            .then(a.time_used_s.cmp(&b.time_used_s))
            .then(a.session_id.cmp(&b.session_id))
    });
    let mut previous: Option<(u8, u32, Option<u64>, u32)> = None;
    let mut position_in_grade = 0u32;
    let mut current_grade = None;
    for row in rows.iter_mut().filter(|row| ranked(row)) {
        if current_grade != Some(row.grade) {
            current_grade = Some(row.grade);
            position_in_grade = 0;
            previous = None;
        }
        position_in_grade += 1;
        let rank = match previous {
            Some((grade, score, time, rank))
                if grade == row.grade && score == row.score && time == row.time_used_s =>
            {
                rank
            }
            _ => position_in_grade,
        };
        row.rank = Some(rank);
        previous = Some((row.grade, row.score, row.time_used_s, rank));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, grade: u8, status: Status, score: u32, time: u64) -> ResultRow {
        let state = SessionState::default();
        let mut row = row(RowInput {
            session_id: id,
            participant_id: id,
            name: id,
            school: "",
            region: "",
            grade,
            state: &state,
            score,
            max_score: 10,
        });
        row.status = status;
        row.time_used_s = Some(time);
        row
    }

    #[test]
    fn ties_share_a_rank_and_ranks_restart_per_grade() {
        let mut rows = vec![
            result("a", 9, Status::Submitted, 5, 100),
            result("b", 9, Status::Submitted, 7, 300),
            result("c", 9, Status::Expired, 5, 100),
            result("d", 9, Status::Submitted, 5, 200),
            result("e", 10, Status::Submitted, 1, 10),
            result("f", 9, Status::InProgress, 9, 10),
            result("g", 9, Status::Terminated, 9, 10),
        ];
        rank(&mut rows);
        let ranks: Vec<_> = rows
            .iter()
            .map(|r| (r.session_id.as_str(), r.rank))
            .collect();
        assert_eq!(
            ranks,
            vec![
                ("b", Some(1)),
                ("a", Some(2)),
                ("c", Some(2)),
                ("d", Some(4)),
                ("f", None),
                ("g", None),
                ("e", Some(1)),
            ]
        );
    }
}
