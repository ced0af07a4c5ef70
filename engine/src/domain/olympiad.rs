//! The olympiad: what is sat, by which grades, in which window, for how long, under which
//! proctoring policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::proctoring::ProctoringPolicy;

/// Languages an olympiad can be held in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kk,
    Ru,
    En,
    Uk,
}

/// An olympiad in the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Olympiad {
    /// Unique, URL-safe.
    pub id: String,
    pub title: String,
    pub subject: String,
    pub language: Language,
    /// The schedule window: sessions start no earlier than `opens_at_ms` and no session's
    /// deadline is later than `closes_at_ms`.
    pub opens_at_ms: u64,
    pub closes_at_ms: u64,
    pub duration_s: u64,
    /// Paper id per grade offered (1–11); the grades offered are this map's keys.
    pub papers: BTreeMap<u8, String>,
    pub proctoring: ProctoringPolicy,
}

impl Olympiad {
    pub fn grades(&self) -> impl Iterator<Item = u8> + '_ {
        self.papers.keys().copied()
    }

    pub fn paper_for(&self, grade: u8) -> Option<&str> {
        self.papers.get(&grade).map(String::as_str)
    }

    /// Checks the olympiad's own consistency before it is stored.
    pub fn validate(&self) -> Result<(), InvalidOlympiad> {
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(InvalidOlympiad::BadId(self.id.clone()));
        }
        if self.closes_at_ms <= self.opens_at_ms {
            return Err(InvalidOlympiad::EmptyWindow);
        }
        if self.duration_s == 0 {
            return Err(InvalidOlympiad::NoDuration);
        }
        if let Some(grade) = self.grades().find(|g| !(1..=11).contains(g)) {
            return Err(InvalidOlympiad::BadGrade(grade));
        }
        if self.papers.is_empty() {
            return Err(InvalidOlympiad::NoGrades);
        }
        Ok(())
    }
}

/// Why an olympiad cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOlympiad {
    #[error("olympiad id {0:?} must be non-empty ASCII letters, digits and dashes")]
    BadId(String),
    #[error("schedule window closes before it opens")]
    EmptyWindow,
    #[error("duration must be positive")]
    NoDuration,
    #[error("grade {0} is outside 1..=11")]
    BadGrade(u8),
    #[error("olympiad offers no grade")]
    NoGrades,
}
