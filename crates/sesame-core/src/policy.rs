//! The rules operators may tune (DESIGN §3 `[policy]`), as the domain sees them.

use chrono::Duration;

/// The password policy of the participant guide (12 to 30 characters, four classes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    pub require_lower: bool,
    pub require_upper: bool,
    pub require_digit: bool,
    pub require_special: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 30,
            require_lower: true,
            require_upper: true,
            require_digit: true,
            require_special: true,
        }
    }
}

/// One-time code limits (DESIGN §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePolicy {
    pub ttl: Duration,
    pub max_attempts: u32,
    pub max_failures_per_hour: u32,
    pub resend_after: Duration,
    pub max_sends_per_hour: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(10),
            max_attempts: 5,
            max_failures_per_hour: 10,
            resend_after: Duration::seconds(30),
            max_sends_per_hour: 5,
        }
    }
}

/// SSO session lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub max: Duration,
    pub remember_me: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            max: Duration::hours(12),
            remember_me: Duration::days(30),
        }
    }
}

/// Token lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A used refresh token presented again within this time (two tabs refreshing at
    /// once) gets new tokens; later, it revokes the whole family.
    pub refresh_grace: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            code_ttl: Duration::seconds(60),
            access_token_ttl: Duration::minutes(5),
            id_token_ttl: Duration::minutes(5),
            refresh_token_ttl: Duration::days(30),
            refresh_grace: Duration::seconds(10),
        }
    }
}

/// At most `max` events per `window`, the window starting with the first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub window: Duration,
}

/// Abuse limits (DESIGN §5.4): they slow down, they never lock out for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wrong passwords per cohort number (known or not) from browsers that never logged
    /// in as that number; a browser that did has a count of its own under the same rate.
    pub per_account: Rate,
    /// Wrong passwords, and forgot-password or activation requests, per client address.
    pub per_ip: Rate,
    /// Text messages per phone number (codes, links), whoever asks for them.
    pub per_phone: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: Rate {
                max: 10,
                window: Duration::minutes(15),
            },
            per_ip: Rate {
                max: 50,
                window: Duration::minutes(15),
            },
            per_phone: Rate {
                max: 10,
                window: Duration::days(1),
            },
        }
    }
}

/// Lifetimes of links and of a "no mobile" answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPolicy {
    pub reset_ttl: Duration,
    pub verify_ttl: Duration,
    pub phone_reask_after: Duration,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            reset_ttl: Duration::minutes(30),
            verify_ttl: Duration::hours(24),
            phone_reask_after: Duration::days(180),
        }
    }
}

/// The anti-robot check's work: tries asked normally, and for a number that keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptchaPolicy {
    pub max_number: u64,
    pub raised_max_number: u64,
    pub ttl: Duration,
}

impl Default for CaptchaPolicy {
    fn default() -> Self {
        Self {
            max_number: 50_000,
            raised_max_number: 500_000,
            ttl: Duration::minutes(5),
        }
    }
}

/// Every tunable rule the domain applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub password: PasswordPolicy,
    pub code: CodePolicy,
    pub session: SessionPolicy,
    pub tokens: TokenPolicy,
    pub limits: Limits,
    pub links: LinkPolicy,
    pub captcha: CaptchaPolicy,
    /// The version of the terms in force (`[terms] version`), if any.
    pub terms_version: Option<String>,
    /// Regions SMS may go to; empty means France with its overseas regions.
    pub sms_regions: Vec<crate::phone::Region>,
    /// How long a login page stays valid before its flow expires.
    pub flow_ttl: Option<Duration>,
    /// The conformance-suite profile: no anti-robot check and no code for one participant
    /// of one client. Off unless an operator turns it on for a certification run.
    pub conformance: Option<ConformanceProfile>,
}

/// One client and one participant for which the login is the password alone, so that the
/// OpenID conformance suite's browser can log in (`[certification]`). Logins under it get
/// `acr=pwd`, `amr=["pwd"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceProfile {
    pub client_id: String,
    pub number: crate::number::CohortNumber,
}

impl Policy {
    /// Lifetime of a login flow: long enough to fetch a code from a mailbox.
    pub fn flow_ttl(&self) -> Duration {
        self.flow_ttl.unwrap_or(Duration::minutes(30))
    }
}
