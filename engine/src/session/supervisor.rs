//! The session supervisor: parent of every session actor. When one fails (a panic in a
//! handler), it forgets the dead actor and rebuilds the session from its events, so that
//! a running exam keeps its deadline timer.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::context::SessionContext;

/// The supervisor holds nothing but the shared context.
pub struct SessionSupervisor;

/// The supervisor takes no commands; it only hears about its children.
pub enum SupervisorMsg {}

impl Actor for SessionSupervisor {
    type Msg = SupervisorMsg;
    type State = Arc<SessionContext>;
    type Arguments = Arc<SessionContext>;

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        context: Arc<SessionContext>,
    ) -> Result<Arc<SessionContext>, ActorProcessingErr> {
        Ok(context)
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        context: &mut Arc<SessionContext>,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ActorFailed(cell, error) = event else {
            return Ok(());
        };
        let Some(session_id) = context.registry.session_of(cell.get_id()) else {
            return Ok(());
        };
        tracing::error!(session_id, %error, "session actor failed; rebuilding it from its events");
        context.registry.remove(&session_id, cell.get_id());
        let context = Arc::clone(context);
        tokio::spawn(async move {
            if let Err(error) = context.session(&session_id).await {
                tracing::error!(session_id, %error, "session could not be rebuilt");
            }
        });
        Ok(())
    }
}
