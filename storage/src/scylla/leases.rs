//! `LeaseStore` on ScyllaDB: the lease row changes only by lightweight transaction, so two
//! nodes racing for a session cannot both win, and a claim then raises the stream's fence
//! (`fence.rs`) before it returns. Lease writes are not idempotent and are never retried
//! by the driver: after a timeout the claim's outcome is unknown, and the caller claims
//! again (the same owner keeps its epoch, so that is safe).

use async_trait::async_trait;

use super::ScyllaStore;
use super::errors::OrStoreError;
use super::fence::cql_epoch;
use super::lwt::LwtOutcome;
use crate::event_store::{StoreError, check_stream_name};
use crate::lease::{Lease, LeaseError, LeaseStore};

/// Read-decide-swap rounds one claim may take when other claims keep winning the race.
const CLAIM_ATTEMPTS_MAX: usize = 4;

/// A lease row as it stands.
struct Current {
    owner: String,
    epoch: i64,
    expires_at_ms: i64,
}

fn millis(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Failed(format!("time {value} is too large")))
}

fn lease(key: &str, owner: &str, epoch: i64, expires_at_ms: i64) -> Lease {
    Lease {
        key: key.to_owned(),
        owner: owner.to_owned(),
        epoch: epoch as u64,
        expires_at_ms: expires_at_ms as u64,
    }
}

impl ScyllaStore {
    /// The lease row, read linearizably.
    async fn current_lease(&self, key: &str) -> Result<Option<Current>, StoreError> {
        let result = self
            .session()
            .execute_unpaged(&self.statements().select_lease, (key,))
            .await
            .or_store_error("read lease")?;
        let rows = result.into_rows_result().or_store_error("read lease")?;
        let row = rows
            .maybe_first_row::<(Option<String>, Option<i64>, Option<i64>)>()
            .or_store_error("read lease")?;
        Ok(row.map(|(owner, epoch, expires_at_ms)| Current {
            owner: owner.unwrap_or_default(),
            epoch: epoch.unwrap_or(0),
            expires_at_ms: expires_at_ms.unwrap_or(0),
        }))
    }

    /// One read-decide-swap round: `Ok(None)` when another claim won the swap.
    async fn try_claim(
        &self,
        key: &str,
        owner: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<Option<Lease>, LeaseError> {
        let statements = self.statements();
        let current = self.current_lease(key).await?;
        let session = self.session();
        let (epoch, result) = match &current {
            Some(held) if held.owner != owner && held.expires_at_ms > now_ms => {
                return Err(LeaseError::Held {
                    owner: held.owner.clone(),
                    until_ms: held.expires_at_ms as u64,
                });
            }
            None => {
                let values = (key, owner, 1_i64, expires_at_ms);
                (
                    1,
                    session
                        .execute_unpaged(&statements.insert_lease, values)
                        .await,
                )
            }
            Some(held) => {
                let epoch = if held.owner == owner {
                    held.epoch
                } else {
                    held.epoch + 1
                };
                let values = (owner, epoch, expires_at_ms, key, &held.owner, held.epoch);
                (
                    epoch,
                    session
                        .execute_unpaged(&statements.take_lease, values)
                        .await,
                )
            }
        };
        let result = result.or_store_error("claim lease")?;
        if !LwtOutcome::parse(result, "claim lease")?.applied {
            return Ok(None);
        }
        Ok(Some(lease(key, owner, epoch, expires_at_ms)))
    }

    /// Sets the expiry of a lease still held at its epoch; `Lost` otherwise.
    async fn set_expiry(&self, held: &Lease, expires_at_ms: i64) -> Result<(), LeaseError> {
        let epoch = cql_epoch(held.epoch)?;
        let values = (expires_at_ms, &held.key, &held.owner, epoch);
        let result = self
            .session()
            .execute_unpaged(&self.statements().extend_lease, values)
            .await
            .or_store_error("extend lease")?;
        let outcome = LwtOutcome::parse(result, "extend lease")?;
        if outcome.applied {
            return Ok(());
        }
        let current_epoch = outcome.bigint("epoch").unwrap_or(0) as u64;
        Err(LeaseError::Lost { current_epoch })
    }
}

#[async_trait]
impl LeaseStore for ScyllaStore {
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Lease, LeaseError> {
        check_stream_name(key)?;
        let now = millis(now_ms)?;
        let expires_at_ms = millis(now_ms.saturating_add(ttl_ms))?;
        for _ in 0..CLAIM_ATTEMPTS_MAX {
            if let Some(lease) = self.try_claim(key, owner, now, expires_at_ms).await? {
                return match self.fence_stream(key, cql_epoch(lease.epoch)?).await {
                    Ok(()) => Ok(lease),
                    // A later claim overtook this one between its swap and its fences.
                    Err(StoreError::Fenced { fence, .. }) => Err(LeaseError::Lost {
                        current_epoch: fence,
                    }),
                    Err(error) => Err(error.into()),
                };
            }
        }
        Err(StoreError::Failed(format!("claim lease: {key} is contended")).into())
    }

    async fn renew(&self, lease: &Lease, now_ms: u64, ttl_ms: u64) -> Result<Lease, LeaseError> {
        let expires_at_ms = millis(now_ms.saturating_add(ttl_ms))?;
        self.set_expiry(lease, expires_at_ms).await?;
        Ok(Lease {
            expires_at_ms: expires_at_ms as u64,
            ..lease.clone()
        })
    }

    /// Expires the lease at once; a lease already gone (no row) is released already.
    async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        match self.set_expiry(lease, 0).await {
            Err(LeaseError::Lost { current_epoch: 0 }) => Ok(()),
            other => other,
        }
    }
}
