//! Importers run against the real files in the shared test data, read in place.

mod gift_moodle;
mod gift_peg;
mod zno;

use std::path::PathBuf;

/// The shared data folder beside the workspace.
fn data_path(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(relative)
}

fn read_data(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
