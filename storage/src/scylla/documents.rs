//! `DocumentStore` on ScyllaDB. A document lives in partition (directory, hash bucket);
//! `document_dirs` links each directory to its parent, so a prefix scan reads the prefix's
//! directory and the directories below it, and nothing else.
//!
//! A group's documents usually span partitions (a registration writes `participant/…`,
//! `registration/…` and `session/…`), and a conditional batch cannot, so a group with creates
//! is applied in steps. Each `Create`, in key order, is its own lightweight transaction
//! (`IF NOT EXISTS`, tagged with the group's id); the puts and deletes follow as one
//! statement, or as one logged batch when there are several (the batch log completes all of
//! them or none). A group of puts and deletes alone is that one step; a lone create is one
//! transaction. Any other group is logged first (`group_log.rs`): its intent is written
//! before the first create, marked committed once every create is made, and deleted when the
//! group is done. On a conflict the creates already made are taken back (`IF group_id = ?`)
//! and the intent deleted. A step that fails leaves the intent to the sweep
//! (`recovery.rs`), which every node runs on connect and then periodically: it rolls a group
//! whose writer is gone forward or back, so every group ends applied whole or not at all.
//!
//! Puts and deletes carry a client timestamp (`clock.rs`), one per group, which the intent
//! stores: a replay re-applies them at their first timestamp, so a write made after the
//! group still wins and replaying twice changes nothing. This assumes the nodes' clocks agree
//! (NTP) far more closely than the sweep's grace period.
//!
//! What this guarantees: `Create` is linearizable, so of two groups creating one key
//! exactly one succeeds; a group that returns `Ok` is applied whole and stays so (its intent
//! is gone, or committed, which only rolls forward); a group that returns `Conflict` is
//! undone, at once or by the sweep; a group that returns another error ends whole or undone
//! once the sweep has run. A group's `write` is bounded by `document_group_deadline_ms`, and
//! the sweep settles only intents older than `document_group_grace_ms`, which must exceed
//! it, so it never settles a group whose writer is still at work. What it does not: readers
//! may see a group's creates before its puts, or creates that are taken back a moment (or,
//! after a failure, a grace period) later. A group whose writer died after its last create
//! and before the commit mark is decided by its creates: if another writer deleted one of
//! them in the meantime, the others are taken back.

use std::collections::BTreeMap;

use ::scylla::serialize::row::SerializeRow;
use ::scylla::statement::batch::{Batch, BatchType};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::ScyllaStore;
use super::clock;
use super::errors::OrStoreError;
use super::group_log::{Change, GroupId, encode_writes};
use super::layout::{DOCUMENT_BUCKETS, directory, directory_links, document_bucket};
use super::lwt::LwtOutcome;
use super::metrics::{self, FailureKind};
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

/// A group as it is applied: its creates in key order, then its puts and deletes.
struct Group {
    creates: Vec<(String, Vec<u8>)>,
    changes: Vec<Change>,
}

impl Group {
    fn split(writes: Vec<DocumentWrite>) -> Self {
        let mut creates = Vec::new();
        let mut changes = Vec::new();
        for write in writes {
            match write {
                DocumentWrite::Create { key, value } => creates.push((key, value)),
                DocumentWrite::Put { key, value } => changes.push(Change::Put { key, value }),
                DocumentWrite::Delete { key } => changes.push(Change::Delete { key }),
            }
        }
        creates.sort_by(|(a, _), (b, _)| a.cmp(b));
        Self { creates, changes }
    }

    /// Whether the group needs an intent in the group log: it has creates and something
    /// else. Puts and deletes alone are one statement or one logged batch, and a lone create
    /// is one transaction; either lands whole or not at all by itself.
    fn needs_log(&self) -> bool {
        !self.creates.is_empty() && (self.creates.len() > 1 || !self.changes.is_empty())
    }

    fn create_keys(&self) -> Vec<&str> {
        self.creates.iter().map(|(key, _)| key.as_str()).collect()
    }
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
    pub(super) async fn create(
        &self,
        key: &str,
        value: &[u8],
        group: Uuid,
    ) -> Result<bool, StoreError> {
        let (dir, bucket, key) = place(key);
        let values = (dir, bucket, key, value, group);
        let result = self
            .session()
            .execute_unpaged(&self.statements().create_document, values)
            .await
            .or_store_error("create document")?;
        Ok(LwtOutcome::parse(result, "create document")?.applied)
    }

    /// Takes back the group's creates of `keys` (a key the group does not hold is left as
    /// it is). Every key is tried; the last failure is returned.
    pub(super) async fn undo_creates(&self, keys: &[&str], group: Uuid) -> Result<(), StoreError> {
        let mut outcome = Ok(());
        for key in keys {
            let (dir, bucket, key) = place(key);
            let undone = self
                .session()
                .execute_unpaged(&self.statements().undo_create, (dir, bucket, key, group))
                .await
                .or_store_error("undo create");
            if let Err(error) = undone {
                tracing::warn!(
                    key,
                    group_id = %group,
                    %error,
                    "a document create is not taken back yet"
                );
                outcome = Err(error);
            }
        }
        outcome
    }

    /// Puts and deletes, at `timestamp_us`: one statement, or one logged batch.
    pub(super) async fn apply_changes(
        &self,
        changes: &[Change],
        timestamp_us: i64,
    ) -> Result<(), StoreError> {
        let statements = self.statements();
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_is_idempotent(true);
        batch.set_timestamp(Some(timestamp_us));
        let mut rows: Vec<BatchRow<'_>> = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                Change::Put { key, value } => {
                    let (dir, bucket, key) = place(key);
                    batch.append_statement(statements.put_document.clone());
                    rows.push(Box::new((dir, bucket, key, value.as_slice())));
                }
                Change::Delete { key } => {
                    batch.append_statement(statements.delete_document.clone());
                    rows.push(Box::new(place(key)));
                }
            }
        }
        match rows.len() {
            0 => Ok(()),
            1 => {
                let statement = match changes[0] {
                    Change::Put { .. } => &statements.put_document,
                    Change::Delete { .. } => &statements.delete_document,
                };
                let statement = clock::at(statement, timestamp_us);
                let row = rows.pop().expect("one row");
                let done = self.session().execute_unpaged(&statement, row).await;
                done.map(drop).or_store_error("write document")
            }
            _ => {
                let done = self.session().batch(&batch, rows).await;
                done.map(drop).or_store_error("write documents")
            }
        }
    }

    /// The group's steps, with no time limit (`write` sets one).
    async fn write_group(&self, writes: Vec<DocumentWrite>) -> Result<(), StoreError> {
        self.link_directories(&writes).await?;
        let group = Group::split(writes);
        let timestamp_us = clock::now_us();
        let id = GroupId::new();
        if group.needs_log() {
            return self.write_logged(&group, id, timestamp_us).await;
        }
        let Some((key, value)) = group.creates.first() else {
            return self.apply_changes(&group.changes, timestamp_us).await;
        };
        match self.create(key, value, id.group).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::Conflict(key.clone())),
            Err(error) => {
                // The create may have landed before the error: take it back too. A failed
                // undo is logged; either way the lone create is all or nothing.
                let _ = self.undo_creates(&[key], id.group).await;
                Err(error)
            }
        }
    }

    /// A group with an intent: log, create in key order, commit, put and delete, forget.
    /// Whatever is left when a step fails is the sweep's to settle.
    async fn write_logged(
        &self,
        group: &Group,
        id: GroupId,
        timestamp_us: i64,
    ) -> Result<(), StoreError> {
        let keys = group.create_keys();
        let writes = encode_writes(&keys, &group.changes);
        self.log_intent(id, timestamp_us, &writes).await?;
        let mut made = Vec::with_capacity(keys.len());
        for (key, value) in &group.creates {
            match self.create(key, value, id.group).await {
                Ok(true) => made.push(key.as_str()),
                Ok(false) => {
                    self.abandon(id, &made, timestamp_us).await;
                    return Err(StoreError::Conflict(key.clone()));
                }
                Err(error) => {
                    // The create may have landed before the error: take it back too.
                    made.push(key.as_str());
                    self.abandon(id, &made, timestamp_us).await;
                    return Err(error);
                }
            }
        }
        // From here the group only rolls forward: a batch that timed out may still land.
        self.commit_intent(id, timestamp_us).await?;
        self.apply_changes(&group.changes, timestamp_us).await?;
        if let Err(error) = self.forget_intent(id, timestamp_us + 2).await {
            // Applied whole and committed: the sweep only replays and deletes the intent.
            tracing::warn!(
                group_id = %id.group,
                %error,
                "a done document group's intent is left to the sweep"
            );
        }
        Ok(())
    }

    /// Takes back a failed group's creates, then deletes its intent; whatever cannot be
    /// done now is left to the sweep. After a conflict the sweep takes the group back too:
    /// the conflicting key is not the group's.
    async fn abandon(&self, id: GroupId, made: &[&str], timestamp_us: i64) {
        if self.undo_creates(made, id.group).await.is_err() {
            return;
        }
        if let Err(error) = self.forget_intent(id, timestamp_us + 2).await {
            tracing::warn!(
                group_id = %id.group,
                %error,
                "an undone document group's intent is left to the sweep"
            );
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
        let deadline = self.inner.group_deadline;
        match tokio::time::timeout(deadline, self.write_group(writes)).await {
            Ok(written) => written,
            Err(_elapsed) => {
                let message = format!(
                    "write documents: not done within {} ms; its outcome is unknown",
                    deadline.as_millis()
                );
                metrics::request_failed("write documents", FailureKind::Timeout, &message);
                Err(StoreError::Failed(message))
            }
        }
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
