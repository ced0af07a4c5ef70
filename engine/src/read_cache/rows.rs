//! Result rows of finished sessions in the cache: looked up and stored in batches, keyed
//! by session and by the fingerprint of the paper each row is scored against.

use std::collections::HashMap;
use std::sync::Arc;

use super::{ReadCache, keys, undecodable};
use crate::domain::paper::Paper;
use crate::domain::participant::Registration;
use crate::results::ResultRow;
use crate::session::context::SessionContext;
use crate::session::state::SessionError;

/// Where one registration's row comes from: its cache key and the paper that scores it.
pub(crate) struct RowSource {
    pub key: String,
    pub paper: Arc<Paper>,
}

/// The row source of each registration, in order. Each paper is fingerprinted once.
pub(crate) async fn row_sources(
    context: &SessionContext,
    registrations: &[Registration],
) -> Result<Vec<RowSource>, SessionError> {
    let mut papers: HashMap<&str, (Arc<Paper>, String)> = HashMap::new();
    let mut sources = Vec::with_capacity(registrations.len());
    for registration in registrations {
        let paper_id = registration.paper_id.as_str();
        if !papers.contains_key(paper_id) {
            let paper = context.paper(paper_id).await?;
            let fingerprint = keys::paper_fingerprint(&paper);
            papers.insert(paper_id, (paper, fingerprint));
        }
        let (paper, fingerprint) = &papers[paper_id];
        sources.push(RowSource {
            key: keys::result_row(&registration.session_id, fingerprint),
            paper: Arc::clone(paper),
        });
    }
    Ok(sources)
}

impl ReadCache {
    /// The cached row of each source, in order; `None` where absent or undecodable.
    pub(crate) async fn final_rows(&self, sources: &[RowSource]) -> Vec<Option<ResultRow>> {
        let keys: Vec<String> = sources.iter().map(|s| s.key.clone()).collect();
        let values = match self.cache.get_many(&keys).await {
            Ok(values) => values,
            Err(error) => {
                tracing::debug!(%error, "result rows not cached: key refused");
                vec![None; keys.len()]
            }
        };
        keys.iter()
            .zip(values)
            .map(|(key, value)| {
                let decoded = storage::decode::<ResultRow>(&value?);
                decoded.map_err(|error| undecodable(key, &error)).ok()
            })
            .collect()
    }

    /// Caches rows of sessions that have finished. The caller guarantees each is final.
    pub(crate) async fn keep_final_rows(&self, rows: Vec<(String, ResultRow)>) {
        if rows.is_empty() {
            return;
        }
        let entries: Vec<(String, Vec<u8>)> = rows
            .into_iter()
            .map(|(key, row)| (key, storage::encode(&row)))
            .collect();
        if let Err(error) = self.cache.set_many(&entries, keys::ROW_TTL).await {
            tracing::debug!(%error, "result rows not cached: entry refused");
        }
    }
}
