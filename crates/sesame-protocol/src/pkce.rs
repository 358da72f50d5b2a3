//! Proof Key for Code Exchange (RFC 7636). Only `S256` is accepted (RFC 9700 §2.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A validated `code_challenge` for the `S256` method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeChallenge(String);

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 to 128 unreserved characters")]
    MalformedChallenge,
    #[error("code_challenge_method given without code_challenge")]
    MethodWithoutChallenge,
}

impl CodeChallenge {
    /// Checks a challenge and its method as they arrive on `/authorize`.
    /// RFC 7636 §4.3: a missing method means `plain`, which Sesame refuses.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Self>, PkceError> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(PkceError::MethodWithoutChallenge),
            (Some(_), None | Some("plain")) => Err(PkceError::UnsupportedMethod),
            (Some(c), Some("S256")) if is_pkce_string(c) => Ok(Some(Self(c.to_owned()))),
            (Some(_), Some("S256")) => Err(PkceError::MalformedChallenge),
            (Some(_), Some(_)) => Err(PkceError::UnsupportedMethod),
        }
    }

    /// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_pkce_string(verifier) {
            return false;
        }
        let digest = Sha256::digest(verifier.as_bytes());
        let computed = URL_SAFE_NO_PAD.encode(digest);
        constant_time_eq(computed.as_bytes(), self.0.as_bytes())
    }

    /// The challenge as it was sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector_verifies() {
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256"))
            .ok()
            .flatten();
        assert!(c.as_ref().is_some_and(|c| c.verify(VERIFIER)));
        assert!(!c.is_some_and(|c| c.verify(&VERIFIER.replace('d', "e"))));
    }

    #[test]
    fn rfc7636_4_3_plain_and_missing_method_are_refused() {
        assert_eq!(
            CodeChallenge::parse(Some(CHALLENGE), Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(Some(CHALLENGE), None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(PkceError::MethodWithoutChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some("short"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(CodeChallenge::parse(None, None), Ok(None));
    }

    #[test]
    fn short_verifier_never_matches() {
        let c = CodeChallenge(CHALLENGE.into());
        assert!(!c.verify("abc"));
    }
}
