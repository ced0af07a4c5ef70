//! `MemcachedCache` against a real memcached that each test starts: round trips, the
//! limits, expiry, and a server that dies and comes back.

use std::time::{Duration, Instant};

use storage::cache::{Cache, CacheError, MemcachedCache, MemcachedConfig, VALUE_BYTES_MAX};

use crate::support::memcached::Memcached;

const MINUTE: Duration = Duration::from_secs(60);

fn cache(memcached: &Memcached) -> MemcachedCache {
    let config = MemcachedConfig {
        retry_after: Duration::from_millis(200),
        ..MemcachedConfig::default()
    };
    MemcachedCache::new(&[memcached.address()], config).unwrap()
}

/// `olymp_cache_errors_total` in the process-wide registry.
fn errors_total() -> u64 {
    prometheus::gather()
        .iter()
        .filter(|family| family.name() == "olymp_cache_errors_total")
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_through_a_real_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let cache = cache(&memcached);
    let binary: Vec<u8> = (0..=255).chain(*b"\r\nEND\r\n").collect();
    cache
        .set("olymp:test:binary", &binary, MINUTE)
        .await
        .unwrap();
    assert_eq!(cache.get("olymp:test:binary").await.unwrap(), Some(binary));
    let largest = vec![7u8; VALUE_BYTES_MAX];
    cache
        .set("olymp:test:largest", &largest, MINUTE)
        .await
        .unwrap();
    assert_eq!(
        cache.get("olymp:test:largest").await.unwrap(),
        Some(largest)
    );
    cache.delete("olymp:test:binary").await.unwrap();
    assert_eq!(cache.get("olymp:test:binary").await.unwrap(), None);
    assert_eq!(memcached.stats()["get_hits"], 2);
    assert_eq!(memcached.values(), vec![vec![7u8; VALUE_BYTES_MAX]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_keep_the_order_of_their_keys_across_chunks() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let cache = cache(&memcached);
    let entries: Vec<(String, Vec<u8>)> = (0..150)
        .filter(|n| n % 3 != 0)
        .map(|n| {
            (
                format!("olymp:test:row:{n}"),
                format!("row {n}").into_bytes(),
            )
        })
        .collect();
    cache.set_many(&entries, MINUTE).await.unwrap();
    let keys: Vec<String> = (0..150).map(|n| format!("olymp:test:row:{n}")).collect();
    let values = cache.get_many(&keys).await.unwrap();
    for (n, value) in values.iter().enumerate() {
        let expected = (n % 3 != 0).then(|| format!("row {n}").into_bytes());
        assert_eq!(value, &expected, "key {n}");
    }
    assert_eq!(memcached.stats()["curr_items"], 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_never_reach_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let cache = cache(&memcached);
    let long_key = "k".repeat(251);
    let refusals = [
        cache.set(&long_key, b"v", MINUTE).await,
        cache.set("k", &vec![0; VALUE_BYTES_MAX + 1], MINUTE).await,
        cache.set("k", b"v", Duration::from_millis(10)).await,
        cache.set("a b", b"v", MINUTE).await,
        cache.get("a\r\nflush_all").await.map(|_| ()),
    ];
    assert!(matches!(
        refusals[0],
        Err(CacheError::KeyLength { bytes: 251 })
    ));
    assert!(matches!(refusals[1], Err(CacheError::ValueTooLarge { .. })));
    assert!(matches!(
        refusals[2],
        Err(CacheError::TtlOutOfRange { ttl_ms: 10 })
    ));
    assert!(matches!(refusals[3], Err(CacheError::KeyCharacter { .. })));
    assert!(matches!(refusals[4], Err(CacheError::KeyCharacter { .. })));
    let stats = memcached.stats();
    assert_eq!((stats["cmd_get"], stats["cmd_set"]), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_expires_after_its_ttl() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let cache = cache(&memcached);
    cache
        .set("olymp:test:short", b"v", Duration::from_secs(1))
        .await
        .unwrap();
    assert!(cache.get("olymp:test:short").await.unwrap().is_some());
    // memcached's clock ticks in whole seconds: a 1 s entry lives at most 2 s.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(cache.get("olymp:test:short").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_started_is_a_quick_miss() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let address = memcached.address();
    memcached.stop();
    let cache = MemcachedCache::new(&[address], MemcachedConfig::default()).unwrap();
    let started = Instant::now();
    cache.set("olymp:test:k", b"v", MINUTE).await.unwrap();
    for _ in 0..100 {
        assert_eq!(cache.get("olymp:test:k").await.unwrap(), None);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_memcached_is_a_counted_miss_and_is_used_again_once_back() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let port = memcached.port;
    let cache = cache(&memcached);
    cache.set("olymp:test:k", b"before", MINUTE).await.unwrap();
    assert!(cache.get("olymp:test:k").await.unwrap().is_some());

    let errors_before = errors_total();
    memcached.stop();
    let started = Instant::now();
    for _ in 0..50 {
        assert_eq!(cache.get("olymp:test:k").await.unwrap(), None);
        cache.set("olymp:test:k", b"during", MINUTE).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(errors_total() > errors_before, "the outage is counted");

    let memcached = Memcached::start_on(port).expect("memcached restarts");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        cache.set("olymp:test:k", b"after", MINUTE).await.unwrap();
        if cache.get("olymp:test:k").await.unwrap().as_deref() == Some(b"after".as_slice()) {
            break;
        }
        assert!(Instant::now() < deadline, "the cache did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(memcached.stats()["get_hits"] >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_beyond_the_slots_wait_or_miss_but_never_fail() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let config = MemcachedConfig {
        blocking_calls_max: 2,
        ..MemcachedConfig::default()
    };
    let cache = MemcachedCache::new(&[memcached.address()], config).unwrap();
    cache.set("olymp:test:k", b"v", MINUTE).await.unwrap();
    let reads = (0..200).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get("olymp:test:k").await })
    });
    let mut hits = 0;
    for read in reads.collect::<Vec<_>>() {
        let value = read.await.unwrap().unwrap();
        assert!(value.is_none() || value.as_deref() == Some(b"v".as_slice()));
        hits += usize::from(value.is_some());
    }
    assert!(hits > 0);
}
