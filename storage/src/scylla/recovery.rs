//! The group log's sweep: it reads every shard of `document_groups` and settles each intent
//! old enough that its writer must be gone, rolling the group forward or back
//! (`group_log::decide`). Every node sweeps on connect and then periodically, from a task the
//! store owns.
//!
//! Two nodes may sweep the same intent at once, and that is safe. The writer is gone (the
//! grace exceeds its deadline), so nothing but another sweep or an unrelated writer touches
//! the group's rows. A committed group is rolled forward by both: puts and deletes re-applied
//! at the group's own timestamp land as once. A pending group is rolled forward only while
//! every one of its creates holds its id, read linearizably, and a sweep that does so marks
//! it committed first, so a sweep reading after that follows; it is rolled back only when a
//! create is missing, and no create comes back with a gone group's id, so a sweep reading
//! later decides the same. Undoing `IF group_id = ?` twice undoes once, and deleting the
//! intent twice is harmless. The one race left needs an unrelated writer to delete one of a
//! pending group's creates between two sweeps' reads of it (see `documents.rs`).

use std::sync::Weak;
use std::time::Duration;

use futures_util::TryStreamExt;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use super::errors::OrStoreError;
use super::group_log::{GROUP_LOG_SHARDS, GroupId, Intent, Settlement, decide, decode_writes};
use super::{Inner, ScyllaStore, clock, metrics};
use crate::event_store::StoreError;

/// Intents one sweep settles at most; the rest wait for the next sweep.
const SETTLED_PER_SWEEP_MAX: u64 = 1_000;

/// Intent rows per page of a shard read: each holds a whole group's values.
const INTENTS_PER_PAGE: i32 = 64;

/// What one sweep of the group log found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupRecovery {
    /// Groups completed: their puts and deletes re-applied, their intents deleted.
    pub rolled_forward: u64,
    /// Groups taken back: their creates undone, their intents deleted.
    pub rolled_back: u64,
    /// Intents younger than the sweep's limit, left to their writers.
    pub in_flight: u64,
    /// Intents this build cannot decode, left for an operator.
    pub unreadable: u64,
}

impl GroupRecovery {
    fn settled(&self) -> u64 {
        self.rolled_forward + self.rolled_back
    }
}

/// One row of a shard, as read.
type IntentRow = (Uuid, Option<i64>, Option<bool>, Option<Vec<u8>>);

impl ScyllaStore {
    /// Settles every intent of the group log older than `older_than` (by the client
    /// timestamp its writer gave it), at most `SETTLED_PER_SWEEP_MAX` of them. Stops at the
    /// first failure; what is left waits for the next sweep.
    pub async fn recover_document_groups(
        &self,
        older_than: Duration,
    ) -> Result<GroupRecovery, StoreError> {
        let older_than_us = i64::try_from(older_than.as_micros()).unwrap_or(i64::MAX);
        let settle_before_us = clock::now_us().saturating_sub(older_than_us);
        let mut recovery = GroupRecovery::default();
        for shard in 0..GROUP_LOG_SHARDS {
            if recovery.settled() >= SETTLED_PER_SWEEP_MAX {
                break;
            }
            self.sweep_shard(shard, settle_before_us, &mut recovery)
                .await?;
        }
        if recovery.settled() > 0 || recovery.unreadable > 0 {
            tracing::info!(?recovery, "group log swept");
        }
        Ok(recovery)
    }

    async fn sweep_shard(
        &self,
        shard: i32,
        settle_before_us: i64,
        recovery: &mut GroupRecovery,
    ) -> Result<(), StoreError> {
        let mut statement = self.statements().select_groups.clone();
        statement.set_page_size(INTENTS_PER_PAGE);
        let pager = self
            .session()
            .execute_iter(statement, (shard,))
            .await
            .or_store_error("read group log")?;
        let mut rows = pager
            .rows_stream::<IntentRow>()
            .or_store_error("read group log")?;
        while let Some(row) = rows.try_next().await.or_store_error("read group log")? {
            if recovery.settled() >= SETTLED_PER_SWEEP_MAX {
                break;
            }
            let Some(intent) = self.read_intent(shard, row, recovery).await? else {
                continue;
            };
            if intent.timestamp_us > settle_before_us {
                recovery.in_flight += 1;
                continue;
            }
            match self.settle(&intent).await? {
                Settlement::Forward => recovery.rolled_forward += 1,
                Settlement::Back => recovery.rolled_back += 1,
            }
        }
        Ok(())
    }

    /// The intent of a row; `None` for a row that cannot be settled: an unreadable one
    /// (counted, left), or one without a group, which is deleted.
    async fn read_intent(
        &self,
        shard: i32,
        (group, timestamp_us, committed, writes): IntentRow,
        recovery: &mut GroupRecovery,
    ) -> Result<Option<Intent>, StoreError> {
        let id = GroupId { shard, group };
        let (Some(timestamp_us), Some(writes)) = (timestamp_us, writes) else {
            // A commit mark alone: its intent was deleted at an earlier timestamp, which only a
            // clock gone wrong can cause. There is nothing left to settle.
            self.forget_intent(id, clock::now_us()).await?;
            return Ok(None);
        };
        match decode_writes(&writes) {
            Ok((creates, changes)) => Ok(Some(Intent {
                id,
                timestamp_us,
                committed: committed.unwrap_or(false),
                creates,
                changes,
            })),
            Err(error) => {
                metrics::group_unreadable(group, shard, &error.to_string());
                recovery.unreadable += 1;
                Ok(None)
            }
        }
    }

    /// Rolls one left-behind group forward or back, then deletes its intent.
    async fn settle(&self, intent: &Intent) -> Result<Settlement, StoreError> {
        let holders = if intent.committed {
            Vec::new()
        } else {
            self.create_holders(&intent.creates).await?
        };
        let settlement = decide(intent, &holders);
        match settlement {
            Settlement::Forward => {
                if !intent.committed {
                    self.commit_intent(intent.id, intent.timestamp_us).await?;
                }
                self.apply_changes(&intent.changes, intent.timestamp_us)
                    .await?;
            }
            Settlement::Back => {
                let keys: Vec<&str> = intent.creates.iter().map(String::as_str).collect();
                self.undo_creates(&keys, intent.id.group).await?;
            }
        }
        let after_the_writer_us = clock::after(intent.timestamp_us + 2);
        self.forget_intent(intent.id, after_the_writer_us).await?;
        metrics::group_settled(intent.id.group, settlement);
        Ok(settlement)
    }
}

/// Starts the periodic sweep of the store's group log, every `interval`, settling intents
/// older than `grace`. The task stops when the store's last clone goes (see `Inner`).
pub(super) fn spawn_sweeper(
    inner: Weak<Inner>,
    interval: Duration,
    grace: Duration,
) -> AbortHandle {
    let sweeps = async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick is immediate, and connect has just swept.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let store = ScyllaStore { inner };
            if let Err(error) = store.recover_document_groups(grace).await {
                tracing::warn!(%error, "group log sweep stopped; the next one resumes it");
            }
        }
    };
    tokio::spawn(sweeps).abort_handle()
}
