//! Leases on the embedded store. One process owns the data directory, so a lock in the
//! store serialises every lease decision; each claim writes the lease and raises the
//! stream's fence in one durable group.

use async_trait::async_trait;

use super::{EmbeddedStore, fence_key};
use crate::document_store::{DocumentStore, DocumentWrite};
use crate::lease::{Lease, LeaseError, LeaseStore};

fn lease_key(key: &str) -> String {
    format!("lease/{key}")
}

impl EmbeddedStore {
    async fn current_lease(&self, key: &str) -> Result<Option<Lease>, LeaseError> {
        let Some(bytes) = self.get(&lease_key(key)).await? else {
            return Ok(None);
        };
        let lease = crate::codec::decode(&bytes)
            .map_err(|error| crate::StoreError::Failed(format!("lease {key}: {error}")))?;
        Ok(Some(lease))
    }

    async fn store_lease(&self, lease: &Lease) -> Result<(), LeaseError> {
        let writes = vec![
            DocumentWrite::Put {
                key: lease_key(&lease.key),
                value: crate::codec::encode(lease),
            },
            DocumentWrite::Put {
                key: fence_key(&lease.key),
                value: lease.epoch.to_be_bytes().to_vec(),
            },
        ];
        Ok(self.write(writes).await?)
    }
}

#[async_trait]
impl LeaseStore for EmbeddedStore {
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Lease, LeaseError> {
        let _guard = self.inner.lease_lock.lock().await;
        let current = self.current_lease(key).await?;
        let epoch = match &current {
            Some(held) if held.owner != owner && held.expires_at_ms > now_ms => {
                let until_ms = held.expires_at_ms;
                return Err(LeaseError::Held {
                    owner: held.owner.clone(),
                    until_ms,
                });
            }
            Some(held) if held.owner == owner => held.epoch,
            Some(held) => held.epoch + 1,
            None => 1,
        };
        let lease = Lease {
            key: key.to_owned(),
            owner: owner.to_owned(),
            epoch,
            expires_at_ms: now_ms.saturating_add(ttl_ms),
        };
        self.store_lease(&lease).await?;
        Ok(lease)
    }

    async fn renew(&self, lease: &Lease, now_ms: u64, ttl_ms: u64) -> Result<Lease, LeaseError> {
        let _guard = self.inner.lease_lock.lock().await;
        match self.current_lease(&lease.key).await? {
            Some(held) if held.epoch == lease.epoch && held.owner == lease.owner => {
                let renewed = Lease {
                    expires_at_ms: now_ms.saturating_add(ttl_ms),
                    ..held
                };
                self.store_lease(&renewed).await?;
                Ok(renewed)
            }
            Some(held) => Err(LeaseError::Lost {
                current_epoch: held.epoch,
            }),
            None => Err(LeaseError::Lost { current_epoch: 0 }),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        let _guard = self.inner.lease_lock.lock().await;
        match self.current_lease(&lease.key).await? {
            Some(held) if held.epoch == lease.epoch && held.owner == lease.owner => {
                self.store_lease(&Lease {
                    expires_at_ms: 0,
                    ..held
                })
                .await
            }
            Some(held) => Err(LeaseError::Lost {
                current_epoch: held.epoch,
            }),
            None => Ok(()),
        }
    }
}
