//! Noticing what crash recovery did. fjall drops a journal's torn or corrupt tail when it
//! opens (nothing before the tail is touched); this module makes that visible, because an
//! operator should know a crash cut a write short. Journals are preallocated and
//! zero-filled, so a journal's data ends at its last non-zero byte.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes read per step when looking for the end of a journal's data.
const SCAN_CHUNK_BYTES: u64 = 64 * 1024;

/// The journal files (`*.jnl`) of a data directory.
pub(super) fn journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "jnl"))
        .collect();
    found.sort_by_key(|path| journal_number(path));
    found
}

fn journal_number(path: &Path) -> u64 {
    path.file_stem()
        .and_then(|s| s.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// Where each journal's data ends.
pub(super) fn journal_data_ends(dir: &Path) -> BTreeMap<PathBuf, u64> {
    journals(dir)
        .into_iter()
        .filter_map(|path| Some((path.clone(), data_end(&path).ok()?)))
        .collect()
}

/// Offset just past the last non-zero byte of a file.
pub(super) fn data_end(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut end = file.metadata()?.len();
    let mut chunk = vec![0u8; SCAN_CHUNK_BYTES as usize];
    while end > 0 {
        let start = end.saturating_sub(SCAN_CHUNK_BYTES);
        let length = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..length])?;
        if let Some(last) = chunk[..length].iter().rposition(|&b| b != 0) {
            return Ok(start + last as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Warns about every journal whose data recovery shortened.
pub(super) fn warn_if_tail_dropped(before: &BTreeMap<PathBuf, u64>) {
    for (path, old_end) in before {
        let new_end = data_end(path).unwrap_or(0);
        if new_end < *old_end {
            let dropped_bytes = old_end - new_end;
            let journal = path.display();
            tracing::warn!(%journal, dropped_bytes, "recovery dropped a torn journal tail");
        }
    }
}
