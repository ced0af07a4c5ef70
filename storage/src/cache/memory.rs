//! The in-process cache, the default when no memcached is configured: bounded in entries
//! and bytes, oldest entries evicted first, expired entries never returned.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::Cache;
use super::limits::{self, CacheError};
use super::metrics::{self, Backend};

/// How much a `MemoryCache` holds at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryCacheLimits {
    pub entries_max: usize,
    /// Keys and values together, in bytes.
    pub bytes_max: usize,
}

impl Default for MemoryCacheLimits {
    fn default() -> Self {
        Self {
            entries_max: 100_000,
            bytes_max: 64 * 1024 * 1024,
        }
    }
}

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
    /// Position in `State::by_age`.
    age: u64,
}

/// Invariants: `by_age` names exactly the keys of `entries`, and `bytes` is the sum of
/// their keys' and values' lengths, never over the limit.
#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    by_age: BTreeMap<u64, String>,
    next_age: u64,
    bytes: usize,
}

impl State {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.by_age.remove(&entry.age);
            self.bytes -= key.len() + entry.value.len();
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, key)) = self.by_age.pop_first() {
            let entry = self
                .entries
                .remove(&key)
                .expect("by_age names live entries");
            self.bytes -= key.len() + entry.value.len();
        }
    }
}

/// An in-process cache; one per node.
pub struct MemoryCache {
    limits: MemoryCacheLimits,
    state: Mutex<State>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(MemoryCacheLimits::default())
    }
}

impl MemoryCache {
    pub fn new(limits: MemoryCacheLimits) -> Self {
        super::metrics::register(super::metrics::Backend::Memory);
        Self {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    /// Entries held, expired ones included until they are read or evicted.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic under this lock cannot leave the maps inconsistent halfway through an
        // insert (nothing in it panics), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<Vec<u8>> {
        let mut state = self.lock();
        let entry = state.entries.get(key)?;
        if now < entry.expires_at {
            return Some(entry.value.clone());
        }
        state.remove(key);
        None
    }

    fn set_at(&self, key: &str, value: &[u8], ttl: Duration, now: Instant) {
        let mut state = self.lock();
        state.remove(key);
        let size = key.len() + value.len();
        if size > self.limits.bytes_max || self.limits.entries_max == 0 {
            return;
        }
        while state.entries.len() >= self.limits.entries_max
            || state.bytes + size > self.limits.bytes_max
        {
            state.evict_oldest();
        }
        let age = state.next_age;
        state.next_age += 1;
        state.by_age.insert(age, key.to_owned());
        state.bytes += size;
        let entry = Entry {
            value: value.to_vec(),
            expires_at: now + ttl,
            age,
        };
        state.entries.insert(key.to_owned(), entry);
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        limits::check_key(key)?;
        let value = self.get_at(key, Instant::now());
        let hit = usize::from(value.is_some());
        metrics::looked_up(Backend::Memory, hit, 1 - hit);
        Ok(value)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        limits::check_entry(key, value, ttl)?;
        self.set_at(key, value, ttl, Instant::now());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        limits::check_key(key)?;
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn small(entries_max: usize, bytes_max: usize) -> MemoryCache {
        MemoryCache::new(MemoryCacheLimits {
            entries_max,
            bytes_max,
        })
    }

    #[test]
    fn an_entry_is_returned_until_its_ttl_and_never_after() {
        let cache = MemoryCache::default();
        let now = Instant::now();
        cache.set_at("k", b"v", MINUTE, now);
        let just_before = now + MINUTE - Duration::from_millis(1);
        assert_eq!(cache.get_at("k", just_before), Some(b"v".to_vec()));
        assert_eq!(cache.get_at("k", now + MINUTE), None);
        assert!(cache.is_empty(), "an expired entry is dropped when read");
    }

    #[test]
    fn the_oldest_entries_make_room_when_the_entry_count_is_reached() {
        let cache = small(2, 1024);
        let now = Instant::now();
        cache.set_at("a", b"1", MINUTE, now);
        cache.set_at("b", b"2", MINUTE, now);
        cache.set_at("c", b"3", MINUTE, now);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get_at("a", now), None);
        assert_eq!(cache.get_at("c", now), Some(b"3".to_vec()));
    }

    #[test]
    fn the_oldest_entries_make_room_when_the_byte_bound_is_reached() {
        let cache = small(100, 10);
        let now = Instant::now();
        cache.set_at("a", b"1234", MINUTE, now);
        cache.set_at("b", b"1234", MINUTE, now);
        assert_eq!(cache.bytes(), 10);
        cache.set_at("c", b"12", MINUTE, now);
        assert_eq!(cache.get_at("a", now), None);
        assert_eq!(cache.bytes(), 8);
    }

    #[test]
    fn an_entry_larger_than_the_whole_cache_is_not_kept_and_evicts_nothing() {
        let cache = small(100, 10);
        let now = Instant::now();
        cache.set_at("a", b"1", MINUTE, now);
        cache.set_at("b", &[0; 10], MINUTE, now);
        assert_eq!(cache.get_at("b", now), None);
        assert_eq!(cache.get_at("a", now), Some(b"1".to_vec()));
    }

    #[test]
    fn replacing_a_key_keeps_the_byte_count_exact() {
        let cache = small(100, 100);
        let now = Instant::now();
        cache.set_at("a", b"12345", MINUTE, now);
        cache.set_at("a", b"1", MINUTE, now);
        assert_eq!((cache.len(), cache.bytes()), (1, 2));
    }

    #[tokio::test]
    async fn refused_calls_change_nothing() {
        let cache = MemoryCache::default();
        let long_key = "k".repeat(crate::cache::KEY_BYTES_MAX + 1);
        assert!(matches!(
            cache.set(&long_key, b"v", MINUTE).await,
            Err(CacheError::KeyLength { .. })
        ));
        let large = vec![0; crate::cache::VALUE_BYTES_MAX + 1];
        assert!(matches!(
            cache.set("k", &large, MINUTE).await,
            Err(CacheError::ValueTooLarge { .. })
        ));
        assert!(matches!(
            cache.set("k", b"v", Duration::ZERO).await,
            Err(CacheError::TtlOutOfRange { .. })
        ));
        assert!(matches!(
            cache.get("a b").await,
            Err(CacheError::KeyCharacter { .. })
        ));
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn set_get_delete_round_trip_through_the_trait() {
        let cache = MemoryCache::default();
        cache.set("k", b"v", MINUTE).await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
        let keys = ["k".to_owned(), "absent".to_owned()];
        let many = cache.get_many(&keys).await.unwrap();
        assert_eq!(many, vec![Some(b"v".to_vec()), None]);
        cache.delete("k").await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), None);
    }
}
