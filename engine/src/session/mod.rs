//! Live exam sessions: the event stream, the state machine built from it, and the actor
//! that owns one session while it is live, with its registry and supervisor.

pub mod actor;
pub mod context;
pub mod events;
pub mod push;
pub mod registry;
pub mod state;
pub mod supervisor;
