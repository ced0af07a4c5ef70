//! An exam paper: the ordered questions one grade sits, as imported from a question bank.

use serde::{Deserialize, Serialize};

use super::question::{PublicQuestion, Question};

/// A paper with its keys. Stored whole; participants only ever see `public_questions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Paper {
    /// Unique across the deployment.
    pub id: String,
    pub title: String,
    /// Where the questions came from (a file name and the exam's own id), for audit.
    pub source: String,
    pub questions: Vec<Question>,
}

impl Paper {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    pub fn max_points(&self) -> u32 {
        self.questions.iter().map(|q| q.points).sum()
    }

    pub fn public_questions(&self) -> Vec<PublicQuestion> {
        self.questions.iter().map(Question::public).collect()
    }
}
