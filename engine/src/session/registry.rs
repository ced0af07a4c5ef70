//! The live-session registry: which actor owns which session on this node. At most one
//! actor per session: concurrent lookups of a session that is not live share one spawn.

use std::sync::Arc;

use dashmap::DashMap;
use ractor::{ActorId, ActorRef};
use tokio::sync::OnceCell;

use super::actor::SessionMsg;
use super::state::SessionError;

type Slot = Arc<OnceCell<ActorRef<SessionMsg>>>;

/// Session id → its actor, and actor id → session id for the supervisor.
#[derive(Default)]
pub struct Registry {
    live: DashMap<String, Slot>,
    by_actor: DashMap<ActorId, String>,
}

impl Registry {
    /// The session's live actor, spawning it with `spawn` if there is none. Callers that
    /// race on the same session wait for the one spawn; a failed spawn leaves no trace.
    pub async fn get_or_spawn<F, Fut>(
        &self,
        session_id: &str,
        spawn: F,
    ) -> Result<ActorRef<SessionMsg>, SessionError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<ActorRef<SessionMsg>, SessionError>>,
    {
        if let Some(actor) = self.actors_for(session_id) {
            return Ok(actor);
        }
        let slot = self.live.entry(session_id.to_owned()).or_default().clone();
        let spawn_and_record = || async {
            let actor = spawn().await?;
            self.by_actor.insert(actor.get_id(), session_id.to_owned());
            Ok(actor)
        };
        match slot.get_or_try_init(spawn_and_record).await {
            Ok(actor) => Ok(actor.clone()),
            Err(error) => {
                self.live
                    .remove_if(session_id, |_, current| Arc::ptr_eq(current, &slot));
                Err(error)
            }
        }
    }

    /// Forgets the actor if it is still the one registered for the session.
    pub fn remove(&self, session_id: &str, actor: ActorId) {
        self.by_actor.remove(&actor);
        self.live.remove_if(session_id, |_, slot| {
            slot.get().is_some_and(|current| current.get_id() == actor)
        });
    }

    pub fn session_of(&self, actor: ActorId) -> Option<String> {
        self.by_actor.get(&actor).map(|entry| entry.value().clone())
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The session's actor if it is live; never spawns.
    pub fn actors_for(&self, session_id: &str) -> Option<ActorRef<SessionMsg>> {
        self.live
            .get(session_id)
            .and_then(|slot| slot.get().cloned())
    }

    /// Every live actor, for shutdown.
    pub fn actors(&self) -> Vec<ActorRef<SessionMsg>> {
        self.live
            .iter()
            .filter_map(|entry| entry.value().get().cloned())
            .collect()
    }
}
