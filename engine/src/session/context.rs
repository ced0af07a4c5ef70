//! What every session actor shares: the stores, cached papers and olympiads, the registry,
//! the supervisor, and the runtime session actors live on. Finding or spawning a
//! session's actor goes through here.

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorRef};
use storage::EventStore;

use super::actor::{SessionActor, SessionArgs, SessionMsg};
use super::events::SessionEvent;
use super::registry::Registry;
use super::state::{SessionError, SessionState};
use crate::catalog::{Catalog, CatalogError};
use crate::domain::olympiad::Olympiad;
use crate::domain::paper::Paper;

/// Timings of session actors.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// A finished session with no connection stops its actor after this long.
    pub passivate_after_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            passivate_after_ms: 60_000,
        }
    }
}

/// The stream name of a session's events.
pub fn stream_name(session_id: &str) -> String {
    format!("s/{session_id}")
}

/// Shared by the engine and every session actor.
pub struct SessionContext {
    pub events: Arc<dyn EventStore>,
    pub catalog: Catalog,
    pub config: SessionConfig,
    pub registry: Registry,
    /// The runtime session actors are spawned on (never an HTTP worker's).
    pub runtime: tokio::runtime::Handle,
    /// Set once, right after the supervisor starts.
    pub supervisor: OnceLock<ActorCell>,
    papers: DashMap<String, Arc<Paper>>,
    olympiads: DashMap<String, Arc<Olympiad>>,
}

fn catalog_failure(error: CatalogError) -> SessionError {
    tracing::error!(%error, "catalog read failed");
    SessionError::StorageUnavailable
}

impl SessionContext {
    pub fn new(
        events: Arc<dyn EventStore>,
        catalog: Catalog,
        config: SessionConfig,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            events,
            catalog,
            config,
            registry: Registry::default(),
            runtime,
            supervisor: OnceLock::new(),
            papers: DashMap::new(),
            olympiads: DashMap::new(),
        }
    }

    /// The session's live actor, rebuilt from its events if it is not live.
    pub async fn session(
        self: &Arc<Self>,
        session_id: &str,
    ) -> Result<ActorRef<SessionMsg>, SessionError> {
        self.registry
            .get_or_spawn(session_id, || self.spawn(session_id))
            .await
    }

    async fn spawn(
        self: &Arc<Self>,
        session_id: &str,
    ) -> Result<ActorRef<SessionMsg>, SessionError> {
        let registration = self
            .catalog
            .registration_by_session(session_id)
            .await
            .map_err(catalog_failure)?
            .ok_or(SessionError::UnknownSession)?;
        let olympiad = self.olympiad(&registration.olympiad_id).await?;
        let paper = self.paper(&registration.paper_id).await?;
        let state = self.rebuild(session_id).await?;
        let args = SessionArgs {
            session_id: session_id.to_owned(),
            context: Arc::clone(self),
            olympiad,
            paper,
            state,
        };
        let supervisor = self.supervisor.get().cloned().ok_or(SessionError::Busy)?;
        let spawned =
            self.runtime
                .spawn(async move {
                    SessionActor::spawn_linked(None, SessionActor, args, supervisor).await
                })
                .await;
        match spawned {
            Ok(Ok((actor, _handle))) => Ok(actor),
            Ok(Err(error)) => {
                tracing::error!(session_id, %error, "session actor failed to start");
                Err(SessionError::Busy)
            }
            Err(error) => {
                tracing::error!(session_id, %error, "session spawn task failed");
                Err(SessionError::Busy)
            }
        }
    }

    /// Reads and folds the session's stream. An undecodable event stops the rebuild: a
    /// session is never resumed from a partial history.
    pub async fn rebuild(&self, session_id: &str) -> Result<SessionState, SessionError> {
        let recorded = self
            .events
            .read(&stream_name(session_id), 1)
            .await
            .map_err(|error| {
                tracing::error!(session_id, %error, "session events unreadable");
                SessionError::StorageUnavailable
            })?;
        let mut state = SessionState::default();
        for record in recorded {
            let event: SessionEvent = storage::decode(&record.body).map_err(|error| {
                tracing::error!(session_id, seq = record.seq, %error, "session event corrupt");
                SessionError::StorageUnavailable
            })?;
            state.apply(record.seq, &event);
        }
        Ok(state)
    }

    pub async fn olympiad(&self, id: &str) -> Result<Arc<Olympiad>, SessionError> {
        if let Some(found) = self.olympiads.get(id) {
            return Ok(Arc::clone(&found));
        }
        let olympiad = self.catalog.olympiad(id).await.map_err(catalog_failure)?;
        let olympiad = Arc::new(olympiad.ok_or(SessionError::UnknownSession)?);
        self.olympiads.insert(id.to_owned(), Arc::clone(&olympiad));
        Ok(olympiad)
    }

    pub async fn paper(&self, id: &str) -> Result<Arc<Paper>, SessionError> {
        if let Some(found) = self.papers.get(id) {
            return Ok(Arc::clone(&found));
        }
        let paper = self.catalog.paper(id).await.map_err(catalog_failure)?;
        let paper = Arc::new(paper.ok_or(SessionError::UnknownSession)?);
        self.papers.insert(id.to_owned(), Arc::clone(&paper));
        Ok(paper)
    }

    /// Drops cached copies after the catalog changed.
    pub fn forget_cached(&self, olympiad_id: Option<&str>, paper_id: Option<&str>) {
        if let Some(id) = olympiad_id {
            self.olympiads.remove(id);
        }
        if let Some(id) = paper_id {
            self.papers.remove(id);
        }
    }

    /// Sends a message to the session's actor, respawning it once if it stopped between
    /// the lookup and the send (passivation).
    pub async fn send(
        self: &Arc<Self>,
        session_id: &str,
        build: impl Fn() -> SessionMsg,
    ) -> Result<(), SessionError> {
        for _ in 0..2 {
            let actor = self.session(session_id).await?;
            match actor.send_message(build()) {
                Ok(()) => return Ok(()),
                Err(_) => self.registry.remove(session_id, actor.get_id()),
            }
        }
        Err(SessionError::Busy)
    }
}
