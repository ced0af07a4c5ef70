//! A shared cache for data that is expensive to read and safe to lose: byte values under
//! string keys with a time to live. `MemoryCache` is the in-process default;
//! `MemcachedCache` shares one cache between nodes.
//!
//! A cache never fails a read because its backend is down: an unreachable backend is a
//! miss, counted in `olymp_cache_errors_total`. The only errors are refusals of keys,
//! values and lifetimes outside memcached's limits, which are the caller's mistake.

mod health;
mod limits;
mod memcached;
mod memory;
mod metrics;

use std::time::Duration;

use async_trait::async_trait;

pub use limits::{CacheError, KEY_BYTES_MAX, TTL_MAX, TTL_MIN, VALUE_BYTES_MAX};
pub use memcached::{MemcachedCache, MemcachedConfig, MemcachedConfigError};
pub use memory::{MemoryCache, MemoryCacheLimits};

/// A key-value cache. Implementations check every key, value and lifetime against the
/// limits in `limits.rs` before doing anything, so that a value accepted by one backend
/// is accepted by all.
#[async_trait]
pub trait Cache: Send + Sync {
    /// The value under `key`, or `None` if absent, expired or the backend is unreachable.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` under `key` for `ttl`. Best effort: an unreachable backend stores
    /// nothing and says nothing (the failure is counted).
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;

    /// Removes `key`. Best effort like `set`: callers that need an entry gone for
    /// correctness must not rely on it, and should change the key instead.
    async fn delete(&self, key: &str) -> Result<(), CacheError>;

    /// The values under `keys`, in the same order. Backends override this to fetch many
    /// keys per round trip.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        limits::check_keys(keys.iter().map(String::as_str))?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    /// Stores every entry for `ttl`; best effort like `set`.
    async fn set_many(
        &self,
        entries: &[(String, Vec<u8>)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        limits::check_entries(entries, ttl)?;
        for (key, value) in entries {
            self.set(key, value, ttl).await?;
        }
        Ok(())
    }
}
