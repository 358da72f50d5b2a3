//! Abuse limits (DESIGN §5.4): per cohort number, per client address and per phone
//! number, counted in the short-lived state with the window as lifetime. They slow down;
//! they never lock anyone out for good, and a browser that logged in as a number before
//! keeps its own count, so that someone hammering that number does not stop its owner.

use std::net::IpAddr;

use super::{BrowserContext, Provider, ServiceError};
use crate::audit::AuditKind;
use crate::number::CohortNumber;

/// What a device cookie says: a browser's own random id and the numbers it completed a
/// login as (keyed tags, not the numbers). Only the provider can write the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    id: String,
    numbers: Vec<String>,
}

impl Device {
    /// How many numbers one browser vouches for (a family computer); the oldest goes.
    pub const MAX_NUMBERS: usize = 8;

    /// A browser seen for the first time.
    pub fn new(id: String) -> Self {
        Self {
            id,
            numbers: Vec::new(),
        }
    }

    /// Reads the cookie's value (`id.tag.tag…`); anything else is no device.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('.');
        let id = parts.next().filter(|id| is_token(id, 16, 64))?;
        let numbers: Vec<String> = parts.map(str::to_owned).collect();
        let valid = numbers.len() <= Self::MAX_NUMBERS && numbers.iter().all(|t| is_tag(t));
        valid.then(|| Self {
            id: id.to_owned(),
            numbers,
        })
    }

    /// The cookie's value.
    pub fn encode(&self) -> String {
        std::iter::once(self.id.as_str())
            .chain(self.numbers.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The same browser, vouching for `tag` too (most recent first).
    #[must_use]
    pub fn with_number(mut self, tag: &str) -> Self {
        self.numbers.retain(|t| t != tag);
        self.numbers.insert(0, tag.to_owned());
        self.numbers.truncate(Self::MAX_NUMBERS);
        self
    }

    /// Whether this browser completed a login as the number of `tag`.
    pub fn knows(&self, tag: &str) -> bool {
        self.numbers.iter().any(|t| t == tag)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

fn is_token(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_tag(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a throttle is keyed on, as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A cohort number, tried from browsers that never logged in as it.
    Account,
    /// A cohort number, tried from a browser that logged in as it before.
    Device,
    /// A client address.
    Ip,
    /// A phone number.
    Phone,
}

/// The counters a password attempt is checked and counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswordCounters {
    /// Per number, or per number and device for a browser that knows the number.
    pub(crate) number: String,
    pub(crate) number_scope: Scope,
    /// Per client address; not consulted for a browser that knows the number.
    pub(crate) ip: Option<String>,
}

/// The address as counters key it: IPv6 clients by their /64, which one subscriber
/// usually holds whole.
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Wrong passwords from one address after which its challenges get harder.
const IP_RAISE_AFTER: u64 = 10;

impl Provider {
    /// The counters for a password typed for `number` in this browser.
    pub(crate) fn password_counters(
        &self,
        number: &CohortNumber,
        ctx: &BrowserContext,
    ) -> PasswordCounters {
        let tag = self.number_tag(number);
        let device = ctx.device.as_ref().filter(|d| d.knows(&tag));
        match device {
            Some(device) => PasswordCounters {
                number: format!("password-failures:{tag}:{}", device.id()),
                number_scope: Scope::Device,
                ip: None,
            },
            None => PasswordCounters {
                number: format!("password-failures:{tag}"),
                number_scope: Scope::Account,
                ip: ctx.ip.map(|ip| format!("ip-failures:{}", address_key(ip))),
            },
        }
    }

    /// Which limit, if any, refuses this password attempt whatever the password.
    pub(crate) async fn password_throttle(
        &self,
        counters: &PasswordCounters,
    ) -> Result<Option<Scope>, ServiceError> {
        let limits = &self.policy.limits;
        // Both counters are read whatever the first says: the same steps on every branch.
        let by_number = self.count(&counters.number).await?;
        let by_address = match &counters.ip {
            Some(ip) => self.count(ip).await?,
            None => 0,
        };
        Ok(if by_number >= u64::from(limits.per_account.max) {
            Some(counters.number_scope)
        } else if by_address >= u64::from(limits.per_ip.max) {
            Some(Scope::Ip)
        } else {
            None
        })
    }

    /// Counts a refused password on every counter of the attempt.
    pub(crate) async fn password_failed(
        &self,
        counters: &PasswordCounters,
    ) -> Result<(), ServiceError> {
        let limits = &self.policy.limits;
        self.deps
            .state
            .incr(&counters.number, limits.per_account.window)
            .await?;
        if let Some(ip) = &counters.ip {
            self.deps.state.incr(ip, limits.per_ip.window).await?;
        }
        Ok(())
    }

    /// Whether the anti-robot check should be the harder one for this number and browser:
    /// the number's (or this device's) failures, or the address's.
    pub(crate) async fn needs_harder_captcha(
        &self,
        number: &CohortNumber,
        ctx: &BrowserContext,
        after: u64,
    ) -> Result<bool, ServiceError> {
        let counters = self.password_counters(number, ctx);
        if self.count(&counters.number).await? >= after {
            return Ok(true);
        }
        self.address_is_suspect(ctx).await
    }

    /// Whether the client's address has failed enough to get the harder check whatever the
    /// number.
    pub(crate) async fn address_is_suspect(
        &self,
        ctx: &BrowserContext,
    ) -> Result<bool, ServiceError> {
        let Some(ip) = ctx.ip else {
            return Ok(false);
        };
        let failures = self
            .count(&format!("ip-failures:{}", address_key(ip)))
            .await?;
        Ok(failures >= IP_RAISE_AFTER)
    }

    /// Counts a forgot-password or activation request from the client's address; false
    /// once the address asked too often. A browser that logged in as `number` before is
    /// not held back by its address.
    pub(crate) async fn address_may_request(
        &self,
        number: &CohortNumber,
        ctx: &BrowserContext,
    ) -> Result<bool, ServiceError> {
        let tag = self.number_tag(number);
        if ctx.device.as_ref().is_some_and(|d| d.knows(&tag)) {
            return Ok(true);
        }
        let Some(ip) = ctx.ip else {
            return Ok(true);
        };
        let rate = self.policy.limits.per_ip;
        let key = format!("ip-requests:{}", address_key(ip));
        Ok(self.deps.state.incr(&key, rate.window).await? <= u64::from(rate.max))
    }

    /// Counts a text message to `e164`; false once that phone received its share, whoever
    /// asked (SMS cost a fee, and a phone may be typed into someone else's account).
    pub(crate) async fn phone_may_receive(&self, e164: &str) -> Result<bool, ServiceError> {
        let rate = self.policy.limits.per_phone;
        let digest = crate::crypto::hmac_sha256(&self.otp_key, e164.as_bytes());
        let key = format!("sms-to:{}", crate::crypto::hex(&digest[..16]));
        Ok(self.deps.state.incr(&key, rate.window).await? <= u64::from(rate.max))
    }

    /// Records a throttling decision: what was refused, on which limit, from where.
    pub(crate) async fn throttled(
        &self,
        on: &str,
        scope: Scope,
        participant: Option<crate::participant::ParticipantId>,
        ctx: Option<&BrowserContext>,
    ) {
        let detail = serde_json::json!({ "on": on, "by": scope });
        let ip = ctx.and_then(|c| c.ip);
        self.audit_from(ip, AuditKind::Throttled, participant, None, detail)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG_A: &str = "0123456789abcdef0123456789abcdef";
    const TAG_B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn device_cookie_round_trips() {
        let device = Device::new("AbCdEfGhIjKlMnOpQr".into()).with_number(TAG_A);
        let parsed = Device::parse(&device.encode());
        assert_eq!(parsed.as_ref(), Some(&device));
        assert!(parsed.is_some_and(|d| d.knows(TAG_A) && !d.knows(TAG_B)));
    }

    #[test]
    fn device_keeps_the_most_recent_numbers() {
        let mut device = Device::new("AbCdEfGhIjKlMnOpQr".into());
        for i in 0..10u8 {
            device = device.with_number(&format!("{:032x}", i));
        }
        assert_eq!(device.numbers.len(), Device::MAX_NUMBERS);
        assert!(device.knows(&format!("{:032x}", 9)));
        assert!(!device.knows(&format!("{:032x}", 0)));
        let again = device.clone().with_number(&format!("{:032x}", 5));
        assert_eq!(again.numbers.len(), Device::MAX_NUMBERS);
        assert_eq!(again.numbers[0], format!("{:032x}", 5));
    }

    #[test]
    fn malformed_device_cookies_are_no_device() {
        for value in [
            "",
            "short",
            "AbCdEfGhIjKlMnOpQr.nothex",
            "a b c d e f g h i j k l",
        ] {
            assert_eq!(Device::parse(value), None, "{value}");
        }
        let many = std::iter::repeat_n(TAG_A, Device::MAX_NUMBERS + 1)
            .collect::<Vec<_>>()
            .join(".");
        assert_eq!(Device::parse(&format!("AbCdEfGhIjKlMnOpQr.{many}")), None);
    }

    #[test]
    fn addresses_key_ipv6_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(mapped), "192.0.2.7");
    }
}
