//! Storage for Olymp: the event-store and document-store traits every backend implements,
//! the embedded backend (fjall with group commit), and the one codec for data at rest.

pub mod blob;
pub mod cache;
pub mod codec;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod document_store;
pub mod embedded;
pub mod event_store;
pub mod lease;
mod metrics;

pub use metrics::register as register_metrics;
#[cfg(feature = "scylla")]
pub mod scylla;

pub use codec::{CodecError, decode, encode};
pub use document_store::{DocumentStore, DocumentWrite};
pub use embedded::{EmbeddedConfig, EmbeddedStore, OpenError};
pub use event_store::{AppendOutcome, EventStore, NewEvent, RecordedEvent, StoreError};
pub use lease::{Lease, LeaseError, LeaseStore};
