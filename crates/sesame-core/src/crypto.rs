//! Key derivation and sealing: authenticated encryption of small values (the sealed
//! authorization request of DESIGN §5.7, signing keys at rest).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use josekit::jwe::{Dir, JweHeader};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Derives a 256-bit key for one purpose from an operator secret (HMAC-SHA256 as a PRF).
pub fn derive_key(secret: &[u8], purpose: &str) -> [u8; 32] {
    hmac_sha256(secret, format!("sesame/v1/{purpose}").as_bytes())
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// SHA-256 of a token, base64url: how link tokens and codes are looked up at rest.
pub fn token_digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Compares two byte strings in time that depends only on their length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seals values with AES-256-GCM in a compact JWE (`dir`), under a key for one purpose.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

/// The sealed value could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealing failed")]
    Seal,
    #[error("sealed value is forged, damaged, expired or for another purpose")]
    Open,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: Option<i64>,
    v: T,
}

impl Sealer {
    /// A sealer whose key is derived from `secret` for `purpose`.
    pub fn new(secret: &[u8], purpose: &str) -> Self {
        Self {
            key: derive_key(secret, purpose),
        }
    }

    /// Seals `value`, to be refused after `expires` if given.
    pub fn seal<T: Serialize>(
        &self,
        value: &T,
        expires: Option<DateTime<Utc>>,
    ) -> Result<String, SealError> {
        let envelope = Envelope {
            exp: expires.map(|e| e.timestamp()),
            v: value,
        };
        let payload = serde_json::to_vec(&envelope).map_err(|_| SealError::Seal)?;
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        let encrypter = Dir
            .encrypter_from_bytes(self.key)
            .map_err(|_| SealError::Seal)?;
        josekit::jwe::serialize_compact(&payload, &header, &encrypter).map_err(|_| SealError::Seal)
    }

    /// Opens a sealed value, checking its integrity and expiry.
    pub fn open<T: DeserializeOwned>(
        &self,
        sealed: &str,
        now: DateTime<Utc>,
    ) -> Result<T, SealError> {
        let decrypter = Dir
            .decrypter_from_bytes(self.key)
            .map_err(|_| SealError::Open)?;
        let (payload, _) =
            josekit::jwe::deserialize_compact(sealed, &decrypter).map_err(|_| SealError::Open)?;
        let envelope: Envelope<T> =
            serde_json::from_slice(&payload).map_err(|_| SealError::Open)?;
        match envelope.exp {
            Some(exp) if exp < now.timestamp() => Err(SealError::Open),
            _ => Ok(envelope.v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let s = Sealer::new(b"0123456789abcdef0123456789abcdef", "test");
        let now = Utc::now();
        let sealed = s.seal(&vec![1, 2, 3], Some(now + chrono::Duration::minutes(1)));
        let sealed = sealed.unwrap_or_default();
        assert_eq!(s.open::<Vec<i32>>(&sealed, now), Ok(vec![1, 2, 3]));
        let later = now + chrono::Duration::minutes(2);
        assert_eq!(s.open::<Vec<i32>>(&sealed, later), Err(SealError::Open));
        let other = Sealer::new(b"0123456789abcdef0123456789abcdef", "other");
        assert_eq!(other.open::<Vec<i32>>(&sealed, now), Err(SealError::Open));
        let mut forged = sealed.clone();
        forged.insert(forged.len() - 3, 'A');
        assert!(s.open::<Vec<i32>>(&forged, now).is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        assert_ne!(derive_key(b"k", "a"), derive_key(b"k", "b"));
    }
}
