//! SSO sessions: what lets a participant reach another RP without logging in again.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::acr::{Acr, Amr};
use crate::participant::ParticipantId;
use crate::policy::SessionPolicy;

/// A live login at Sesame, kept in short-lived state under `session:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSession {
    pub id: String,
    pub participant: ParticipantId,
    pub auth_time: DateTime<Utc>,
    pub acr: Acr,
    pub amr: Vec<Amr>,
    /// "Stay connected": the session survives browser restarts and idle time.
    pub remember: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl SsoSession {
    /// When the session ends at the latest.
    pub fn hard_expiry(&self, policy: &SessionPolicy) -> DateTime<Utc> {
        let life = if self.remember {
            policy.remember_me
        } else {
            policy.max
        };
        self.created_at + life
    }

    /// True while the session may be used.
    pub fn is_live(&self, policy: &SessionPolicy, now: DateTime<Utc>) -> bool {
        let idle_ok = self.remember || now - self.last_seen < policy.idle;
        idle_ok && now < self.hard_expiry(policy)
    }

    /// How long the stored record should live from `now`.
    pub fn ttl(&self, policy: &SessionPolicy, now: DateTime<Utc>) -> Duration {
        let hard = self.hard_expiry(policy) - now;
        if self.remember {
            hard
        } else {
            hard.min(policy.idle)
        }
    }

    /// OIDC Core §3.1.2.1 `max_age`: true when the last authentication is recent enough.
    pub fn satisfies_max_age(&self, max_age: Option<u64>, now: DateTime<Utc>) -> bool {
        match max_age {
            None => true,
            Some(secs) => {
                let secs = i64::try_from(secs).unwrap_or(i64::MAX);
                now - self.auth_time <= Duration::seconds(secs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(remember: bool, now: DateTime<Utc>) -> SsoSession {
        SsoSession {
            id: "s".into(),
            participant: ParticipantId::generate(),
            auth_time: now,
            acr: Acr::Mfa,
            amr: vec![],
            remember,
            created_at: now,
            last_seen: now,
        }
    }

    #[test]
    fn idle_session_ends_unless_remembered() {
        let policy = SessionPolicy::default();
        let now = Utc::now();
        let later = now + Duration::minutes(31);
        assert!(!session(false, now).is_live(&policy, later));
        assert!(session(true, now).is_live(&policy, later));
        assert!(!session(true, now).is_live(&policy, now + Duration::days(31)));
    }

    #[test]
    fn max_age_zero_demands_a_fresh_login() {
        let now = Utc::now();
        let s = session(false, now - Duration::seconds(5));
        assert!(!s.satisfies_max_age(Some(0), now));
        assert!(s.satisfies_max_age(Some(60), now));
        assert!(s.satisfies_max_age(None, now));
    }
}
