//! The document group log: an intent row in `document_groups` for every document group whose
//! creates and other writes cannot land in one statement, and the rule that settles an
//! intent its writer left behind. The write path is in `documents.rs`, the sweep that
//! settles intents in `recovery.rs`.
//!
//! An intent moves through three states. Pending: the row is written before the group's
//! first create. Committed: `committed` is set once every create is made, before the puts
//! and deletes are sent (a logged batch that timed out may still land, so from here the
//! group can only be completed). Gone: the row is deleted once the group is applied whole,
//! or once its creates are taken back.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ScyllaStore;
use super::clock;
use super::errors::OrStoreError;
use super::layout::{directory, document_bucket};
use crate::codec::{self, CodecError};
use crate::event_store::StoreError;

/// Partitions of `document_groups`, each read whole by every sweep. Changing it strands the
/// rows of shards no longer read: a migration.
pub(super) const GROUP_LOG_SHARDS: i32 = 16;

/// A put or delete of a document group, as it is applied and as its intent stores it.
/// Stored data: new variants go last, and existing ones never change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Change {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// An intent's `writes` as the writer encodes them (borrowed) ...
#[derive(Serialize)]
struct LoggedWrites<'a> {
    creates: Vec<&'a str>,
    changes: &'a [Change],
}

/// ... and as the sweep decodes them: the same fields in the same order.
#[derive(Deserialize)]
struct StoredWrites {
    creates: Vec<String>,
    changes: Vec<Change>,
}

/// The `writes` column of an intent: the keys of the group's creates (their values are not
/// needed to settle it) and its puts and deletes.
pub(super) fn encode_writes(creates: &[&str], changes: &[Change]) -> Vec<u8> {
    codec::encode(&LoggedWrites {
        creates: creates.to_vec(),
        changes,
    })
}

/// The create keys and changes of an intent's `writes`.
pub(super) fn decode_writes(bytes: &[u8]) -> Result<(Vec<String>, Vec<Change>), CodecError> {
    let stored: StoredWrites = codec::decode(bytes)?;
    Ok((stored.creates, stored.changes))
}

/// Where a group's intent lives: its shard and its id, which also tags its creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct GroupId {
    pub shard: i32,
    pub group: Uuid,
}

impl GroupId {
    /// A fresh group id, in the shard its bits choose.
    pub fn new() -> Self {
        Self::of(Uuid::new_v4())
    }

    pub fn of(group: Uuid) -> Self {
        let shard = (group.as_u128() % GROUP_LOG_SHARDS as u128) as i32;
        Self { shard, group }
    }
}

/// An intent row as the sweep reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Intent {
    pub id: GroupId,
    /// The client timestamp of the group's puts and deletes, also the intent's age.
    pub timestamp_us: i64,
    pub committed: bool,
    /// Keys the group creates, in the order its writer made them.
    pub creates: Vec<String>,
    pub changes: Vec<Change>,
}

/// How a left-behind group ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Settlement {
    /// Every create stands: the puts and deletes are re-applied.
    Forward,
    /// The creates still held by the group are taken back; the puts and deletes were never
    /// sent (they go out only after the group is committed).
    Back,
}

/// The settlement of an intent whose writer is gone, given which group holds each of its
/// create keys now (`holders[i]` for `intent.creates[i]`, `None` where the key is absent),
/// read linearizably. A committed group rolls forward whatever the holders: its writer may
/// have sent its puts. A pending one rolls forward only if it holds every key (its writer
/// died between its last create and the commit); a missing key means the writer never made
/// it, or met a conflict there.
pub(super) fn decide(intent: &Intent, holders: &[Option<Uuid>]) -> Settlement {
    let holds_every_key = holders.len() == intent.creates.len()
        && holders
            .iter()
            .all(|holder| *holder == Some(intent.id.group));
    if intent.committed || holds_every_key {
        Settlement::Forward
    } else {
        Settlement::Back
    }
}

impl ScyllaStore {
    /// Writes a pending intent, at the group's own timestamp (repeating it changes nothing).
    pub(super) async fn log_intent(
        &self,
        id: GroupId,
        timestamp_us: i64,
        writes: &[u8],
    ) -> Result<(), StoreError> {
        let statement = clock::at(&self.statements().insert_group, timestamp_us);
        let values = (id.shard, id.group, timestamp_us, writes);
        let done = self.session().execute_unpaged(&statement, values).await;
        done.map(drop).or_store_error("log document group")
    }

    /// Marks an intent committed, just after the group's own timestamp.
    pub(super) async fn commit_intent(
        &self,
        id: GroupId,
        timestamp_us: i64,
    ) -> Result<(), StoreError> {
        let statement = clock::at(&self.statements().commit_group, timestamp_us + 1);
        let done = self
            .session()
            .execute_unpaged(&statement, (id.shard, id.group))
            .await;
        done.map(drop).or_store_error("commit document group")
    }

    /// Deletes an intent; `timestamp_us` must be after every write to the row.
    pub(super) async fn forget_intent(
        &self,
        id: GroupId,
        timestamp_us: i64,
    ) -> Result<(), StoreError> {
        let statement = clock::at(&self.statements().delete_group, timestamp_us);
        let done = self
            .session()
            .execute_unpaged(&statement, (id.shard, id.group))
            .await;
        done.map(drop).or_store_error("forget document group")
    }

    /// Which group holds each key now, read at the serial consistency, so that the answer
    /// reflects every create and undo that has completed.
    pub(super) async fn create_holders(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<Uuid>>, StoreError> {
        let mut holders = Vec::with_capacity(keys.len());
        for key in keys {
            let values = (directory(key), document_bucket(key), key.as_str());
            let result = self
                .session()
                .execute_unpaged(&self.statements().select_document_group, values)
                .await
                .or_store_error("read document group")?;
            let rows = result
                .into_rows_result()
                .or_store_error("read document group")?;
            let row = rows
                .maybe_first_row::<(Option<Uuid>,)>()
                .or_store_error("read document group")?;
            holders.push(row.and_then(|(group,)| group));
        }
        Ok(holders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(committed: bool, creates: &[&str]) -> Intent {
        Intent {
            id: GroupId::new(),
            timestamp_us: 1,
            committed,
            creates: creates.iter().map(|key| (*key).to_owned()).collect(),
            changes: Vec::new(),
        }
    }

    #[test]
    fn a_pending_group_holding_every_create_rolls_forward() {
        let pending = intent(false, &["a", "b"]);
        let mine = Some(pending.id.group);
        assert_eq!(decide(&pending, &[mine, mine]), Settlement::Forward);
    }

    #[test]
    fn a_pending_group_missing_a_create_rolls_back() {
        let pending = intent(false, &["a", "b"]);
        let mine = Some(pending.id.group);
        assert_eq!(decide(&pending, &[mine, None]), Settlement::Back);
        assert_eq!(decide(&pending, &[None, None]), Settlement::Back);
    }

    #[test]
    fn a_pending_group_whose_key_another_group_holds_rolls_back() {
        let pending = intent(false, &["a", "b"]);
        let mine = Some(pending.id.group);
        let theirs = Some(Uuid::new_v4());
        assert_eq!(decide(&pending, &[mine, theirs]), Settlement::Back);
    }

    #[test]
    fn a_committed_group_rolls_forward_even_with_a_create_gone() {
        let committed = intent(true, &["a", "b"]);
        assert_eq!(decide(&committed, &[None, None]), Settlement::Forward);
        assert_eq!(decide(&committed, &[]), Settlement::Forward);
    }

    #[test]
    fn holders_that_do_not_cover_every_create_roll_a_pending_group_back() {
        let pending = intent(false, &["a", "b"]);
        let mine = Some(pending.id.group);
        assert_eq!(decide(&pending, &[mine]), Settlement::Back);
    }

    #[test]
    fn intent_writes_round_trip_through_the_codec() {
        let changes = vec![
            Change::Put {
                key: "session/s1".into(),
                value: b"v".to_vec(),
            },
            Change::Delete {
                key: "active/s0".into(),
            },
        ];
        let bytes = encode_writes(&["participant/p", "registration/o/p"], &changes);
        let (creates, decoded) = decode_writes(&bytes).unwrap();
        assert_eq!(creates, ["participant/p", "registration/o/p"]);
        assert_eq!(decoded, changes);
    }

    #[test]
    fn a_group_lands_in_one_of_the_shards() {
        for _ in 0..100 {
            let id = GroupId::new();
            assert!((0..GROUP_LOG_SHARDS).contains(&id.shard));
            assert_eq!(GroupId::of(id.group), id);
        }
    }
}
