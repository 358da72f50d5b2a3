//! Password hashing (argon2id, DESIGN §5.1), the legacy hashes taken at import (DESIGN §3),
//! and the password policy.

mod common;
mod legacy;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

pub use legacy::{MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS};

use crate::policy::PasswordPolicy;
use crate::secret::SecretString;

/// The hash formats [`PasswordHash::parse`] accepts, as an operator would recognise them.
pub const ACCEPTED_FORMATS: &str = "argon2 PHC ($argon2id$…), bcrypt ($2a$, $2b$, $2y$), \
     PBKDF2-SHA256 as passlib writes it ($pbkdf2-sha256$…) or as Django does (pbkdf2_sha256$…)";

/// A stored password hash: an argon2 PHC string, or a legacy hash (bcrypt, PBKDF2-SHA256)
/// taken at import and replaced by argon2id at the next login. Opaque; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// Why a hash text was refused, or hashing failed. The messages never quote the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedHash {
    /// Not a format Sesame knows.
    #[error("not a supported password hash; accepted: {ACCEPTED_FORMATS}")]
    UnknownFormat,
    /// A known format whose text is damaged.
    #[error("malformed {format} hash")]
    Malformed {
        /// The format, as named to operators.
        format: &'static str,
    },
    /// A known format asking for more work than a login may spend.
    #[error("{format} hash too costly to verify: Sesame takes {limit}")]
    TooCostly {
        /// The format, as named to operators.
        format: &'static str,
        /// The bound, in words.
        limit: &'static str,
    },
    /// argon2 could not hash the password.
    #[error("password hashing failed")]
    HashingFailed,
}

impl PasswordHash {
    /// Accepts an argon2 PHC string (`$argon2id$`, `$argon2i$`, `$argon2d$`) or a legacy
    /// hash: bcrypt (`$2a$`, `$2b$`, `$2y$`, cost at most [`MAX_BCRYPT_COST`]), PBKDF2-SHA256
    /// as passlib (`$pbkdf2-sha256$<rounds>$<salt>$<key>`, ab64) or Django
    /// (`pbkdf2_sha256$<iterations>$<salt>$<base64 key>`) writes it, with at most
    /// [`MAX_PBKDF2_ITERATIONS`] iterations.
    pub fn parse(text: &str) -> Result<Self, UnsupportedHash> {
        if let Some(parsed) = legacy::recognise(text) {
            return parsed.map(|_| Self(text.to_owned()));
        }
        let argon2 = ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|prefix| text.starts_with(prefix));
        match argon2::PasswordHash::new(text) {
            Ok(phc) if argon2 && phc.hash.is_some() => Ok(Self(text.to_owned())),
            _ if argon2 => Err(UnsupportedHash::Malformed { format: "argon2" }),
            _ => Err(UnsupportedHash::UnknownFormat),
        }
    }

    /// The hash text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the hash should be replaced by a fresh argon2id one at the next login: a
    /// legacy format, or argon2 with weaker parameters than the current ones.
    pub fn needs_rehash(&self) -> bool {
        if legacy::recognise(&self.0).is_some() {
            return true;
        }
        let Ok(phc) = argon2::PasswordHash::new(&self.0) else {
            return true;
        };
        let current = params();
        let get = |name: &str| phc.params.get_decimal(name).unwrap_or(0);
        phc.algorithm.as_str() != "argon2id"
            || get("m") < current.m_cost()
            || get("t") < current.t_cost()
    }
}

fn params() -> Params {
    // m = 19 MiB, t = 2, p = 1: the OWASP minimum that DESIGN §5.1 names.
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

fn argon() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Hashes a password with argon2id. CPU-heavy: call it off the async runtime.
pub fn hash(password: &SecretString) -> Result<PasswordHash, UnsupportedHash> {
    argon()
        .hash_password(password.expose().as_bytes())
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|_| UnsupportedHash::HashingFailed)
}

/// Verifies a password against a stored hash, exactly as typed (no normalisation), in
/// constant time. A malformed or over-costly stored hash verifies as false. CPU-heavy.
pub fn verify(password: &SecretString, stored: &PasswordHash) -> bool {
    if let Some(parsed) = legacy::recognise(stored.as_str()) {
        return parsed.is_ok_and(|hash| hash.verify(password.expose().as_bytes()));
    }
    let Ok(phc) = argon2::PasswordHash::new(stored.as_str()) else {
        return false;
    };
    argon()
        .verify_password(password.expose().as_bytes(), &phc)
        .is_ok()
}

/// A hash of a random password, verified for unknown numbers so that timing does not
/// tell whether an account exists (DESIGN §5.3).
pub fn dummy_hash() -> PasswordHash {
    static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let random = crate::random::Random::token(&crate::random::OsRandom, 24);
            hash(&SecretString::new(random)).unwrap_or_else(|_| PasswordHash(String::new()))
        })
        .clone()
}

/// Why a new password was refused, one reason per rule (the checklist's lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    NoLower,
    NoUpper,
    NoDigit,
    NoSpecial,
    ContainsNumber,
    /// One of the passwords people choose first (`Azerty123456!`).
    Common,
    SameAsCurrent,
    Mismatch,
}

/// NFKC-normalises a new password (DESIGN §5.1). Spaces are kept.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a new, already normalised password against the policy. Length counts code
/// points; classes are Unicode categories; anything neither letter nor digit is special.
pub fn check_policy(
    policy: &PasswordPolicy,
    password: &str,
    cohort_number: Option<&str>,
) -> Vec<PasswordProblem> {
    let length = password.chars().count();
    let mut problems = Vec::new();
    let mut add = |failed: bool, p: PasswordProblem| {
        if failed {
            problems.push(p);
        }
    };
    add(length < policy.min_length, PasswordProblem::TooShort);
    add(length > policy.max_length, PasswordProblem::TooLong);
    let any = |f: fn(char) -> bool| password.chars().any(f);
    add(
        policy.require_lower && !any(char::is_lowercase),
        PasswordProblem::NoLower,
    );
    add(
        policy.require_upper && !any(char::is_uppercase),
        PasswordProblem::NoUpper,
    );
    add(
        policy.require_digit && !any(|c| c.is_numeric()),
        PasswordProblem::NoDigit,
    );
    add(
        policy.require_special && !any(|c| !c.is_alphanumeric()),
        PasswordProblem::NoSpecial,
    );
    add(
        cohort_number.is_some_and(|n| password.contains(n)),
        PasswordProblem::ContainsNumber,
    );
    add(common::is_common(password), PasswordProblem::Common);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Vec<PasswordProblem> {
        check_policy(&PasswordPolicy::default(), &normalize(p), Some("12345678"))
    }

    #[test]
    fn hash_and_verify_round_trip() {
        let pw = SecretString::new("Correct-Horse-9");
        let h = hash(&pw);
        assert!(h.as_ref().is_ok_and(|h| verify(&pw, h)));
        assert!(
            h.as_ref()
                .is_ok_and(|h| !verify(&SecretString::new("wrong"), h))
        );
        assert!(h.is_ok_and(|h| !h.needs_rehash() && h.as_str().starts_with("$argon2id$")));
    }

    #[test]
    fn argon2_is_parsed_and_unknown_formats_refused() {
        assert_eq!(
            PasswordHash::parse("plain"),
            Err(UnsupportedHash::UnknownFormat)
        );
        assert!(PasswordHash::parse("$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA").is_err());
        let no_hash = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ";
        assert_eq!(
            PasswordHash::parse(no_hash),
            Err(UnsupportedHash::Malformed { format: "argon2" })
        );
        let weak = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert!(PasswordHash::parse(weak).is_ok_and(|h| h.needs_rehash()));
    }

    #[test]
    fn guide_policy_pinned_results() {
        assert_eq!(check("Abcdefgh1!x"), vec![PasswordProblem::TooShort]);
        assert_eq!(check("Abcdefgh1!xy"), vec![]);
        assert_eq!(check(&format!("Ab1!{}", "x".repeat(26))), vec![]);
        assert_eq!(
            check(&format!("Ab1!{}", "x".repeat(27))),
            vec![PasswordProblem::TooLong]
        );
        assert_eq!(check("abcdefgh1!xy"), vec![PasswordProblem::NoUpper]);
        assert_eq!(check("Éèàçùabcd1 x"), vec![]);
        assert_eq!(check("Abcdefgh1😀xy"), vec![]);
        assert_eq!(check("Ab!x12345678"), vec![PasswordProblem::ContainsNumber]);
    }
}
