//! The limits every cache backend enforces, taken from memcached's so that a value the
//! in-process cache accepts is one memcached would accept too, and the refusals they give.

use std::time::Duration;

/// Longest key, in bytes: memcached's limit.
pub const KEY_BYTES_MAX: usize = 250;

/// Largest value, in bytes: memcached's 1 MiB item limit less 1 KiB for the key and the
/// item's header, which count against the same limit.
pub const VALUE_BYTES_MAX: usize = 1024 * 1024 - 1024;

/// Shortest time to live: memcached counts expiry in whole seconds.
pub const TTL_MIN: Duration = Duration::from_secs(1);

/// Longest time to live: memcached reads a larger expiry as a point in time, not a span.
pub const TTL_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a cache refused a call. Only the caller's mistakes are errors: an unreachable
/// backend is a miss, never an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The key is empty or longer than `KEY_BYTES_MAX`.
    #[error("cache key of {bytes} bytes is outside 1..={KEY_BYTES_MAX}")]
    KeyLength { bytes: usize },
    /// The key holds a space or a control character, which memcached's text protocol
    /// cannot carry.
    #[error("cache key {key:?} holds a space or a control character")]
    KeyCharacter { key: String },
    /// The value is larger than `VALUE_BYTES_MAX`.
    #[error("cache value of {bytes} bytes is over {VALUE_BYTES_MAX}")]
    ValueTooLarge { bytes: usize },
    /// The time to live is outside `TTL_MIN..=TTL_MAX`.
    #[error("cache ttl of {ttl_ms} ms is outside 1 s..=30 days")]
    TtlOutOfRange { ttl_ms: u128 },
}

pub(crate) fn check_key(key: &str) -> Result<(), CacheError> {
    if key.is_empty() || key.len() > KEY_BYTES_MAX {
        return Err(CacheError::KeyLength { bytes: key.len() });
    }
    if key
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(CacheError::KeyCharacter {
            key: key.to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn check_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), CacheError> {
    keys.into_iter().try_for_each(check_key)
}

pub(crate) fn check_value(value: &[u8]) -> Result<(), CacheError> {
    if value.len() > VALUE_BYTES_MAX {
        return Err(CacheError::ValueTooLarge { bytes: value.len() });
    }
    Ok(())
}

pub(crate) fn check_ttl(ttl: Duration) -> Result<(), CacheError> {
    if !(TTL_MIN..=TTL_MAX).contains(&ttl) {
        return Err(CacheError::TtlOutOfRange {
            ttl_ms: ttl.as_millis(),
        });
    }
    Ok(())
}

/// Checks one `set`.
pub(crate) fn check_entry(key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
    check_key(key)?;
    check_value(value)?;
    check_ttl(ttl)
}

/// Checks a whole `set_many` before any of it is stored.
pub(crate) fn check_entries(
    entries: &[(String, Vec<u8>)],
    ttl: Duration,
) -> Result<(), CacheError> {
    check_ttl(ttl)?;
    entries
        .iter()
        .try_for_each(|(key, value)| check_entry(key, value, ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_outside_memcached_limits_are_refused_by_name() {
        assert_eq!(check_key(""), Err(CacheError::KeyLength { bytes: 0 }));
        let long = "k".repeat(KEY_BYTES_MAX + 1);
        assert_eq!(check_key(&long), Err(CacheError::KeyLength { bytes: 251 }));
        assert!(check_key(&"k".repeat(KEY_BYTES_MAX)).is_ok());
        for bad in ["a b", "a\nb", "a\rb", "a\tb", "a\u{7f}b"] {
            assert!(
                matches!(check_key(bad), Err(CacheError::KeyCharacter { .. })),
                "{bad:?}"
            );
        }
        assert!(check_key("olymp:1:catalog:ab-12/ü").is_ok());
    }

    #[test]
    fn values_and_lifetimes_outside_the_limits_are_refused_by_name() {
        let large = vec![0; VALUE_BYTES_MAX + 1];
        assert_eq!(
            check_value(&large),
            Err(CacheError::ValueTooLarge {
                bytes: VALUE_BYTES_MAX + 1
            })
        );
        assert!(check_value(&large[1..]).is_ok());
        let too_short = Duration::from_millis(999);
        assert_eq!(
            check_ttl(too_short),
            Err(CacheError::TtlOutOfRange { ttl_ms: 999 })
        );
        assert!(check_ttl(TTL_MAX + Duration::from_secs(1)).is_err());
        assert!(check_ttl(TTL_MIN).is_ok() && check_ttl(TTL_MAX).is_ok());
    }
}
