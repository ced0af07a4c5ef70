//! The catalog: olympiads, papers, participants and registrations as documents in the
//! document store, encoded with the storage codec. Key layout:
//!
//! - `olympiad/{id}`, `paper/{id}`, `participant/{id}`
//! - `registration/{olympiad}/{participant}` and `session/{session}`: the same registration,
//!   found by olympiad (for results) or by session (for the actor)
//! - `active/{session}`: sessions in progress, for recovery after a restart
//! - `meta/catalog-generation`: a random id rewritten with every olympiad or paper change,
//!   which cached copies of catalog data are keyed by

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use storage::{DocumentStore, DocumentWrite, StoreError};

use crate::domain::olympiad::Olympiad;
use crate::domain::paper::Paper;
use crate::domain::participant::{Participant, Registration};

/// Most documents one listing returns; listings past it are cut and say so in a warning.
pub const LISTING_MAX: usize = 1_000_000;

/// Why a catalog read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("document {key} cannot be decoded: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Typed access to catalog documents.
#[derive(Clone)]
pub struct Catalog {
    documents: Arc<dyn DocumentStore>,
}

pub fn olympiad_key(id: &str) -> String {
    format!("olympiad/{id}")
}

pub fn paper_key(id: &str) -> String {
    format!("paper/{id}")
}

pub fn participant_key(id: &str) -> String {
    format!("participant/{id}")
}

pub fn registration_key(olympiad_id: &str, participant_id: &str) -> String {
    format!("registration/{olympiad_id}/{participant_id}")
}

pub fn session_key(session_id: &str) -> String {
    format!("session/{session_id}")
}

pub fn active_key(session_id: &str) -> String {
    format!("active/{session_id}")
}

pub const GENERATION_KEY: &str = "meta/catalog-generation";

/// The generation before the first change recorded one.
const INITIAL_GENERATION: &str = "initial";

/// A new catalog generation; belongs in the same write group as the change it marks.
pub fn new_generation() -> DocumentWrite {
    put(
        GENERATION_KEY.to_owned(),
        &uuid::Uuid::new_v4().simple().to_string(),
    )
}

/// A put of a typed document.
pub fn put<T: Serialize>(key: String, value: &T) -> DocumentWrite {
    DocumentWrite::Put {
        key,
        value: storage::encode(value),
    }
}

/// A create (fails the group if present) of a typed document.
pub fn create<T: Serialize>(key: String, value: &T) -> DocumentWrite {
    DocumentWrite::Create {
        key,
        value: storage::encode(value),
    }
}

impl Catalog {
    pub fn new(documents: Arc<dyn DocumentStore>) -> Self {
        Self { documents }
    }

    pub async fn write(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError> {
        self.documents.write(writes).await
    }

    async fn get<T: DeserializeOwned>(&self, key: String) -> Result<Option<T>, CatalogError> {
        let Some(bytes) = self.documents.get(&key).await? else {
            return Ok(None);
        };
        storage::decode(&bytes)
            .map(Some)
            .map_err(|error| CatalogError::Corrupt {
                key,
                reason: error.to_string(),
            })
    }

    async fn list<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, CatalogError> {
        let rows = self.documents.scan(prefix, LISTING_MAX).await?;
        if rows.len() == LISTING_MAX {
            tracing::warn!(
                prefix,
                limit = LISTING_MAX,
                "catalog listing cut at its limit"
            );
        }
        rows.into_iter()
            .map(|(key, bytes)| {
                storage::decode(&bytes).map_err(|error| CatalogError::Corrupt {
                    key,
                    reason: error.to_string(),
                })
            })
            .collect()
    }

    pub async fn olympiad(&self, id: &str) -> Result<Option<Olympiad>, CatalogError> {
        self.get(olympiad_key(id)).await
    }

    /// The current catalog generation (see `new_generation`).
    pub async fn generation(&self) -> Result<String, CatalogError> {
        let generation = self.get(GENERATION_KEY.to_owned()).await?;
        Ok(generation.unwrap_or_else(|| INITIAL_GENERATION.to_owned()))
    }

    pub async fn olympiads(&self) -> Result<Vec<Olympiad>, CatalogError> {
        self.list("olympiad/").await
    }

    pub async fn paper(&self, id: &str) -> Result<Option<Paper>, CatalogError> {
        self.get(paper_key(id)).await
    }

    pub async fn participant(&self, id: &str) -> Result<Option<Participant>, CatalogError> {
        self.get(participant_key(id)).await
    }

    pub async fn registration_by_session(
        &self,
        session_id: &str,
    ) -> Result<Option<Registration>, CatalogError> {
        self.get(session_key(session_id)).await
    }

    pub async fn registration(
        &self,
        olympiad_id: &str,
        participant_id: &str,
    ) -> Result<Option<Registration>, CatalogError> {
        self.get(registration_key(olympiad_id, participant_id))
            .await
    }

    pub async fn registrations(
        &self,
        olympiad_id: &str,
    ) -> Result<Vec<Registration>, CatalogError> {
        self.list(&format!("registration/{olympiad_id}/")).await
    }

    /// Ids of sessions marked in progress.
    pub async fn active_sessions(&self) -> Result<Vec<String>, CatalogError> {
        let rows = self.documents.scan("active/", LISTING_MAX).await?;
        Ok(rows
            .into_iter()
            .map(|(key, _)| key["active/".len()..].to_owned())
            .collect())
    }
}
