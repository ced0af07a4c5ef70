//! Cache keys and lifetimes, and why no cached value can be stale: every key names the
//! exact version of what it caches, so nothing is ever deleted to invalidate it.
//!
//! - `olymp:1:catalog:{generation}` — the olympiad listing (10 minutes).
//! - `olymp:1:paper:{generation}:{paper}` — a paper's public questions, never its keys
//!   (an hour).
//! - `olymp:1:row:{session}:{paper fingerprint}` — a finished session's result row,
//!   unranked (a day).
//!
//! The catalog generation is a random id stored in the document store in the same atomic
//! write as every olympiad or paper change (`catalog::generation_key`), and read from the
//! store on every request: a change, from this node, another node or `olymp import`, moves
//! every reader to new keys at once, even if memcached missed it. A result row is cached
//! only once its session has finished, after which its events never change ("nothing is
//! accepted after `Finished`"); the participant and registration are never rewritten, and
//! the paper it was scored against is in the key. Rows of sessions in progress change with
//! every answer and are never cached. Extra time is only granted in progress, so it needs
//! no invalidation either.
//!
//! Bump `FORMAT` whenever a cached value's encoding or meaning changes (a new row field,
//! a scoring fix): nodes of different versions then never read each other's entries.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::domain::paper::Paper;

/// Version of every cached value's encoding and meaning.
const FORMAT: u32 = 1;

pub(crate) const CATALOG_TTL: Duration = Duration::from_secs(10 * 60);
pub(crate) const PAPER_TTL: Duration = Duration::from_secs(3600);
pub(crate) const ROW_TTL: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn catalog(generation: &str) -> String {
    format!("olymp:{FORMAT}:catalog:{generation}")
}

/// Papers whose id makes the key invalid (too long, spaces) are refused by the cache and
/// so simply not cached.
pub(crate) fn public_paper(generation: &str, paper_id: &str) -> String {
    format!("olymp:{FORMAT}:paper:{generation}:{paper_id}")
}

pub(crate) fn result_row(session_id: &str, paper_fingerprint: &str) -> String {
    format!("olymp:{FORMAT}:row:{session_id}:{paper_fingerprint}")
}

/// 128 bits of the SHA-256 of the paper as stored, keys included, in hex: a paper
/// re-imported with any change (a corrected key) gets a new fingerprint.
pub(crate) fn paper_fingerprint(paper: &Paper) -> String {
    let digest = Sha256::digest(storage::encode(paper));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(key: &str) -> Paper {
        use crate::domain::question::{Choice, Question, QuestionKind};
        let options = ["А", "Б"].map(|label| Choice {
            label: label.into(),
            text: label.into(),
        });
        Paper {
            id: "p".into(),
            title: "t".into(),
            source: "s".into(),
            questions: vec![Question {
                id: "q1".into(),
                prompt: "?".into(),
                image_url: None,
                points: 1,
                kind: QuestionKind::SingleChoice {
                    options: options.to_vec(),
                    correct: key.into(),
                },
            }],
        }
    }

    #[test]
    fn a_corrected_answer_key_changes_the_paper_fingerprint() {
        let first = paper_fingerprint(&paper("А"));
        assert_eq!(first, paper_fingerprint(&paper("А")));
        assert_ne!(first, paper_fingerprint(&paper("Б")));
        assert_eq!(first.len(), 32);
    }

    #[test]
    fn keys_fit_memcached_for_uuid_sized_ids() {
        let id = "0123456789abcdef0123456789abcdef";
        let row = result_row(id, &paper_fingerprint(&paper("А")));
        assert!(row.len() <= storage::cache::KEY_BYTES_MAX, "{row}");
        assert!(catalog(id).len() <= storage::cache::KEY_BYTES_MAX);
    }
}
