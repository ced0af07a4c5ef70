//! What participants and admins read, through the shared cache: the olympiad listing,
//! papers' public questions (never their keys) and finished sessions' result rows. A miss,
//! an unreachable cache and an undecodable entry all fall back to the store, so the cache
//! can make a read faster but never change what it returns.

mod keys;
mod rows;

use std::sync::Arc;
use std::time::Duration;

use storage::cache::Cache;

use crate::catalog::{Catalog, CatalogError};
use crate::domain::olympiad::Olympiad;
use crate::domain::question::PublicQuestion;

pub(crate) use rows::row_sources;

/// The engine's typed view of the cache. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ReadCache {
    cache: Arc<dyn Cache>,
}

impl ReadCache {
    pub(crate) fn new(cache: Arc<dyn Cache>) -> Self {
        Self { cache }
    }

    /// The olympiad listing, cached under the catalog's current generation.
    pub(crate) async fn olympiads(&self, catalog: &Catalog) -> Result<Vec<Olympiad>, CatalogError> {
        let key = keys::catalog(&catalog.generation().await?);
        if let Some(bytes) = self.get(&key).await {
            match storage::decode(&bytes) {
                Ok(olympiads) => return Ok(olympiads),
                Err(error) => undecodable(&key, &error),
            }
        }
        let olympiads = catalog.olympiads().await?;
        self.set(&key, &storage::encode(&olympiads), keys::CATALOG_TTL)
            .await;
        Ok(olympiads)
    }

    /// A paper's public questions, or `None` if there is no such paper. JSON, because the
    /// binary codec cannot read the flattened, internally tagged `PublicQuestion`.
    pub(crate) async fn public_paper(
        &self,
        catalog: &Catalog,
        paper_id: &str,
    ) -> Result<Option<Vec<PublicQuestion>>, CatalogError> {
        let key = keys::public_paper(&catalog.generation().await?, paper_id);
        if let Some(bytes) = self.get(&key).await {
            match serde_json::from_slice(&bytes) {
                Ok(questions) => return Ok(Some(questions)),
                Err(error) => undecodable(&key, &error),
            }
        }
        let Some(paper) = catalog.paper(paper_id).await? else {
            return Ok(None);
        };
        let questions = paper.public_questions();
        if let Ok(json) = serde_json::to_vec(&questions) {
            self.set(&key, &json, keys::PAPER_TTL).await;
        }
        Ok(Some(questions))
    }

    /// The cached value, or `None`. A refused key means the value is never cached.
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.cache.get(key).await {
            Ok(value) => value,
            Err(error) => {
                tracing::debug!(key, %error, "not cached: key refused");
                None
            }
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        if let Err(error) = self.cache.set(key, value, ttl).await {
            tracing::debug!(key, %error, "not cached: entry refused");
        }
    }
}

/// An entry that does not decode is treated as a miss and overwritten with a fresh value.
fn undecodable(key: &str, error: &dyn std::fmt::Display) {
    tracing::warn!(key, %error, "cached value undecodable; read from the store instead");
}
