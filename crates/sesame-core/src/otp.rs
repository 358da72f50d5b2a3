//! One-time codes (DESIGN §5.2): six digits from a CSPRNG, kept only as a keyed digest,
//! single use, limited in time and in wrong tries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::acr::Channel;
use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::random::Random;
use crate::secret::SecretString;

/// The latest code sent for a flow. A resend replaces it, so earlier codes die at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    digest: String,
    /// The login flow the code was sent for; a code sent for another flow replaces it.
    pub flow: String,
    pub attempts: u32,
    pub channel: Channel,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The result of checking a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong,
    /// Expired or out of tries: a new code must be sent.
    Dead,
}

/// Draws a new six-digit code.
pub fn generate(random: &dyn Random) -> SecretString {
    SecretString::new(format!("{:06}", random.below(1_000_000)))
}

/// Keeps a user's typing tolerant: spaces and dashes are ignored.
pub fn normalize_typed(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

impl PendingCode {
    /// Records a code just sent, under a server key so that a dump of the state store does
    /// not give the codes away.
    pub fn new(
        key: &[u8],
        code: &SecretString,
        flow: &str,
        channel: Channel,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Self {
        Self {
            digest: digest(key, code.expose()),
            flow: flow.to_owned(),
            attempts: 0,
            channel,
            sent_at: now,
            expires_at: now + ttl,
        }
    }

    /// Checks a typed code, counting the try.
    pub fn check(
        &mut self,
        key: &[u8],
        typed: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> CodeCheck {
        if now >= self.expires_at || self.attempts >= max_attempts {
            return CodeCheck::Dead;
        }
        self.attempts += 1;
        let typed = normalize_typed(typed);
        if constant_time_eq(digest(key, &typed).as_bytes(), self.digest.as_bytes()) {
            CodeCheck::Accepted
        } else {
            CodeCheck::Wrong
        }
    }
}

fn digest(key: &[u8], code: &str) -> String {
    crate::crypto::hex(&hmac_sha256(key, code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use chrono::Duration;

    const KEY: &[u8] = b"otp-key";

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..200 {
            let c = generate(&OsRandom);
            assert_eq!(c.expose().len(), 6);
            assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn right_code_is_accepted_with_spaces() {
        let now = Utc::now();
        let code = SecretString::new("012345");
        let mut p = PendingCode::new(KEY, &code, "f", Channel::Email, now, Duration::minutes(10));
        assert_eq!(p.check(KEY, "012 345", 5, now), CodeCheck::Accepted);
    }

    #[test]
    fn tries_and_expiry_are_limited() {
        let now = Utc::now();
        let code = SecretString::new("012345");
        let mut p = PendingCode::new(KEY, &code, "f", Channel::Email, now, Duration::minutes(10));
        for _ in 0..5 {
            assert_eq!(p.check(KEY, "999999", 5, now), CodeCheck::Wrong);
        }
        assert_eq!(p.check(KEY, "012345", 5, now), CodeCheck::Dead);
        let mut fresh =
            PendingCode::new(KEY, &code, "f", Channel::Email, now, Duration::minutes(10));
        assert_eq!(
            fresh.check(KEY, "012345", 5, now + Duration::minutes(10)),
            CodeCheck::Dead
        );
    }
}
