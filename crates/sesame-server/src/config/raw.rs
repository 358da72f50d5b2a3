//! The configuration as written, with its defaults. Every option is documented here,
//! beside its default, and README's reference follows this file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// The public base URL; every endpoint and absolute link is built from it.
    pub issuer: Option<String>,
    pub http: HttpSection,
    pub database: DatabaseSection,
    pub state: StateSection,
    pub secrets: SecretsSection,
    pub email: EmailSection,
    pub ui: UiSection,
    pub policy: PolicySection,
    pub audit: AuditSection,
    pub sms: SmsSection,
    pub terms: TermsSection,
    pub certification: CertificationSection,
    pub clients: Vec<ClientSection>,
}

/// `[certification]`: the profile for a run of the OpenID conformance suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificationSection {
    /// Turns off the anti-robot check and the one-time code for `participant` logging in
    /// to `client`, so that the suite's browser can log in. Never on a production server:
    /// `serve` warns at every start, and an http issuer refuses it.
    pub insecure_no_captcha_no_code_for_conformance_suite: bool,
    /// The suite's client (a `[[clients]]` entry with `minimum_acr = "pwd"`).
    pub client: Option<String>,
    /// The test participant's cohort number.
    pub participant: Option<String>,
}

/// `[sms]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSection {
    /// `console` (SMS printed to the terminal) or `webhook`.
    pub provider: String,
    /// The operator's endpoint: Sesame POSTs `{"to": "+33…", "text": "…"}`.
    pub webhook_url: Option<String>,
    /// Sent as a bearer token.
    pub webhook_token: Option<String>,
    pub webhook_token_file: Option<PathBuf>,
    pub timeout: String,
    /// Regions SMS may go to (ISO codes).
    pub countries: Vec<String>,
}

impl Default for SmsSection {
    fn default() -> Self {
        Self {
            provider: "console".into(),
            webhook_url: None,
            webhook_token: None,
            webhook_token_file: None,
            timeout: "10s".into(),
            countries: [
                "FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// `[terms]`, for the `accept-terms` action.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TermsSection {
    pub version: Option<String>,
    pub text_file: Option<PathBuf>,
}

/// `[audit]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// How long audit events are kept; older ones are deleted every hour.
    pub retention: String,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            retention: "365d".into(),
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Address and port to listen on.
    pub listen: String,
    /// Proxies (CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `sqlite://PATH?mode=rwc` or `postgres://…`.
    pub url: String,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: "sqlite://sesame.db?mode=rwc".into(),
        }
    }
}

/// `[state]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSection {
    /// `memory` (one node).
    pub url: String,
}

impl Default for StateSection {
    fn default() -> Self {
        Self {
            url: "memory".into(),
        }
    }
}

/// `[secrets]`: each at least 32 characters, each may be given as `<key>_file`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsSection {
    /// Seals the signing keys at rest.
    pub master_key: Option<String>,
    pub master_key_file: Option<PathBuf>,
    /// Keys the cookies, the sealed requests and the code digests.
    pub cookie_key: Option<String>,
    pub cookie_key_file: Option<PathBuf>,
    /// Signs the anti-robot challenges.
    pub captcha_key: Option<String>,
    pub captcha_key_file: Option<PathBuf>,
}

/// `[email]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSection {
    /// A lettre SMTP URL (`smtp://host:25`, `smtps://user:pass@host`); none prints
    /// e-mails to the console.
    pub smtp_url: Option<String>,
    pub smtp_url_file: Option<PathBuf>,
    /// The sender.
    pub from: String,
}

impl Default for EmailSection {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_url_file: None,
            from: "Sesame <noreply@localhost>".into(),
        }
    }
}

/// `[ui]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiSection {
    pub default_theme: String,
    /// Themes on disk override the built-in ones.
    pub themes_dir: PathBuf,
    /// Where pages with no RP to return to lead.
    pub home_url: Option<String>,
    pub support_phone: Option<String>,
    pub support_email: Option<String>,
    /// Whether "stay connected" starts ticked.
    pub remember_me_default: bool,
}

impl Default for UiSection {
    fn default() -> Self {
        Self {
            default_theme: "constances".into(),
            themes_dir: "themes".into(),
            home_url: None,
            support_phone: None,
            support_email: None,
            remember_me_default: false,
        }
    }
}

/// `[policy]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    pub password: PasswordSection,
    pub code: CodeSection,
    pub session: SessionSection,
    pub tokens: TokensSection,
    pub limits: LimitsSection,
    pub links: LinksSection,
    pub actions: ActionsSection,
    pub captcha: CaptchaSection,
}

/// `[policy.captcha]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptchaSection {
    /// Tries the anti-robot check asks for.
    pub max_number: u64,
    /// Tries asked for a number that keeps failing.
    pub raised_max_number: u64,
    /// How long a challenge stays valid.
    pub ttl: String,
}

impl Default for CaptchaSection {
    fn default() -> Self {
        Self {
            max_number: 50_000,
            raised_max_number: 500_000,
            ttl: "5m".into(),
        }
    }
}

/// `[policy.links]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksSection {
    pub reset_ttl: String,
    pub verify_ttl: String,
    /// When a participant ticked "no mobile", ask again after this.
    pub phone_reask_after: String,
}

impl Default for LinksSection {
    fn default() -> Self {
        Self {
            reset_ttl: "30m".into(),
            verify_ttl: "24h".into(),
            phone_reask_after: "180d".into(),
        }
    }
}

/// `[policy.actions]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionsSection {
    /// Required actions given to participants created by the import.
    pub for_new_users: Vec<String>,
}

/// `[policy.limits]`, each `"N/duration"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Wrong passwords per cohort number before further tries are refused, until the
    /// window ends (a browser that logged in as that number before counts apart).
    pub per_account: String,
    /// Wrong passwords and link requests per client address.
    pub per_ip: String,
    /// Text messages per phone number.
    pub per_phone: String,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            per_account: "10/15m".into(),
            per_ip: "50/15m".into(),
            per_phone: "10/1d".into(),
        }
    }
}

/// `[policy.password]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSection {
    pub min_length: usize,
    pub max_length: usize,
    pub require_lower: bool,
    pub require_upper: bool,
    pub require_digit: bool,
    pub require_special: bool,
}

impl Default for PasswordSection {
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

/// `[policy.code]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeSection {
    pub ttl: String,
    pub max_attempts: u32,
    pub max_failures_per_hour: u32,
    pub resend_after: String,
    pub max_sends_per_hour: u32,
}

impl Default for CodeSection {
    fn default() -> Self {
        Self {
            ttl: "10m".into(),
            max_attempts: 5,
            max_failures_per_hour: 10,
            resend_after: "30s".into(),
            max_sends_per_hour: 5,
        }
    }
}

/// `[policy.session]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    pub idle: String,
    pub max: String,
    pub remember_me: String,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self {
            idle: "30m".into(),
            max: "12h".into(),
            remember_me: "30d".into(),
        }
    }
}

/// `[policy.tokens]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensSection {
    pub code_ttl: String,
    pub access_token_ttl: String,
    pub id_token_ttl: String,
    pub refresh_token_ttl: String,
    /// A used refresh token presented again within this time gets new tokens (two tabs
    /// refreshing at once); later, it revokes the whole family.
    pub refresh_grace: String,
}

impl Default for TokensSection {
    fn default() -> Self {
        Self {
            code_ttl: "60s".into(),
            access_token_ttl: "5m".into(),
            id_token_ttl: "5m".into(),
            refresh_token_ttl: "30d".into(),
            refresh_grace: "10s".into(),
        }
    }
}

/// `[[clients]]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default = "basic")]
    pub token_endpoint_auth_method: String,
    #[serde(default = "web")]
    pub application_type: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Issue refresh tokens to this client.
    #[serde(default)]
    pub refresh_tokens: bool,
    /// Allow the `client_credentials` grant (confidential clients only).
    #[serde(default)]
    pub client_credentials: bool,
    #[serde(default = "rs256")]
    pub id_token_signed_response_alg: String,
    /// `public` or `pairwise`.
    #[serde(default = "public")]
    pub subject_type: String,
    /// The pairwise sector; by default the host of the redirect URIs.
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default = "mfa")]
    pub minimum_acr: String,
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub home_url: Option<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Deliver logout tokens even if the URI's host is private or loopback.
    #[serde(default)]
    pub backchannel_logout_allow_private: bool,
    /// Actions this client adds before its codes (e.g. `accept-terms`).
    #[serde(default)]
    pub required_actions: Vec<String>,
}

impl ClientSection {
    /// A confidential web client with the defaults of every other field.
    pub fn new(id: &str, secret: Option<&str>, redirect_uris: Vec<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            secret: secret.map(str::to_owned),
            secret_file: None,
            redirect_uris,
            post_logout_redirect_uris: vec![],
            token_endpoint_auth_method: basic(),
            application_type: web(),
            scopes: vec![],
            refresh_tokens: false,
            client_credentials: false,
            id_token_signed_response_alg: rs256(),
            subject_type: public(),
            sector: None,
            minimum_acr: mfa(),
            theme: None,
            home_url: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            backchannel_logout_allow_private: false,
            required_actions: vec![],
        }
    }
}

fn basic() -> String {
    "client_secret_basic".into()
}
fn web() -> String {
    "web".into()
}
fn rs256() -> String {
    "RS256".into()
}
fn mfa() -> String {
    "mfa".into()
}
fn public() -> String {
    "public".into()
}
