//! The anti-robot check (DESIGN §3 "Pages"): ALTCHA version 1. The browser finds the number
//! whose SHA-256 with the salt gives the challenge; the challenge is signed with HMAC, the
//! salt carries its expiry and the work asked (`max`), so neither can be altered; each
//! solution is accepted once (the caller keeps the replay set).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{constant_time_eq, hex, hmac_sha256};
use crate::random::Random;

/// The challenge the widget fetches (ALTCHA v1 JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub salt: String,
    pub signature: String,
    pub maxnumber: u64,
}

/// The solution the form sends, base64-encoded JSON in the field `altcha`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

/// Why a solution was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaError {
    /// Missing, not base64 JSON, another algorithm.
    Malformed,
    /// The signature or the hash does not hold.
    Forged,
    Expired,
    /// Solved at a lower difficulty than is now required for this number or address.
    TooEasy,
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Makes a challenge asking for up to `max` tries, valid until `expires`.
pub fn challenge(key: &[u8], random: &dyn Random, max: u64, expires: DateTime<Utc>) -> Challenge {
    let mut salt_bytes = [0u8; 12];
    random.fill(&mut salt_bytes);
    // The salt ends with `&`, never a digit: digits moved from the number onto the end of
    // the salt keep the hash but would change `max` (see `salt_params`).
    let salt = format!(
        "{}?expires={}&max={max}&",
        hex(&salt_bytes),
        expires.timestamp()
    );
    let bound = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
    let number = u64::from(random.below(bound));
    let challenge = sha256_hex(&format!("{salt}{number}"));
    let signature = hex(&hmac_sha256(key, challenge.as_bytes()));
    Challenge {
        algorithm: "SHA-256".into(),
        challenge,
        salt,
        signature,
        maxnumber: max,
    }
}

/// Checks a solution from the form; returns its challenge (the replay key) when it holds
/// and was solved at `required` difficulty or more.
pub fn verify(
    key: &[u8],
    field: &str,
    required: u64,
    now: DateTime<Utc>,
) -> Result<String, CaptchaError> {
    let json = STANDARD
        .decode(field.trim())
        .map_err(|_| CaptchaError::Malformed)?;
    let solution: Solution = serde_json::from_slice(&json).map_err(|_| CaptchaError::Malformed)?;
    if solution.algorithm != "SHA-256" {
        return Err(CaptchaError::Malformed);
    }
    let signature = hex(&hmac_sha256(key, solution.challenge.as_bytes()));
    let hashed = sha256_hex(&format!("{}{}", solution.salt, solution.number));
    let genuine = constant_time_eq(signature.as_bytes(), solution.signature.as_bytes())
        && constant_time_eq(hashed.as_bytes(), solution.challenge.as_bytes());
    if !genuine {
        return Err(CaptchaError::Forged);
    }
    let (expires, max) = salt_params(&solution.salt).ok_or(CaptchaError::Forged)?;
    if solution.number > max {
        return Err(CaptchaError::Forged);
    }
    if expires <= now.timestamp() {
        return Err(CaptchaError::Expired);
    }
    if max < required {
        return Err(CaptchaError::TooEasy);
    }
    Ok(solution.challenge)
}

/// `expires` and `max` from a salt exactly as [`challenge`] writes it:
/// `HEX?expires=SECONDS&max=N&`. Anything else, such as a salt with digits appended, is
/// refused.
fn salt_params(salt: &str) -> Option<(i64, u64)> {
    let (random, query) = salt.split_once('?')?;
    let query = query.strip_suffix('&')?;
    let (expires, max) = query.strip_prefix("expires=")?.split_once("&max=")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let valid = random.len() == 24
        && random.bytes().all(|b| b.is_ascii_hexdigit())
        && digits(expires)
        && digits(max);
    valid.then_some((expires.parse().ok()?, max.parse().ok()?))
}

/// Solves a challenge the way the browser's worker does (for tests and benchmarks).
pub fn solve(challenge: &Challenge) -> Option<String> {
    let number = (0..=challenge.maxnumber)
        .find(|n| sha256_hex(&format!("{}{n}", challenge.salt)) == challenge.challenge)?;
    let solution = Solution {
        algorithm: challenge.algorithm.clone(),
        challenge: challenge.challenge.clone(),
        number,
        salt: challenge.salt.clone(),
        signature: challenge.signature.clone(),
    };
    serde_json::to_vec(&solution)
        .ok()
        .map(|j| STANDARD.encode(j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    const KEY: &[u8] = b"captcha-key";

    fn fresh(max: u64) -> Challenge {
        challenge(
            KEY,
            &OsRandom,
            max,
            Utc::now() + chrono::Duration::minutes(5),
        )
    }

    #[test]
    fn a_solved_challenge_verifies() {
        let c = fresh(2000);
        let field = solve(&c).unwrap_or_default();
        assert_eq!(verify(KEY, &field, 2000, Utc::now()), Ok(c.challenge));
    }

    #[test]
    fn forged_expired_too_easy_and_malformed_are_refused() {
        let c = fresh(500);
        let field = solve(&c).unwrap_or_default();
        assert_eq!(
            verify(b"other-key", &field, 500, Utc::now()),
            Err(CaptchaError::Forged)
        );
        let later = Utc::now() + chrono::Duration::minutes(6);
        assert_eq!(verify(KEY, &field, 500, later), Err(CaptchaError::Expired));
        assert_eq!(
            verify(KEY, &field, 5000, Utc::now()),
            Err(CaptchaError::TooEasy)
        );
        assert_eq!(
            verify(KEY, "not base64!", 500, Utc::now()),
            Err(CaptchaError::Malformed)
        );
        let mut wrong: Solution =
            serde_json::from_slice(&STANDARD.decode(&field).unwrap_or_default())
                .unwrap_or_else(|_| unreachable!());
        wrong.number += 1;
        let wrong = STANDARD.encode(serde_json::to_vec(&wrong).unwrap_or_default());
        assert_eq!(
            verify(KEY, &wrong, 500, Utc::now()),
            Err(CaptchaError::Forged)
        );
    }

    #[test]
    fn digits_moved_from_the_number_onto_the_salt_are_refused() {
        // salt + number hashes the same when the number's first digit moves to the end of
        // the salt, so the challenge and its signature hold; the salt must not then claim
        // ten times the work.
        let decode = |field: &str| -> Option<Solution> {
            serde_json::from_slice(&STANDARD.decode(field).ok()?).ok()
        };
        let movable = |n: u64| {
            let digits = n.to_string();
            digits.len() >= 2 && !digits[1..].starts_with('0')
        };
        let solved = (0..100)
            .filter_map(|_| decode(&solve(&fresh(5000))?))
            .find(|s| movable(s.number));
        let Some(s) = solved else {
            unreachable!("no solution with two digits in 100 tries")
        };
        let digits = s.number.to_string();
        let moved = Solution {
            salt: format!("{}{}", s.salt, &digits[..1]),
            number: digits[1..].parse().unwrap_or_default(),
            ..s.clone()
        };
        assert_eq!(
            format!("{}{}", moved.salt, moved.number),
            format!("{}{}", s.salt, s.number)
        );
        let moved = STANDARD.encode(serde_json::to_vec(&moved).unwrap_or_default());
        assert_eq!(
            verify(KEY, &moved, 5000, Utc::now()),
            Err(CaptchaError::Forged)
        );
    }

    #[test]
    fn the_salt_cannot_be_edited_to_claim_more_work() {
        let c = fresh(500);
        let field = solve(&c).unwrap_or_default();
        let mut s: Solution = serde_json::from_slice(&STANDARD.decode(&field).unwrap_or_default())
            .unwrap_or_else(|_| unreachable!());
        s.salt = s.salt.replace("max=500", "max=500000");
        let edited = STANDARD.encode(serde_json::to_vec(&s).unwrap_or_default());
        assert_eq!(
            verify(KEY, &edited, 500000, Utc::now()),
            Err(CaptchaError::Forged)
        );
    }
}
