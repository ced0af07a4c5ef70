//! Storage for Olymp: the event-store and document-store traits every backend implements,
//! the embedded backend (fjall with group commit), and the one codec for data at rest.

pub mod codec;
pub mod document_store;
pub mod embedded;
pub mod event_store;
mod metrics;

pub use codec::{CodecError, decode, encode};
pub use document_store::{DocumentStore, DocumentWrite};
pub use embedded::{EmbeddedConfig, EmbeddedStore, OpenError};
pub use event_store::{AppendOutcome, EventStore, NewEvent, RecordedEvent, StoreError};
