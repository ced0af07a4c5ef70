//! Fencing on ScyllaDB. Every event partition `(stream, bucket)` has a static `fence`; a
//! fenced append is a conditional batch `IF fence = <its epoch>`, so it lands only while its
//! writer's epoch is the partition's fence. Fences only rise, each by a Paxos round.
//!
//! A claim with epoch `e` raises the fence to `e` in bucket 0, 1, … and stops after the first
//! bucket whose successor has no fence yet. A writer opens a new bucket only once the bucket
//! below holds its own epoch (raising unfenced buckets below on the way), so a writer whose
//! epoch is below `e` can neither append to a fenced bucket nor open one past them: a claim,
//! once it has returned, shuts the previous owner out. Buckets beyond the first unfenced one
//! cannot exist, because opening bucket `b + 1` needs a fence on `b`.

use super::ScyllaStore;
use super::errors::OrStoreError;
use super::lwt::LwtOutcome;
use crate::event_store::StoreError;

/// Compare-and-set rounds one bucket's fence may take before the writer gives up.
const SWAP_ATTEMPTS_MAX: usize = 8;

/// Buckets one walk may visit: 2^20 buckets of 4,096 events, far beyond any stream.
const WALK_BUCKETS_MAX: i64 = 1 << 20;

/// A lease epoch as CQL `bigint`.
pub(super) fn cql_epoch(epoch: u64) -> Result<i64, StoreError> {
    i64::try_from(epoch).map_err(|_| StoreError::Failed(format!("epoch {epoch} is too large")))
}

/// The contract's refusal of a writer whose epoch is below the fence.
pub(super) fn fenced(epoch: i64, fence: i64) -> StoreError {
    StoreError::Fenced {
        epoch: epoch as u64,
        fence: fence as u64,
    }
}

impl ScyllaStore {
    /// A partition's fence, read linearizably; `None` if it was never fenced.
    pub(super) async fn read_fence(
        &self,
        stream: &str,
        bucket: i64,
    ) -> Result<Option<i64>, StoreError> {
        let result = self
            .session()
            .execute_unpaged(&self.statements().select_fence, (stream, bucket))
            .await
            .or_store_error("read fence")?;
        let rows = result.into_rows_result().or_store_error("read fence")?;
        let row = rows
            .maybe_first_row::<(Option<i64>,)>()
            .or_store_error("read fence")?;
        Ok(row.and_then(|(fence,)| fence))
    }

    /// Brings one partition's fence to `epoch`: done if it is there, `Fenced` if it is above.
    async fn raise_fence(&self, stream: &str, bucket: i64, epoch: i64) -> Result<(), StoreError> {
        let swap = &self.statements().swap_fence;
        let mut seen = self.read_fence(stream, bucket).await?;
        for _ in 0..SWAP_ATTEMPTS_MAX {
            match seen {
                Some(fence) if fence == epoch => return Ok(()),
                Some(fence) if fence > epoch => return Err(fenced(epoch, fence)),
                _ => {}
            }
            let result = self
                .session()
                .execute_unpaged(swap, (epoch, stream, bucket, seen))
                .await
                .or_store_error("raise fence")?;
            let outcome = LwtOutcome::parse(result, "raise fence")?;
            if outcome.applied {
                return Ok(());
            }
            seen = outcome.bigint("fence");
        }
        Err(StoreError::Failed(format!(
            "raise fence: {stream} bucket {bucket} kept changing"
        )))
    }

    /// A claim's walk: raises the fence of every bucket the stream has, and of the next one.
    pub(super) async fn fence_stream(&self, stream: &str, epoch: i64) -> Result<(), StoreError> {
        for bucket in 0..WALK_BUCKETS_MAX {
            self.raise_fence(stream, bucket, epoch).await?;
            if self.read_fence(stream, bucket + 1).await?.is_none() {
                return Ok(());
            }
        }
        Err(StoreError::Failed(format!(
            "fence: {stream} has more than {WALK_BUCKETS_MAX} buckets"
        )))
    }

    /// A writer's way into `bucket`: brings it, and any unfenced buckets below it, to the
    /// writer's epoch. `Fenced` if any of them holds a higher epoch.
    pub(super) async fn open_bucket(
        &self,
        stream: &str,
        bucket: i64,
        epoch: i64,
    ) -> Result<(), StoreError> {
        let mut lowest = bucket;
        while lowest > 0 && bucket - lowest < WALK_BUCKETS_MAX {
            match self.read_fence(stream, lowest - 1).await? {
                Some(fence) if fence > epoch => return Err(fenced(epoch, fence)),
                Some(fence) if fence == epoch => break,
                _ => lowest -= 1,
            }
        }
        for open in lowest..=bucket {
            self.raise_fence(stream, open, epoch).await?;
        }
        Ok(())
    }
}
