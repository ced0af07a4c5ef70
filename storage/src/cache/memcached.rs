//! The shared cache on memcached, through the `memcache` crate's blocking client. Every
//! call runs on tokio's blocking pool, at most `blocking_calls_max` at once, with short
//! connect and socket timeouts, so a dead server fails fast and never stalls async work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use memcache::MemcacheError;
use tokio::sync::Semaphore;
use url::Url;

use super::Cache;
use super::health::{Gate, Health, HealthPolicy};
use super::limits::{self, CacheError};
use super::metrics::{self, Backend};

/// Most memcached servers one cache spreads its keys over.
pub const SERVERS_MAX: usize = 32;

/// Timeouts and bounds of a `MemcachedCache`.
#[derive(Clone, Copy, Debug)]
pub struct MemcachedConfig {
    /// Longest wait for a connection, new or pooled.
    pub connect_timeout: Duration,
    /// Socket read and write timeout of every call.
    pub io_timeout: Duration,
    /// Blocking calls in flight at once; also the most connections per server.
    pub blocking_calls_max: usize,
    /// Longest wait for a free call slot; past it the call is skipped (a miss).
    pub slot_wait: Duration,
    /// After an I/O failure, calls are skipped for this long, then tried again.
    pub retry_after: Duration,
    /// At most one warning per this interval while memcached fails.
    pub warn_every: Duration,
    /// Keys per multi-get, and entries per batch of sets.
    pub batch_keys_max: usize,
}

impl Default for MemcachedConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(250),
            io_timeout: Duration::from_millis(250),
            blocking_calls_max: 16,
            slot_wait: Duration::from_millis(100),
            retry_after: Duration::from_secs(1),
            warn_every: Duration::from_secs(30),
            batch_keys_max: 64,
        }
    }
}

/// Why a `MemcachedCache` could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemcachedConfigError {
    #[error("no memcached server given")]
    NoServers,
    #[error("more than {SERVERS_MAX} memcached servers given")]
    TooManyServers,
    #[error("memcached address {0:?} is not HOST:PORT")]
    BadAddress(String),
    #[error("memcached call slots and batches must hold at least one call and key")]
    ZeroBound,
}

/// A cache shared by every node that names the same servers. Cheap to clone.
#[derive(Clone)]
pub struct MemcachedCache {
    shared: Arc<Shared>,
}

struct Shared {
    urls: Vec<Url>,
    config: MemcachedConfig,
    /// Replaced after a failure, so that no connection from before it is reused.
    client: Mutex<Arc<memcache::Client>>,
    slots: Arc<Semaphore>,
    health: Mutex<Health>,
}

impl MemcachedCache {
    /// A cache over `servers` (`HOST:PORT` each). Connects lazily: a server that is down
    /// now is simply a miss until it answers.
    pub fn new(servers: &[String], config: MemcachedConfig) -> Result<Self, MemcachedConfigError> {
        if servers.is_empty() {
            return Err(MemcachedConfigError::NoServers);
        }
        if servers.len() > SERVERS_MAX {
            return Err(MemcachedConfigError::TooManyServers);
        }
        if config.blocking_calls_max == 0 || config.batch_keys_max == 0 {
            return Err(MemcachedConfigError::ZeroBound);
        }
        super::metrics::register(super::metrics::Backend::Memcached);
        let urls = servers
            .iter()
            .map(|server| server_url(server, config.io_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        let client = build_client(&urls, &config);
        Ok(Self {
            shared: Arc::new(Shared {
                urls,
                config,
                client: Mutex::new(Arc::new(client)),
                slots: Arc::new(Semaphore::new(config.blocking_calls_max)),
                health: Mutex::new(Health::default()),
            }),
        })
    }

    /// Runs `work` on the blocking pool with the current client. `None` if it was not run
    /// (backing off, or no slot free in time) or failed; failures are counted and logged.
    async fn call<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&memcache::Client) -> Result<T, MemcacheError> + Send + 'static,
    ) -> Option<T> {
        let shared = &self.shared;
        if lock(&shared.health).gate(Instant::now(), shared.policy()) == Gate::Skip {
            metrics::memcached_skipped(operation, "backing off");
            return None;
        }
        let acquire = Arc::clone(&shared.slots).acquire_owned();
        let Ok(Ok(slot)) = tokio::time::timeout(shared.config.slot_wait, acquire).await else {
            metrics::memcached_skipped(operation, "call slots busy");
            return None;
        };
        let client = Arc::clone(&lock(&shared.client));
        let used = Arc::clone(&client);
        // The slot moves into the task: it is held until the blocking call ends, even if
        // the caller stops waiting for it.
        let outcome = tokio::task::spawn_blocking(move || {
            let result = work(&used);
            drop(slot);
            result
        })
        .await;
        match outcome {
            Ok(Ok(value)) => {
                shared.succeeded();
                Some(value)
            }
            Ok(Err(error)) => {
                let unavailable = is_unavailable(&error);
                shared.failed(operation, &client, &error.to_string(), unavailable);
                None
            }
            Err(error) => {
                shared.failed(operation, &client, &error.to_string(), false);
                None
            }
        }
    }

    async fn get_chunk(&self, keys: &[String]) -> HashMap<String, Vec<u8>> {
        let keys = keys.to_vec();
        let found = self
            .call("get_many", move |client| {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                client.gets::<Vec<u8>>(&keys)
            })
            .await;
        found.unwrap_or_default()
    }
}

impl Shared {
    fn policy(&self) -> HealthPolicy {
        HealthPolicy {
            retry_after: self.config.retry_after,
            warn_every: self.config.warn_every,
        }
    }

    fn succeeded(&self) {
        if let Some(down) = lock(&self.health).succeeded(Instant::now()) {
            metrics::memcached_recovered(down.as_millis() as u64);
        }
    }

    /// Counts the failure, maybe warns, and drops every connection of the failed client:
    /// one cut off mid-reply could otherwise hand its leftover bytes to the next call.
    fn failed(
        &self,
        operation: &'static str,
        failed: &Arc<memcache::Client>,
        error: &str,
        unavailable: bool,
    ) {
        let warn = lock(&self.health).failed(Instant::now(), unavailable, self.policy());
        metrics::memcached_failed(operation, error, warn);
        let mut current = lock(&self.client);
        if Arc::ptr_eq(&current, failed) {
            *current = Arc::new(build_client(&self.urls, &self.config));
        }
    }
}

#[async_trait]
impl Cache for MemcachedCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        limits::check_key(key)?;
        let owned = key.to_owned();
        let value = self
            .call("get", move |client| client.get::<Vec<u8>>(&owned))
            .await
            .flatten();
        let hit = usize::from(value.is_some());
        metrics::looked_up(Backend::Memcached, hit, 1 - hit);
        Ok(value)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        limits::check_entry(key, value, ttl)?;
        let (key, value, ttl_s) = (key.to_owned(), value.to_vec(), expiry_s(ttl));
        self.call("set", move |client| {
            client.set(&key, value.as_slice(), ttl_s)
        })
        .await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        limits::check_key(key)?;
        let key = key.to_owned();
        self.call("delete", move |client| client.delete(&key)).await;
        Ok(())
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        limits::check_keys(keys.iter().map(String::as_str))?;
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(self.shared.config.batch_keys_max) {
            let mut found = self.get_chunk(chunk).await;
            values.extend(chunk.iter().map(|key| found.remove(key)));
        }
        let hits = values.iter().filter(|v| v.is_some()).count();
        metrics::looked_up(Backend::Memcached, hits, values.len() - hits);
        Ok(values)
    }

    async fn set_many(
        &self,
        entries: &[(String, Vec<u8>)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        limits::check_entries(entries, ttl)?;
        let ttl_s = expiry_s(ttl);
        for chunk in entries.chunks(self.shared.config.batch_keys_max) {
            let chunk = chunk.to_vec();
            self.call("set_many", move |client| {
                chunk
                    .iter()
                    .try_for_each(|(key, value)| client.set(key, value.as_slice(), ttl_s))
            })
            .await;
        }
        Ok(())
    }
}

/// Memcached's expiry: whole seconds, rounded up so that an entry never outlives its ttl
/// by less than it asked for. `ttl` is checked to be within 30 days.
fn expiry_s(ttl: Duration) -> u32 {
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// Failures that mean the server cannot be reached, as opposed to a bad reply.
fn is_unavailable(error: &MemcacheError) -> bool {
    matches!(
        error,
        MemcacheError::IOError(_) | MemcacheError::PoolError(_)
    )
}

/// The client URL of one `HOST:PORT`: the text protocol, whose replies name their keys,
/// with socket timeouts on every connection the pool opens.
fn server_url(server: &str, io_timeout: Duration) -> Result<Url, MemcachedConfigError> {
    let bad = || MemcachedConfigError::BadAddress(server.to_owned());
    if server.is_empty() || server.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let timeout_s = io_timeout.as_secs_f64();
    let text = format!("memcache://{server}?protocol=ascii&timeout={timeout_s}");
    let url = Url::parse(&text).map_err(|_| bad())?;
    if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
        return Err(bad());
    }
    Ok(url)
}

/// A client with one lazily filled pool per server. Building it opens no connection, so
/// it cannot fail because a server is down.
fn build_client(urls: &[Url], config: &MemcachedConfig) -> memcache::Client {
    let pool_size = u32::try_from(config.blocking_calls_max).unwrap_or(u32::MAX);
    let pools = urls
        .iter()
        .map(|url| {
            r2d2::Pool::builder()
                .max_size(pool_size)
                .min_idle(Some(0))
                .connection_timeout(config.connect_timeout)
                .test_on_check_out(false)
                .error_handler(Box::new(r2d2::NopErrorHandler))
                .build_unchecked(memcache::ConnectionManager::new(url.clone()))
        })
        .collect();
    memcache::Client::with_pools(pools).expect("with_pools only wraps the pools it is given")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; a poisoned one is still consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_must_be_host_and_port_only() {
        let timeout = Duration::from_millis(250);
        let url = server_url("127.0.0.1:11211", timeout).unwrap();
        assert_eq!(url.port(), Some(11211));
        assert!(url.query().unwrap().contains("protocol=ascii"));
        assert!(server_url("[::1]:11211", timeout).is_ok());
        assert!(server_url("cache.internal:11211", timeout).is_ok());
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:x",
            "a:1/b",
            "a:1?timeout=99",
            "u@a:1",
            ":1",
        ] {
            assert_eq!(
                server_url(bad, timeout),
                Err(MemcachedConfigError::BadAddress(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn expiry_rounds_up_to_whole_seconds() {
        assert_eq!(expiry_s(Duration::from_secs(1)), 1);
        assert_eq!(expiry_s(Duration::from_millis(1500)), 2);
        assert_eq!(expiry_s(limits::TTL_MAX), 30 * 24 * 3600);
    }

    #[test]
    fn a_cache_needs_servers_and_non_zero_bounds() {
        let config = MemcachedConfig::default();
        assert_eq!(
            MemcachedCache::new(&[], config).err(),
            Some(MemcachedConfigError::NoServers)
        );
        let many = vec!["127.0.0.1:1".to_owned(); SERVERS_MAX + 1];
        assert_eq!(
            MemcachedCache::new(&many, config).err(),
            Some(MemcachedConfigError::TooManyServers)
        );
        let zero = MemcachedConfig {
            batch_keys_max: 0,
            ..config
        };
        let one = ["127.0.0.1:1".to_owned()];
        assert_eq!(
            MemcachedCache::new(&one, zero).err(),
            Some(MemcachedConfigError::ZeroBound)
        );
    }
}
