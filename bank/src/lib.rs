//! Question-bank formats: pure importers from a file's text to the engine's papers, each
//! question either taken whole or named in the report with its reason. No disk, no
//! network: image references travel as data.

mod error;
mod report;

pub mod gift;
pub mod zno;

pub use error::FormatError;
pub use report::{ImportReport, Rejected};
