//! Where rows live: the partition bucket of an event's sequence number, and the directory
//! and hash bucket of a document key. Pure functions, so the layout can be tested alone.

use crate::event_store::StoreError;

/// Sequence numbers per event partition. A session's stream stays in one or two partitions;
/// the audit stream, which grows without bound, moves to a new partition every 4,096 events.
pub(super) const EVENTS_PER_BUCKET: u64 = 4_096;

/// Hash buckets per document directory: a prefix scan reads this many partitions, and a
/// directory's documents are spread over them (a million participants make sixteen
/// partitions of roughly 12 MiB). Changing it moves every document: a migration.
pub(super) const DOCUMENT_BUCKETS: i32 = 16;

/// An event sequence number as CQL `bigint`; numbers past `i64::MAX` are refused.
pub(super) fn cql_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Failed(format!("sequence {seq} is too large")))
}

/// The partition bucket of an event.
pub(super) fn event_bucket(seq: u64) -> i64 {
    (seq / EVENTS_PER_BUCKET) as i64
}

/// The highest sequence number a bucket holds.
pub(super) fn last_seq_in_bucket(bucket: i64) -> u64 {
    (bucket as u64 + 1) * EVENTS_PER_BUCKET - 1
}

/// A document's directory: its key up to and including the last `/`, or empty.
pub(super) fn directory(key: &str) -> &str {
    key.rfind('/').map_or("", |slash| &key[..=slash])
}

/// A document's hash bucket within its directory (64-bit FNV-1a, stable across builds).
pub(super) fn document_bucket(key: &str) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % DOCUMENT_BUCKETS as u64) as i32
}

/// The (parent, child) directory pairs that make `directory` reachable from the root:
/// `a/b/` gives (``, `a/`) and (`a/`, `a/b/`). A prefix scan walks them downwards.
pub(super) fn directory_links(directory: &str) -> Vec<(&str, &str)> {
    let ends = directory.match_indices('/').map(|(at, _)| at + 1);
    let mut parent = "";
    let mut links = Vec::new();
    for end in ends {
        let child = &directory[..end];
        links.push((parent, child));
        parent = child;
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_4096_sequence_numbers() {
        assert_eq!(event_bucket(1), 0);
        assert_eq!(event_bucket(4_095), 0);
        assert_eq!(event_bucket(4_096), 1);
        assert_eq!(last_seq_in_bucket(0), 4_095);
        assert_eq!(last_seq_in_bucket(1), 8_191);
        assert!(cql_seq(u64::MAX).is_err());
    }

    #[test]
    fn a_document_directory_ends_at_its_last_slash() {
        assert_eq!(directory("registration/o1/p1"), "registration/o1/");
        assert_eq!(directory("olympiad/x"), "olympiad/");
        assert_eq!(directory("plain"), "");
        assert_eq!(directory("dir/"), "dir/");
    }

    #[test]
    fn document_buckets_are_stable_and_in_range() {
        assert_eq!(
            document_bucket("olympiad/demo"),
            document_bucket("olympiad/demo")
        );
        let buckets: std::collections::HashSet<i32> = (0..1_000)
            .map(|n| document_bucket(&format!("participant/{n}")))
            .collect();
        assert_eq!(
            buckets.len(),
            DOCUMENT_BUCKETS as usize,
            "keys spread over every bucket"
        );
        assert!(buckets.iter().all(|b| (0..DOCUMENT_BUCKETS).contains(b)));
    }

    #[test]
    fn directory_links_lead_from_the_root_to_the_directory() {
        assert_eq!(
            directory_links("registration/o1/"),
            vec![("", "registration/"), ("registration/", "registration/o1/")]
        );
        assert!(directory_links("").is_empty());
    }
}
