//! The filesystem blob store: `<root>/<session>/<sha256>.<ext>`, written to a temporary
//! file, fsynced, renamed into place and the directory fsynced, so a stored blob is
//! durable and never half-written. Each session has a byte quota.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use sha2::{Digest, Sha256};

use super::{BlobError, BlobStore, MediaType, StoredBlob};

#[derive(Clone, Copy, Debug)]
pub struct FsBlobLimits {
    pub max_blob_bytes: u64,
    pub max_session_bytes: u64,
    /// All evidence together; one participant's uploads cannot take the whole disk.
    pub max_total_bytes: u64,
    /// Free space the filesystem must keep after a write, for the event store: answers
    /// matter more than pictures.
    pub min_free_bytes: u64,
}

impl Default for FsBlobLimits {
    fn default() -> Self {
        Self {
            max_blob_bytes: 2 * 1024 * 1024,
            max_session_bytes: 256 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024 * 1024,
            min_free_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Evidence on the local filesystem. Cheap to clone.
#[derive(Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    limits: FsBlobLimits,
    /// Bytes stored per session, counted from disk on first use.
    usage: Arc<DashMap<String, u64>>,
    /// Bytes stored in all, counted from disk on first use.
    total: Arc<std::sync::Mutex<Option<u64>>>,
}

fn io_error(error: std::io::Error) -> BlobError {
    BlobError::Io(error.to_string())
}

fn check_namespace(namespace: &str) -> Result<(), BlobError> {
    let safe = !namespace.is_empty()
        && namespace.len() <= 128
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if safe {
        Ok(())
    } else {
        Err(BlobError::BadNamespace(namespace.to_owned()))
    }
}

/// Bytes of every file one level below each directory under `root`.
fn tree_bytes(root: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| directory_bytes(&e.path()))
        .sum()
}

/// Space the filesystem holding `path` has free for this process; 0 when unknown, which
/// refuses the write (evidence never risks the answers' disk).
fn free_bytes(path: &Path) -> u64 {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    rustix::fs::statvfs(existing).map_or(0, |s| s.f_bavail.saturating_mul(s.f_frsize))
}

fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>, limits: FsBlobLimits) -> Self {
        Self {
            root: root.into(),
            limits,
            usage: Arc::new(DashMap::new()),
            total: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    fn write_durably(root: &Path, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), BlobError> {
        use std::io::Write as _;
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
            // The new session directory's entry must survive a power cut too.
            std::fs::File::open(root)
                .and_then(|d| d.sync_all())
                .map_err(io_error)?;
        }
        let final_path = dir.join(name);
        if final_path.exists() {
            return Ok(());
        }
        let temporary = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temporary).map_err(io_error)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io_error)?;
        std::fs::rename(&temporary, &final_path).map_err(io_error)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error)
    }

    fn put_blocking(&self, namespace: &str, bytes: &[u8]) -> Result<StoredBlob, BlobError> {
        let media_type = MediaType::sniff(bytes).ok_or(BlobError::UnknownType)?;
        let id = format!("{:x}", Sha256::digest(bytes));
        let dir = self.root.join(namespace);
        let name = format!("{id}.{}", media_type.extension());
        let mut stored = StoredBlob {
            id,
            media_type,
            bytes: bytes.len() as u64,
            newly_stored: false,
        };
        // The session's usage entry is held from here on, so that two uploads of the same
        // bytes cannot both find the file absent and both count it.
        let mut used = self
            .usage
            .entry(namespace.to_owned())
            .or_insert_with(|| directory_bytes(&dir));
        if dir.join(&name).exists() {
            return Ok(stored);
        }
        let limit_bytes = self.limits.max_session_bytes;
        if *used + stored.bytes > limit_bytes {
            return Err(BlobError::QuotaExceeded { limit_bytes });
        }
        let mut total = self
            .total
            .lock()
            .map_err(|_| BlobError::Io("usage lock".into()))?;
        let all = total.get_or_insert_with(|| tree_bytes(&self.root));
        if *all + stored.bytes > self.limits.max_total_bytes {
            return Err(BlobError::StoreFull);
        }
        if free_bytes(&self.root).saturating_sub(stored.bytes) < self.limits.min_free_bytes {
            return Err(BlobError::StoreFull);
        }
        Self::write_durably(&self.root, &dir, &name, bytes)?;
        *all += stored.bytes;
        *used += stored.bytes;
        stored.newly_stored = true;
        Ok(stored)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, namespace: &str, bytes: Vec<u8>) -> Result<StoredBlob, BlobError> {
        check_namespace(namespace)?;
        let limit_bytes = self.limits.max_blob_bytes;
        if bytes.len() as u64 > limit_bytes {
            return Err(BlobError::TooLarge { limit_bytes });
        }
        let (store, namespace) = (self.clone(), namespace.to_owned());
        tokio::task::spawn_blocking(move || store.put_blocking(&namespace, &bytes))
            .await
            .map_err(|error| BlobError::Io(error.to_string()))?
    }

    async fn get(
        &self,
        namespace: &str,
        id: &str,
    ) -> Result<Option<(MediaType, Vec<u8>)>, BlobError> {
        check_namespace(namespace)?;
        if id.len() != 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        for media_type in [MediaType::Jpeg, MediaType::Png, MediaType::Webp] {
            let path = self
                .root
                .join(namespace)
                .join(format!("{id}.{}", media_type.extension()));
            match tokio::fs::read(&path).await {
                Ok(bytes) => return Ok(Some((media_type, bytes))),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(io_error(error)),
            }
        }
        Ok(None)
    }

    async fn remove(&self, namespace: &str, id: &str) -> Result<(), BlobError> {
        check_namespace(namespace)?;
        let Some((media_type, bytes)) = self.get(namespace, id).await? else {
            return Ok(());
        };
        let path = self
            .root
            .join(namespace)
            .join(format!("{id}.{}", media_type.extension()));
        tokio::fs::remove_file(&path).await.map_err(io_error)?;
        let freed = bytes.len() as u64;
        if let Some(mut used) = self.usage.get_mut(namespace) {
            *used = used.saturating_sub(freed);
        }
        if let Ok(mut total) = self.total.lock()
            && let Some(all) = total.as_mut()
        {
            *all = all.saturating_sub(freed);
        }
        Ok(())
    }

    fn max_blob_bytes(&self) -> u64 {
        self.limits.max_blob_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];

    fn store(dir: &Path, max_blob_bytes: u64, max_session_bytes: u64) -> FsBlobStore {
        FsBlobStore::new(
            dir,
            FsBlobLimits {
                max_blob_bytes,
                max_session_bytes,
                max_total_bytes: 1024 * 1024,
                min_free_bytes: 0,
            },
        )
    }

    #[tokio::test]
    async fn evidence_stops_at_the_store_cap_and_before_the_disk_fills() {
        let dir = tempfile::tempdir().unwrap();
        let limits = |max_total_bytes, min_free_bytes| FsBlobLimits {
            max_blob_bytes: 1024,
            max_session_bytes: 1024,
            max_total_bytes,
            min_free_bytes,
        };
        let blobs = FsBlobStore::new(dir.path(), limits(20, 0));
        blobs.put("a", JPEG.to_vec()).await.unwrap();
        blobs.put("b", [JPEG, b"1"].concat()).await.unwrap();
        let third = blobs.put("c", [JPEG, b"22"].concat()).await;
        assert_eq!(
            third,
            Err(BlobError::StoreFull),
            "other sessions count against the cap"
        );
        // A fresh handle counts what is on disk.
        let reopened = FsBlobStore::new(dir.path(), limits(20, 0));
        assert_eq!(
            reopened.put("c", [JPEG, b"22"].concat()).await,
            Err(BlobError::StoreFull)
        );
        let no_room = FsBlobStore::new(dir.path(), limits(u64::MAX, u64::MAX));
        assert_eq!(
            no_room.put("d", [JPEG, b"3"].concat()).await,
            Err(BlobError::StoreFull)
        );
    }

    #[tokio::test]
    async fn removed_evidence_gives_its_bytes_back_to_the_session_and_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let limits = FsBlobLimits {
            max_blob_bytes: 1024,
            max_session_bytes: 100,
            max_total_bytes: 100,
            min_free_bytes: 0,
        };
        let blobs = FsBlobStore::new(dir.path(), limits);
        // Twenty times the caps pass through, each removed before the next.
        for round in 0..200u32 {
            let bytes = [JPEG, &round.to_be_bytes()].concat();
            let stored = blobs.put("s1", bytes).await.unwrap();
            blobs.remove("s1", &stored.id).await.unwrap();
        }
        assert!(blobs.put("s2", [JPEG, b"last"].concat()).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_bytes_uploaded_twice_at_once_are_stored_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path(), 1024, 1024 * 1024);
        for round in 0..100u32 {
            let bytes = [JPEG, &round.to_be_bytes()].concat();
            let (first, second) = tokio::join!(
                blobs.put("s1", bytes.clone()),
                blobs.put("s1", bytes.clone())
            );
            let newly = [first.unwrap(), second.unwrap()]
                .iter()
                .filter(|stored| stored.newly_stored)
                .count();
            assert_eq!(
                newly, 1,
                "round {round}: exactly one upload stores the file"
            );
        }
        let used = *blobs.usage.get("s1").unwrap();
        assert_eq!(
            used,
            100 * (JPEG.len() as u64 + 4),
            "each file counted once"
        );
    }

    #[tokio::test]
    async fn blobs_are_content_addressed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path(), 1024, 1024);
        let first = blobs.put("s1", JPEG.to_vec()).await.unwrap();
        let again = blobs.put("s1", JPEG.to_vec()).await.unwrap();
        assert!(
            first.newly_stored && !again.newly_stored,
            "the same bytes are stored once"
        );
        assert_eq!(first.id, again.id);
        assert_eq!(
            (first.media_type, first.bytes),
            (MediaType::Jpeg, JPEG.len() as u64)
        );
        let (media_type, bytes) = blobs.get("s1", &first.id).await.unwrap().unwrap();
        assert_eq!((media_type, bytes.as_slice()), (MediaType::Jpeg, JPEG));
        assert_eq!(
            blobs.get("s2", &first.id).await.unwrap(),
            None,
            "namespaces are apart"
        );
        blobs.remove("s1", &first.id).await.unwrap();
        assert_eq!(blobs.get("s1", &first.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn wrong_types_oversized_blobs_and_full_sessions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path(), 16, 20);
        assert_eq!(
            blobs.put("s", b"GIF89a".to_vec()).await,
            Err(BlobError::UnknownType)
        );
        let big = [JPEG, &[0u8; 20]].concat();
        assert_eq!(
            blobs.put("s", big).await,
            Err(BlobError::TooLarge { limit_bytes: 16 })
        );
        blobs.put("s", JPEG.to_vec()).await.unwrap();
        blobs.put("s", [JPEG, b"x"].concat()).await.unwrap();
        let third = blobs.put("s", [JPEG, b"yy"].concat()).await;
        assert_eq!(third, Err(BlobError::QuotaExceeded { limit_bytes: 20 }));
        assert_eq!(
            blobs.put("../etc", JPEG.to_vec()).await,
            Err(BlobError::BadNamespace("../etc".into()))
        );
        let leftovers = std::fs::read_dir(dir.path().join("s")).unwrap().count();
        assert_eq!(leftovers, 2, "refused blobs leave nothing behind");
    }
}
