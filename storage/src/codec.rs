//! The one codec for data at rest: a format-version byte, then bincode 2 (serde mode).
//!
//! bincode is pinned to `=2.0.1` (3.0.0 is an empty release that does not compile; 2.0.1 is
//! flagged unmaintained, RUSTSEC-2025-0141). Nothing else in the workspace names bincode,
//! so swapping it means changing this file and bumping `FORMAT_VERSION`.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version byte written before every encoded value.
pub const FORMAT_VERSION: u8 = 1;

/// Largest value the decoder accepts, in bytes; a corrupt length can't make it allocate more.
pub const DECODE_LIMIT_BYTES: usize = 16 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

/// Encodes a value for storage. Encoding plain data types cannot fail; a failure here is a
/// programming error in a type's `Serialize` impl.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("plain data types always encode");
    out
}

/// Why stored bytes could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("stored value is empty")]
    Empty,
    #[error("stored value has format version {0}, this build reads {FORMAT_VERSION}")]
    UnknownVersion(u8),
    #[error("stored value is corrupt")]
    Corrupt(#[source] bincode::error::DecodeError),
    #[error("stored value has {0} trailing bytes")]
    TrailingBytes(usize),
}

/// Decodes a value written by `encode`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion(version));
    }
    let (value, read) =
        bincode::serde::decode_from_slice(body, config()).map_err(CodecError::Corrupt)?;
    if read != body.len() {
        return Err(CodecError::TrailingBytes(body.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Sample {
        Text { text: String, at_ms: u64 },
        Empty,
    }

    #[test]
    fn values_round_trip_with_the_version_byte_first() {
        let value = Sample::Text {
            text: "Қазақ тілі".into(),
            at_ms: 7,
        };
        let bytes = encode(&value);
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), value);
        assert_eq!(
            decode::<Sample>(&encode(&Sample::Empty)).unwrap(),
            Sample::Empty
        );
    }

    #[test]
    fn unknown_version_and_corruption_are_named() {
        let mut bytes = encode(&Sample::Empty);
        bytes[0] = 9;
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::UnknownVersion(9))
        ));
        assert!(matches!(decode::<Sample>(&[]), Err(CodecError::Empty)));
        assert!(matches!(
            decode::<Sample>(&[FORMAT_VERSION, 200]),
            Err(CodecError::Corrupt(_))
        ));
        let mut long = encode(&Sample::Empty);
        long.push(0);
        assert!(matches!(
            decode::<Sample>(&long),
            Err(CodecError::TrailingBytes(1))
        ));
    }
}
