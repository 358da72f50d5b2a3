//! Signing keys: RS256 and ES256 key pairs made at first start, private parts sealed with
//! the master key at rest, public parts published as a JWK set.

use chrono::{DateTime, Utc};
use josekit::jwk::Jwk;
use josekit::jwk::alg::{ec::EcKeyPair, rsa::RsaKeyPair};
use josekit::jws::{ES256, JwsHeader, JwsSigner, JwsVerifier, RS256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::Sealer;
use crate::random::Random;

/// The JWS algorithms Sesame signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
}

impl SigningAlg {
    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }

    /// Parses an `alg` value Sesame supports.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            _ => None,
        }
    }
}

/// A key as the store keeps it: the private PEM sealed, the public JWK in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub private_sealed: String,
    pub public_jwk: String,
    pub created_at: DateTime<Utc>,
}

/// A key failed to be made, opened or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("a stored signing key could not be opened (is master_key the one it was sealed with?)")]
    Open,
    #[error("signing failed")]
    Sign,
    #[error("no signing key for {0:?}")]
    Missing(SigningAlg),
}

#[derive(Debug)]
struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public: Jwk,
}

/// The keys in use, newest first within each algorithm.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<LoadedKey>,
}

/// Makes a new key pair and seals its private part.
pub fn generate(
    alg: SigningAlg,
    sealer: &Sealer,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<StoredKey, KeyError> {
    let err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    let (pem, mut public) = match alg {
        SigningAlg::RS256 => {
            let pair: RsaKeyPair = RS256.generate_key_pair(2048).map_err(err)?;
            (pair.to_pem_private_key(), pair.to_jwk_public_key())
        }
        SigningAlg::ES256 => {
            let pair: EcKeyPair = ES256.generate_key_pair().map_err(err)?;
            (pair.to_pem_private_key(), pair.to_jwk_public_key())
        }
    };
    let kid = random.token(12);
    public.set_key_id(kid.clone());
    public.set_algorithm(alg.as_str());
    public.set_key_use("sig");
    let pem = String::from_utf8(pem).map_err(|e| KeyError::Generate(e.to_string()))?;
    let private_sealed = sealer
        .seal(&pem, None)
        .map_err(|_| KeyError::Generate("seal".into()))?;
    Ok(StoredKey {
        kid,
        alg,
        private_sealed,
        public_jwk: public.to_string(),
        created_at: now,
    })
}

impl KeyRing {
    /// Opens stored keys. Fails if any cannot be opened with this master key.
    pub fn open(
        mut stored: Vec<StoredKey>,
        sealer: &Sealer,
        now: DateTime<Utc>,
    ) -> Result<Self, KeyError> {
        stored.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        let keys = stored
            .iter()
            .map(|k| load(k, sealer, now))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// True when the ring has a key for `alg`.
    pub fn has(&self, alg: SigningAlg) -> bool {
        self.keys.iter().any(|k| k.alg == alg)
    }

    /// The public JWK set (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.public.as_ref().clone()))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` as a compact JWS with the newest key for `alg`.
    pub fn sign(
        &self,
        alg: SigningAlg,
        typ: Option<&str>,
        claims: &Value,
    ) -> Result<String, KeyError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.alg == alg)
            .ok_or(KeyError::Missing(alg))?;
        let mut header = JwsHeader::new();
        header.set_key_id(key.kid.clone());
        if let Some(typ) = typ {
            header.set_token_type(typ);
        }
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        josekit::jws::serialize_compact(&payload, &header, key.signer.as_ref())
            .map_err(|_| KeyError::Sign)
    }

    /// Verifies a compact JWS made by one of our keys with `alg`, whatever its `typ`
    /// (an id_token has none); returns its claims.
    pub fn verify_untyped(&self, token: &str, alg: SigningAlg) -> Option<Value> {
        let header = josekit::jwt::decode_header(token).ok()?;
        let kid = header.claim("kid")?.as_str()?.to_owned();
        let key = self.keys.iter().find(|k| k.alg == alg && k.kid == kid)?;
        let (payload, _) = josekit::jws::deserialize_compact(token, key.verifier.as_ref()).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// Verifies a compact JWS made by one of our keys with `alg` and `typ`; returns its claims.
    pub fn verify(&self, token: &str, alg: SigningAlg, typ: &str) -> Option<Value> {
        let header = josekit::jwt::decode_header(token).ok()?;
        let kid = header.claim("kid")?.as_str()?.to_owned();
        let key = self.keys.iter().find(|k| k.alg == alg && k.kid == kid)?;
        let (payload, header) =
            josekit::jws::deserialize_compact(token, key.verifier.as_ref()).ok()?;
        if header.token_type() != Some(typ) {
            return None;
        }
        serde_json::from_slice(&payload).ok()
    }
}

fn load(stored: &StoredKey, sealer: &Sealer, now: DateTime<Utc>) -> Result<LoadedKey, KeyError> {
    let pem: String = sealer
        .open(&stored.private_sealed, now)
        .map_err(|_| KeyError::Open)?;
    let public = Jwk::from_bytes(stored.public_jwk.as_bytes()).map_err(|_| KeyError::Open)?;
    let (signer, verifier): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = match stored.alg {
        SigningAlg::RS256 => (
            Box::new(RS256.signer_from_pem(&pem).map_err(|_| KeyError::Open)?),
            Box::new(
                RS256
                    .verifier_from_jwk(&public)
                    .map_err(|_| KeyError::Open)?,
            ),
        ),
        SigningAlg::ES256 => (
            Box::new(ES256.signer_from_pem(&pem).map_err(|_| KeyError::Open)?),
            Box::new(
                ES256
                    .verifier_from_jwk(&public)
                    .map_err(|_| KeyError::Open)?,
            ),
        ),
    };
    Ok(LoadedKey {
        kid: stored.kid.clone(),
        alg: stored.alg,
        signer,
        verifier,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn sign_verify_and_publish() {
        let sealer = Sealer::new(b"master-key-master-key-master-key!", "keys");
        let now = Utc::now();
        let stored: Vec<StoredKey> = [SigningAlg::RS256, SigningAlg::ES256]
            .into_iter()
            .filter_map(|alg| generate(alg, &sealer, &OsRandom, now).ok())
            .collect();
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|k| !k.private_sealed.contains("PRIVATE")));
        let ring = KeyRing::open(stored, &sealer, now);
        assert!(ring.is_ok());
        let Ok(ring) = ring else { return };
        let claims = serde_json::json!({"sub": "x"});
        let token = ring
            .sign(SigningAlg::ES256, Some("at+jwt"), &claims)
            .unwrap_or_default();
        assert_eq!(
            ring.verify(&token, SigningAlg::ES256, "at+jwt"),
            Some(claims.clone())
        );
        assert_eq!(ring.verify(&token, SigningAlg::ES256, "JWT"), None);
        assert_eq!(ring.verify(&token, SigningAlg::RS256, "at+jwt"), None);
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
        assert_eq!(keys.len(), 2);
        assert!(
            keys.iter()
                .all(|k| k.get("d").is_none() && k["kid"].is_string())
        );
    }

    #[test]
    fn wrong_master_key_is_refused() {
        let sealer = Sealer::new(b"master-key-master-key-master-key!", "keys");
        let now = Utc::now();
        let stored = generate(SigningAlg::ES256, &sealer, &OsRandom, now)
            .into_iter()
            .collect();
        let other = Sealer::new(b"another-key-another-key-another!!", "keys");
        assert!(matches!(
            KeyRing::open(stored, &other, now),
            Err(KeyError::Open)
        ));
    }
}
