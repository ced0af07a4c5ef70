//! What every session actor shares: the stores, cached papers and olympiads, the registry,
//! the supervisor, and the runtime session actors live on. Finding or spawning a
//! session's actor goes through here.

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorRef};
use storage::{EventStore, Lease, LeaseError, LeaseStore};

use super::actor::{SessionActor, SessionArgs, SessionMsg};
use super::events::SessionEvent;
use super::registry::Registry;
use super::state::{SessionError, SessionState};
use crate::catalog::{Catalog, CatalogError};
use crate::domain::olympiad::Olympiad;
use crate::domain::paper::Paper;

/// Timings of session actors, and how they own their sessions.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// A finished session with no connection stops its actor after this long.
    pub passivate_after_ms: u64,
    /// Leases when several nodes share one store; `None` when the node owns its store
    /// alone (the embedded store, whose data directory one process at a time can open).
    pub ownership: Option<Ownership>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            passivate_after_ms: 60_000,
            ownership: None,
        }
    }
}

/// Session ownership by lease. A node spawns a session's actor only after claiming the
/// lease on the session's stream, appends with the lease's fencing epoch, renews the lease
/// while the actor lives and gives it up when the actor stops. A node that lost the lease
/// (it paused longer than the lease lasts and another node took the session over) has its
/// next append refused by the store, and its actor stops without applying it.
#[derive(Clone)]
pub struct Ownership {
    pub leases: Arc<dyn LeaseStore>,
    /// This node's name, unique among the nodes sharing the store.
    pub node_id: String,
    /// How long a claim or renewal lasts.
    pub ttl_ms: u64,
    /// How often a live actor renews; well below `ttl_ms` (a third by default).
    pub renew_every_ms: u64,
}

impl Ownership {
    /// Leases of `ttl_ms`, renewed every third of it.
    pub fn new(leases: Arc<dyn LeaseStore>, node_id: impl Into<String>, ttl_ms: u64) -> Self {
        Self {
            leases,
            node_id: node_id.into(),
            ttl_ms,
            renew_every_ms: (ttl_ms / 3).max(1),
        }
    }

    /// Claims the session's stream for this node.
    pub async fn claim(&self, session_id: &str) -> Result<Lease, SessionError> {
        let stream = stream_name(session_id);
        let claimed = self
            .leases
            .claim(&stream, &self.node_id, crate::clock::now_ms(), self.ttl_ms)
            .await;
        claimed.map_err(|error| lease_failure(session_id, error))
    }
}

impl std::fmt::Debug for Ownership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ownership")
            .field("node_id", &self.node_id)
            .field("ttl_ms", &self.ttl_ms)
            .field("renew_every_ms", &self.renew_every_ms)
            .finish_non_exhaustive()
    }
}

/// What a failed claim or renewal means to the session's callers.
fn lease_failure(session_id: &str, error: LeaseError) -> SessionError {
    match error {
        LeaseError::Held { .. } | LeaseError::Lost { .. } => SessionError::ServedElsewhere,
        LeaseError::Store(error) => {
            tracing::error!(session_id, %error, "session lease unavailable");
            SessionError::StorageUnavailable
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
        // Claimed before the rebuild: from the claim on, the previous owner's appends are
        // refused, so the events read are all the session will ever have had from it.
        let lease = match &self.config.ownership {
            Some(ownership) => Some(ownership.claim(session_id).await?),
            None => None,
        };
        let state = self.rebuild(session_id).await?;
        let args = SessionArgs {
            session_id: session_id.to_owned(),
            context: Arc::clone(self),
            olympiad,
            paper,
            state,
            lease,
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
