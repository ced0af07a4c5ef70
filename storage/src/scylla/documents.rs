//! `DocumentStore` on ScyllaDB. A document lives in partition (directory, hash bucket);
//! `document_dirs` links each directory to its parent, so a prefix scan reads the prefix's
//! directory and the directories below it, and nothing else.
//!
//! A group's documents usually span partitions (a registration writes `participant/…`,
//! `registration/…` and `session/…`), and a conditional batch cannot, so a group is applied
//! in two steps. First each `Create`, in key order, is its own lightweight transaction
//! (`IF NOT EXISTS`, tagged with the group's id); if one finds its key taken, the creates
//! already made are taken back (`IF group_id = ?`) and the group fails with `Conflict`,
//! having changed nothing. Then the puts and deletes are applied: one statement, or a logged
//! batch when there are several (the batch log completes all of them or none).
//!
//! What this guarantees: `Create` is linearizable, so of two groups creating one key
//! exactly one succeeds; a group that returns `Ok` is applied whole; a group that returns
//! `Conflict` left nothing behind. What it does not: readers may see a group's creates
//! before its puts, or see creates that a conflict takes back a moment later; and if the
//! writing node dies, or a later step fails or times out, between the two steps, the
//! creates made so far stay. TODO(#3): a group log, replayed on start-up, would make that
//! last case all-or-none.

use std::collections::BTreeMap;

use ::scylla::serialize::row::SerializeRow;
use ::scylla::statement::batch::{Batch, BatchType};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::ScyllaStore;
use super::errors::OrStoreError;
use super::layout::{DOCUMENT_BUCKETS, directory, directory_links, document_bucket};
use super::lwt::LwtOutcome;
use crate::document_store::{DocumentStore, DocumentWrite};
use crate::event_store::StoreError;

/// Directories remembered as linked; the set is emptied when full (relinking is harmless).
pub(super) const KNOWN_DIRECTORIES_MAX: usize = 10_000;

/// Directories one scan may read; a prefix reaching more is refused.
const SCAN_DIRECTORIES_MAX: usize = 10_000;

/// Bind values of one statement in a batch of puts and deletes.
type BatchRow<'a> = Box<dyn SerializeRow + Send + Sync + 'a>;

/// Where a document lives: (directory, bucket, key).
fn place(key: &str) -> (&str, i32, &str) {
    (directory(key), document_bucket(key), key)
}

impl ScyllaStore {
    /// Links the directories of the documents about to be stored, before they are stored,
    /// so that a scan never misses a stored document.
    async fn link_directories(&self, writes: &[DocumentWrite]) -> Result<(), StoreError> {
        for write in writes {
            let (DocumentWrite::Put { key, .. } | DocumentWrite::Create { key, .. }) = write else {
                continue;
            };
            let dir = directory(key);
            if dir.is_empty() || self.knows_directory(dir) {
                continue;
            }
            for (parent, child) in directory_links(dir) {
                self.session()
                    .execute_unpaged(&self.statements().link_directory, (parent, child))
                    .await
                    .or_store_error("link directory")?;
            }
            self.remember_directory(dir);
        }
        Ok(())
    }

    fn knows_directory(&self, dir: &str) -> bool {
        let known = self.inner.known_directories.lock().expect("not poisoned");
        known.contains(dir)
    }

    fn remember_directory(&self, dir: &str) {
        let mut known = self.inner.known_directories.lock().expect("not poisoned");
        if known.len() >= KNOWN_DIRECTORIES_MAX {
            known.clear();
        }
        known.insert(dir.to_owned());
    }

    /// `Ok(false)` when the key exists already.
    async fn create(&self, key: &str, value: &[u8], group: Uuid) -> Result<bool, StoreError> {
        let (dir, bucket, key) = place(key);
        let values = (dir, bucket, key, value, group);
        let result = self
            .session()
            .execute_unpaged(&self.statements().create_document, values)
            .await
            .or_store_error("create document")?;
        Ok(LwtOutcome::parse(result, "create document")?.applied)
    }

    /// Takes back the group's creates; a failure is logged, the group's error stands.
    async fn undo_creates(&self, keys: &[&str], group: Uuid) {
        for key in keys {
            let (dir, bucket, key) = place(key);
            let undone = self
                .session()
                .execute_unpaged(&self.statements().undo_create, (dir, bucket, key, group))
                .await;
            if let Err(error) = undone {
                tracing::error!(key, %error, "a failed document group left a create behind");
            }
        }
    }

    /// The group's puts and deletes: one statement, or one logged batch.
    async fn apply_changes(&self, changes: &[&DocumentWrite]) -> Result<(), StoreError> {
        let statements = self.statements();
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_is_idempotent(true);
        let mut rows: Vec<BatchRow<'_>> = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                DocumentWrite::Put { key, value } => {
                    let (dir, bucket, key) = place(key);
                    batch.append_statement(statements.put_document.clone());
                    rows.push(Box::new((dir, bucket, key, value.as_slice())));
                }
                DocumentWrite::Delete { key } => {
                    batch.append_statement(statements.delete_document.clone());
                    rows.push(Box::new(place(key)));
                }
                DocumentWrite::Create { .. } => unreachable!("creates are applied first"),
            }
        }
        match rows.len() {
            0 => Ok(()),
            1 => {
                let statement = match changes[0] {
                    DocumentWrite::Put { .. } => &statements.put_document,
                    _ => &statements.delete_document,
                };
                let row = rows.pop().expect("one row");
                let done = self.session().execute_unpaged(statement, row).await;
                done.map(drop).or_store_error("write document")
            }
            _ => {
                let done = self.session().batch(&batch, rows).await;
                done.map(drop).or_store_error("write documents")
            }
        }
    }

    /// Adds the documents of one partition whose keys start with `prefix` (from `from` on)
    /// to `found`, which keeps only the `limit` smallest keys.
    async fn scan_partition(
        &self,
        (dir, bucket): (&str, i32),
        from: &str,
        prefix: &str,
        limit: usize,
        found: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        let statement = self.statements().scan_documents.clone();
        let pager = self
            .session()
            .execute_iter(statement, (dir, bucket, from))
            .await
            .or_store_error("scan")?;
        let mut rows = pager
            .rows_stream::<(String, Option<Vec<u8>>)>()
            .or_store_error("scan")?;
        while let Some((key, value)) = rows.try_next().await.or_store_error("scan")? {
            let past_the_limit =
                found.len() >= limit && found.last_key_value().is_some_and(|(last, _)| *last < key);
            if !key.starts_with(prefix) || past_the_limit {
                break;
            }
            found.insert(key, value.unwrap_or_default());
            if found.len() > limit {
                found.pop_last();
            }
        }
        Ok(())
    }

    /// The directories directly below `dir` whose names start with `prefix`.
    async fn child_directories(&self, dir: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let from = if dir.len() >= prefix.len() {
            dir
        } else {
            prefix
        };
        let statement = self.statements().scan_directories.clone();
        let pager = self
            .session()
            .execute_iter(statement, (dir, from))
            .await
            .or_store_error("scan directories")?;
        let mut rows = pager
            .rows_stream::<(String,)>()
            .or_store_error("scan directories")?;
        let mut children = Vec::new();
        while let Some((child,)) = rows.try_next().await.or_store_error("scan directories")? {
            if !child.starts_with(prefix) {
                break;
            }
            children.push(child);
        }
        Ok(children)
    }
}

#[async_trait]
impl DocumentStore for ScyllaStore {
    async fn write(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.link_directories(&writes).await?;
        let (mut creates, changes): (Vec<&DocumentWrite>, Vec<&DocumentWrite>) = writes
            .iter()
            .partition(|write| matches!(write, DocumentWrite::Create { .. }));
        creates.sort_by_key(|write| match write {
            DocumentWrite::Create { key, .. } => key.as_str(),
            _ => unreachable!("only creates"),
        });
        let group = Uuid::new_v4();
        let mut created: Vec<&str> = Vec::with_capacity(creates.len());
        for write in creates {
            let DocumentWrite::Create { key, value } = write else {
                unreachable!("only creates");
            };
            match self.create(key, value, group).await {
                Ok(true) => created.push(key),
                Ok(false) => {
                    self.undo_creates(&created, group).await;
                    return Err(StoreError::Conflict(key.clone()));
                }
                Err(error) => {
                    // The create may have landed before the error: take it back too.
                    created.push(key);
                    self.undo_creates(&created, group).await;
                    return Err(error);
                }
            }
        }
        self.apply_changes(&changes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let result = self
            .session()
            .execute_unpaged(&self.statements().get_document, place(key))
            .await
            .or_store_error("get document")?;
        let rows = result.into_rows_result().or_store_error("get document")?;
        let row = rows
            .maybe_first_row::<(Option<Vec<u8>>,)>()
            .or_store_error("get document")?;
        Ok(row.map(|(value,)| value.unwrap_or_default()))
    }

    /// Reads the prefix's own directory from the prefix on, then every directory below it
    /// that the prefix covers, each as `DOCUMENT_BUCKETS` partitions.
    async fn scan(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut found = BTreeMap::new();
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut pending = vec![directory(prefix).to_owned()];
        let mut visited = 0;
        while let Some(dir) = pending.pop() {
            visited += 1;
            if visited > SCAN_DIRECTORIES_MAX {
                return Err(StoreError::Failed(format!(
                    "scan: {prefix:?} spans more than {SCAN_DIRECTORIES_MAX} directories"
                )));
            }
            let from = if dir.len() >= prefix.len() {
                dir.as_str()
            } else {
                prefix
            };
            for bucket in 0..DOCUMENT_BUCKETS {
                self.scan_partition((&dir, bucket), from, prefix, limit, &mut found)
                    .await?;
            }
            pending.extend(self.child_directories(&dir, prefix).await?);
        }
        Ok(found.into_iter().collect())
    }
}
