//! `EventStore` on ScyllaDB. An append reads which of its sequence numbers are stored (the
//! contract keeps the first body of a sequence), then writes the new events of each
//! partition as one unlogged batch; a fenced append makes that batch conditional on the
//! partition's fence. A read is one ordered slice per partition.
//!
//! Duplicate detection reads before it writes: it is exact for one writer per stream, which
//! the lease guarantees; two writers racing on one new sequence number would both store it,
//! the later timestamp winning.

use std::collections::{BTreeMap, HashSet};

use ::scylla::serialize::row::SerializeRow;
use ::scylla::statement::batch::{Batch, BatchType};
use async_trait::async_trait;
use futures_util::TryStreamExt;

use super::ScyllaStore;
use super::errors::OrStoreError;
use super::fence::{cql_epoch, fenced};
use super::layout::{cql_seq, event_bucket, last_seq_in_bucket};
use super::lwt::LwtOutcome;
use super::metrics;
use crate::event_store::{
    AppendOutcome, EventStore, NewEvent, RecordedEvent, StoreError, check_stream_name,
};

/// Statements in one batch; a flush with more is split into several batches.
const BATCH_EVENTS_MAX: usize = 100;

/// Event bytes in one batch, below ScyllaDB's default batch-size warning (128 KiB).
const BATCH_BYTES_MAX: usize = 64 * 1024;

/// Conditional batches one fenced append may send per partition chunk: a first try, and
/// retries after opening a bucket or losing a race with a fence change.
const FENCED_ATTEMPTS_MAX: usize = 3;

/// Epoch written with unfenced events.
const UNFENCED_EPOCH: i64 = 0;

/// Bind values of one statement in a fenced batch.
type BatchRow<'a> = Box<dyn SerializeRow + Send + Sync + 'a>;

/// The events of one append, new ones first split by partition, in sequence order; repeats
/// of a sequence inside the append are counted as duplicates, the first one kept.
fn by_bucket(events: Vec<NewEvent>) -> (BTreeMap<i64, Vec<NewEvent>>, usize) {
    let mut seen = HashSet::new();
    let mut buckets: BTreeMap<i64, Vec<NewEvent>> = BTreeMap::new();
    let mut repeats = 0;
    for event in events {
        if !seen.insert(event.seq) {
            repeats += 1;
            continue;
        }
        buckets
            .entry(event_bucket(event.seq))
            .or_default()
            .push(event);
    }
    for events in buckets.values_mut() {
        events.sort_by_key(|event| event.seq);
    }
    (buckets, repeats)
}

/// Splits one partition's events into batches within the statement and byte bounds.
fn chunks(events: &[NewEvent]) -> Vec<&[NewEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (at, event) in events.iter().enumerate() {
        let full = at - start == BATCH_EVENTS_MAX || bytes + event.body.len() > BATCH_BYTES_MAX;
        if full && at > start {
            out.push(&events[start..at]);
            start = at;
            bytes = 0;
        }
        bytes += event.body.len();
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

impl ScyllaStore {
    /// The sequence numbers already stored among `events` (all in `bucket`, sorted).
    async fn stored_seqs(
        &self,
        stream: &str,
        bucket: i64,
        events: &[NewEvent],
    ) -> Result<HashSet<u64>, StoreError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(HashSet::new());
        };
        let values = (stream, bucket, cql_seq(first.seq)?, cql_seq(last.seq)?);
        let statement = self.statements().select_seqs.clone();
        let pager = self
            .session()
            .execute_iter(statement, values)
            .await
            .or_store_error("append: read stored")?;
        let mut rows = pager
            .rows_stream::<(i64,)>()
            .or_store_error("append: read stored")?;
        let mut stored = HashSet::new();
        while let Some((seq,)) = rows
            .try_next()
            .await
            .or_store_error("append: read stored")?
        {
            stored.insert(seq as u64);
        }
        Ok(stored)
    }

    fn insert_rows<'a>(
        stream: &'a str,
        bucket: i64,
        epoch: i64,
        events: &'a [NewEvent],
    ) -> Result<Vec<BatchRow<'a>>, StoreError> {
        events
            .iter()
            .map(|event| {
                let row = (
                    stream,
                    bucket,
                    cql_seq(event.seq)?,
                    epoch,
                    event.body.as_slice(),
                );
                Ok(Box::new(row) as BatchRow<'a>)
            })
            .collect()
    }

    /// One unlogged single-partition batch of inserts, with the fence condition first when
    /// `fence_epoch` is set. Returns the conditional answer, if there was a condition.
    async fn send_batch(
        &self,
        stream: &str,
        bucket: i64,
        fence_epoch: Option<i64>,
        events: &[NewEvent],
    ) -> Result<Option<LwtOutcome>, StoreError> {
        let statements = self.statements();
        let mut batch = Batch::new(BatchType::Unlogged);
        batch.set_is_idempotent(true);
        let mut rows: Vec<BatchRow<'_>> = Vec::with_capacity(events.len() + 1);
        if let Some(epoch) = fence_epoch {
            batch.append_statement(statements.swap_fence.clone());
            rows.push(Box::new((epoch, stream, bucket, epoch)));
        }
        let epoch = fence_epoch.unwrap_or(UNFENCED_EPOCH);
        for _ in events {
            batch.append_statement(statements.insert_event.clone());
        }
        rows.extend(Self::insert_rows(stream, bucket, epoch, events)?);
        let operation = if fence_epoch.is_some() {
            "fenced append"
        } else {
            "append"
        };
        let result = self
            .session()
            .batch(&batch, rows)
            .await
            .or_store_error(operation)?;
        match fence_epoch {
            Some(_) => LwtOutcome::parse(result, operation).map(Some),
            None => Ok(None),
        }
    }

    /// Writes one chunk under the fence: opens the bucket for this epoch when it is not yet
    /// there, and refuses with `Fenced` when a newer epoch holds it.
    async fn write_fenced(
        &self,
        stream: &str,
        bucket: i64,
        epoch: i64,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        for _ in 0..FENCED_ATTEMPTS_MAX {
            let outcome = self.send_batch(stream, bucket, Some(epoch), events).await?;
            let outcome = outcome.expect("a fenced batch is conditional");
            if outcome.applied {
                return Ok(());
            }
            match outcome.bigint("fence") {
                Some(fence) if fence > epoch => return Err(fenced(epoch, fence)),
                _ => self.open_bucket(stream, bucket, epoch).await?,
            }
        }
        Err(StoreError::Failed(format!(
            "fenced append: {stream} bucket {bucket} fence kept changing"
        )))
    }

    /// A fenced append whose events are all stored still answers `Fenced` to a stale writer.
    async fn check_fence(&self, stream: &str, bucket: i64, epoch: i64) -> Result<(), StoreError> {
        match self.read_fence(stream, bucket).await? {
            Some(fence) if fence > epoch => Err(fenced(epoch, fence)),
            _ => Ok(()),
        }
    }

    async fn append_events(
        &self,
        stream: &str,
        fence_epoch: Option<u64>,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        check_stream_name(stream)?;
        let fence_epoch = fence_epoch.map(cql_epoch).transpose()?;
        let (buckets, repeats) = by_bucket(events);
        let mut outcome = AppendOutcome {
            stored: 0,
            duplicates: repeats,
        };
        for (bucket, events) in buckets {
            let stored = self.stored_seqs(stream, bucket, &events).await?;
            let (old, new): (Vec<_>, Vec<_>) =
                events.into_iter().partition(|e| stored.contains(&e.seq));
            outcome.duplicates += old.len();
            if new.is_empty() {
                if let Some(epoch) = fence_epoch {
                    self.check_fence(stream, bucket, epoch).await?;
                }
                continue;
            }
            for chunk in chunks(&new) {
                match fence_epoch {
                    Some(epoch) => self.write_fenced(stream, bucket, epoch, chunk).await?,
                    None => self
                        .send_batch(stream, bucket, None, chunk)
                        .await
                        .map(drop)?,
                }
            }
            outcome.stored += new.len();
        }
        Ok(outcome)
    }

    /// The events of one partition from `from_seq` on, in order.
    async fn read_bucket(
        &self,
        stream: &str,
        bucket: i64,
        from_seq: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let statement = self.statements().select_events.clone();
        let pager = self
            .session()
            .execute_iter(statement, (stream, bucket, from_seq))
            .await
            .or_store_error("read")?;
        let mut rows = pager
            .rows_stream::<(Option<i64>, Option<Vec<u8>>)>()
            .or_store_error("read")?;
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await.or_store_error("read")? {
            if let (Some(seq), body) = row {
                let body = body.unwrap_or_default();
                out.push(RecordedEvent {
                    seq: seq as u64,
                    body,
                });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl EventStore for ScyllaStore {
    async fn append(
        &self,
        stream: &str,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_events(stream, None, events).await
    }

    async fn append_fenced(
        &self,
        stream: &str,
        epoch: u64,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let appended = self.append_events(stream, Some(epoch), events).await;
        if let Err(StoreError::Fenced { epoch, fence }) = &appended {
            metrics::append_fenced(stream, *epoch, *fence);
        }
        appended
    }

    /// Reads partition after partition. Writers number events 1, 2, 3… without gaps, so a
    /// partition that does not end with its last sequence number is the stream's last one.
    async fn read(&self, stream: &str, from_seq: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        check_stream_name(stream)?;
        let Ok(from) = i64::try_from(from_seq) else {
            return Ok(Vec::new());
        };
        let mut bucket = event_bucket(from_seq);
        let mut out = Vec::new();
        loop {
            let events = self.read_bucket(stream, bucket, from).await?;
            let full = events
                .last()
                .is_some_and(|event| event.seq == last_seq_in_bucket(bucket));
            out.extend(events);
            if !full {
                return Ok(out);
            }
            bucket += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, bytes: usize) -> NewEvent {
        NewEvent {
            seq,
            body: vec![0; bytes],
        }
    }

    #[test]
    fn an_append_is_split_by_partition_and_keeps_the_first_of_a_repeated_sequence() {
        let events = vec![event(4_097, 1), event(2, 1), event(1, 1), event(2, 9)];
        let (buckets, repeats) = by_bucket(events);
        assert_eq!(repeats, 1);
        let seqs: Vec<(i64, Vec<u64>)> = buckets
            .iter()
            .map(|(bucket, events)| (*bucket, events.iter().map(|e| e.seq).collect()))
            .collect();
        assert_eq!(seqs, vec![(0, vec![1, 2]), (1, vec![4_097])]);
        assert_eq!(
            buckets[&0][1].body.len(),
            1,
            "the first body of seq 2 is kept"
        );
    }

    #[test]
    fn batches_stay_within_their_statement_and_byte_bounds() {
        let many: Vec<_> = (1..=250).map(|seq| event(seq, 10)).collect();
        let sizes: Vec<usize> = chunks(&many).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let large: Vec<_> = (1..=5).map(|seq| event(seq, 30 * 1024)).collect();
        let sizes: Vec<usize> = chunks(&large).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        let huge = vec![event(1, BATCH_BYTES_MAX * 2)];
        assert_eq!(
            chunks(&huge).len(),
            1,
            "an oversized event still goes, alone"
        );
    }
}
