//! Configuration (DESIGN §3): defaults, then the TOML file, then `SESAME_<SECTION>__<KEY>`
//! variables. Any secret may be given as `<key>_file`. Unknown keys stop the start with
//! their name. The result is a validated [`Config`], built once and passed down.

pub mod contacts;
mod duration;
pub mod raw;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use sesame_core::SecretString;
use sesame_core::acr::Acr;
use sesame_core::client::{
    ApplicationType, AuthMethod, BackchannelLogout, Client, ClientSource, SecretDigest, SubjectType,
};
use sesame_core::keys::SigningAlg;
use sesame_core::policy::{
    CaptchaPolicy, CodePolicy, Limits, LinkPolicy, PasswordPolicy, Policy, Rate, SessionPolicy,
    TokenPolicy,
};
use sesame_protocol::scope::KNOWN_SCOPES;
use url::Url;

pub use contacts::SmsProvider;
pub use duration::parse_duration;
pub use raw::RawConfig;

/// A configuration problem, said in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub issuer: Url,
    pub listen: String,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub database_url: String,
    pub master_key: SecretString,
    pub cookie_key: SecretString,
    pub captcha_key: SecretString,
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub ui: sesame_web::UiSettings,
    pub default_theme: String,
    pub themes_dir: PathBuf,
    pub policy: Policy,
    pub audit_retention: chrono::Duration,
    pub clients: Vec<Client>,
    pub sms: SmsProvider,
    /// Actions given to participants the import creates.
    pub for_new_users: Vec<sesame_core::participant::RequiredAction>,
    /// Templates and messages read afresh for every page (`sesame demo` only).
    pub live_themes: bool,
}

/// Reads the configuration: `file` if given (it must exist), then the environment.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    let raw = read_raw(file, RawConfig::default())?;
    validate(raw)
}

/// Layers the file and the environment over `defaults`.
pub fn read_raw(file: Option<&Path>, defaults: RawConfig) -> Result<RawConfig, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.exists() {
            return Err(bad(format!("config file {} not found", path.display())));
        }
        if !path.is_file() {
            return Err(bad(format!("config file {} is not a file", path.display())));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed("SESAME_").ignore(&["config"]).split("__"));
    figment
        .extract::<RawConfig>()
        .map_err(|e| bad(format!("config: {}", one_line(&e.to_string()))))
}

fn one_line(text: &str) -> String {
    // Figment names keys within its profile (`default.http.lisen`); the profile means
    // nothing to an operator.
    let text = text.replace("\"default.", "\"");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a secret given inline or as a `_file` path; trailing newlines are dropped.
fn secret(
    name: &str,
    inline: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<SecretString>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(bad(format!(
            "{name}: give either {name} or {name}_file, not both"
        ))),
        (Some(value), None) => Ok(Some(SecretString::new(value))),
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|v| Some(SecretString::new(v.trim_end_matches(['\n', '\r']))))
            .map_err(|e| bad(format!("{name}_file: cannot read {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

fn required_key(name: &str, value: Option<SecretString>) -> Result<SecretString, ConfigError> {
    let value = value.ok_or_else(|| bad(format!("secrets.{name} is required (at least 32 characters; `openssl rand -base64 48` makes one)")))?;
    if value.expose().chars().count() < 32 {
        return Err(bad(format!(
            "secrets.{name} must have at least 32 characters"
        )));
    }
    Ok(value)
}

/// Checks every value and builds the [`Config`].
pub fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let issuer = issuer(raw.issuer.as_deref())?;
    let master_key = required_key(
        "master_key",
        secret(
            "secrets.master_key",
            raw.secrets.master_key,
            raw.secrets.master_key_file,
        )?,
    )?;
    let cookie_key = required_key(
        "cookie_key",
        secret(
            "secrets.cookie_key",
            raw.secrets.cookie_key,
            raw.secrets.cookie_key_file,
        )?,
    )?;
    let captcha_key = required_key(
        "captcha_key",
        secret(
            "secrets.captcha_key",
            raw.secrets.captcha_key,
            raw.secrets.captcha_key_file,
        )?,
    )?;
    let smtp_url = secret(
        "email.smtp_url",
        raw.email.smtp_url,
        raw.email.smtp_url_file,
    )?;
    if raw.state.url != "memory" {
        return Err(bad(
            "state.url: only \"memory\" is supported in this version",
        ));
    }
    let database_url = raw.database.url;
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(bad("database.url must start with sqlite: or postgres://"));
    }
    let mut policy = policy(&raw.policy)?;
    let (sms, regions) = contacts::sms(&raw.sms)?;
    policy.sms_regions = regions;
    let (terms_version, terms_text) = contacts::terms(&raw.terms)?;
    policy.terms_version = terms_version;
    let for_new_users = contacts::actions(
        &raw.policy.actions.for_new_users,
        "policy.actions.for_new_users",
    )?;
    let audit_retention =
        parse_duration(&raw.audit.retention).map_err(|e| bad(format!("audit.retention: {e}")))?;
    let clients = raw
        .clients
        .into_iter()
        .map(client)
        .collect::<Result<Vec<_>, _>>()?;
    unique_ids(&clients)?;
    policy.conformance = conformance(&raw.certification, &issuer, &clients)?;
    let trusted_proxies = raw
        .http
        .trusted_proxies
        .iter()
        .map(|cidr| proxy_net(cidr))
        .collect::<Result<Vec<_>, _>>()?;
    let ui = sesame_web::UiSettings {
        home_url: raw
            .ui
            .home_url
            .map(|u| absolute_url("ui.home_url", &u))
            .transpose()?,
        support_phone: raw.ui.support_phone,
        support_email: raw.ui.support_email,
        remember_me_default: raw.ui.remember_me_default,
        terms_text,
    };
    let needs_terms = clients.iter().any(|c| {
        c.required_actions
            .contains(&sesame_core::participant::RequiredAction::AcceptTerms)
    }) || for_new_users
        .contains(&sesame_core::participant::RequiredAction::AcceptTerms);
    if needs_terms && policy.terms_version.is_none() {
        return Err(bad(
            "accept-terms is required somewhere but [terms] has no version and text_file",
        ));
    }
    Ok(Config {
        issuer,
        listen: raw.http.listen,
        trusted_proxies,
        database_url,
        master_key,
        cookie_key,
        captcha_key,
        smtp_url,
        mail_from: raw.email.from,
        ui,
        default_theme: raw.ui.default_theme,
        themes_dir: raw.ui.themes_dir,
        policy,
        audit_retention,
        clients,
        sms,
        for_new_users,
        live_themes: false,
    })
}

/// The issuer: an absolute http(s) URL without query or fragment; http only on loopback.
fn issuer(value: Option<&str>) -> Result<Url, ConfigError> {
    let value = value.ok_or_else(|| {
        bad("issuer is required (the public base URL, e.g. https://login.example.org)")
    })?;
    let url = Url::parse(value).map_err(|e| bad(format!("issuer: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "issuer must be https (http only on a loopback address)",
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("issuer must have no query and no fragment"));
    }
    let trimmed = value.trim_end_matches('/');
    Url::parse(trimmed).map_err(|e| bad(format!("issuer: {e}")))
}

fn absolute_url(name: &str, value: &str) -> Result<String, ConfigError> {
    let url = Url::parse(value).map_err(|e| bad(format!("{name}: {e}")))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(value.to_owned())
    } else {
        Err(bad(format!("{name} must be an http(s) URL")))
    }
}

fn policy(raw: &raw::PolicySection) -> Result<Policy, ConfigError> {
    let d = |name: &str, value: &str| {
        parse_duration(value).map_err(|e| bad(format!("policy.{name}: {e}")))
    };
    let p = &raw.password;
    if p.min_length < 1 || p.max_length < p.min_length || p.max_length > 256 {
        return Err(bad(
            "policy.password: need 1 <= min_length <= max_length <= 256",
        ));
    }
    let c = &raw.code;
    Ok(Policy {
        password: PasswordPolicy {
            min_length: p.min_length,
            max_length: p.max_length,
            require_lower: p.require_lower,
            require_upper: p.require_upper,
            require_digit: p.require_digit,
            require_special: p.require_special,
        },
        code: CodePolicy {
            ttl: d("code.ttl", &c.ttl)?,
            max_attempts: c.max_attempts.max(1),
            max_failures_per_hour: c.max_failures_per_hour.max(1),
            resend_after: d("code.resend_after", &c.resend_after)?,
            max_sends_per_hour: c.max_sends_per_hour.max(1),
        },
        session: SessionPolicy {
            idle: d("session.idle", &raw.session.idle)?,
            max: d("session.max", &raw.session.max)?,
            remember_me: d("session.remember_me", &raw.session.remember_me)?,
        },
        tokens: TokenPolicy {
            code_ttl: d("tokens.code_ttl", &raw.tokens.code_ttl)?,
            access_token_ttl: d("tokens.access_token_ttl", &raw.tokens.access_token_ttl)?,
            id_token_ttl: d("tokens.id_token_ttl", &raw.tokens.id_token_ttl)?,
            refresh_token_ttl: d("tokens.refresh_token_ttl", &raw.tokens.refresh_token_ttl)?,
            refresh_grace: d("tokens.refresh_grace", &raw.tokens.refresh_grace)?,
        },
        captcha: CaptchaPolicy {
            max_number: raw.captcha.max_number.clamp(1, 10_000_000),
            raised_max_number: raw
                .captcha
                .raised_max_number
                .clamp(raw.captcha.max_number.max(1), 10_000_000),
            ttl: d("captcha.ttl", &raw.captcha.ttl)?,
        },
        links: LinkPolicy {
            reset_ttl: d("links.reset_ttl", &raw.links.reset_ttl)?,
            verify_ttl: d("links.verify_ttl", &raw.links.verify_ttl)?,
            phone_reask_after: d("links.phone_reask_after", &raw.links.phone_reask_after)?,
        },
        terms_version: None,
        sms_regions: Vec::new(),
        limits: Limits {
            per_account: rate("limits.per_account", &raw.limits.per_account)?,
            per_ip: rate("limits.per_ip", &raw.limits.per_ip)?,
            per_phone: rate("limits.per_phone", &raw.limits.per_phone)?,
        },
        flow_ttl: None,
        conformance: None,
    })
}

/// The conformance-suite profile, when turned on: only with an https issuer, for a client of
/// the file whose minimum is `pwd`, and a valid number.
fn conformance(
    raw: &raw::CertificationSection,
    issuer: &Url,
    clients: &[Client],
) -> Result<Option<sesame_core::policy::ConformanceProfile>, ConfigError> {
    const KEY: &str = "certification.insecure_no_captcha_no_code_for_conformance_suite";
    if !raw.insecure_no_captcha_no_code_for_conformance_suite {
        return Ok(None);
    }
    if issuer.scheme() != "https" {
        return Err(bad(format!("{KEY}: refused, the issuer is not https")));
    }
    let client_id = raw
        .client
        .clone()
        .ok_or_else(|| bad("certification.client: required with the conformance profile"))?;
    let client = clients.iter().find(|c| c.id == client_id).ok_or_else(|| {
        bad(format!(
            "certification.client: no client {client_id} in the file"
        ))
    })?;
    if client.minimum_acr != Acr::Pwd {
        return Err(bad(format!(
            "certification.client: {client_id} needs minimum_acr = \"pwd\" (its logins have no code)"
        )));
    }
    let number = raw
        .participant
        .as_deref()
        .and_then(|n| sesame_core::CohortNumber::parse(n).ok())
        .ok_or_else(|| bad("certification.participant: an 8-digit cohort number is required"))?;
    Ok(Some(sesame_core::policy::ConformanceProfile {
        client_id,
        number,
    }))
}

/// A CIDR, or a single address meaning just that host.
fn proxy_net(value: &str) -> Result<ipnet::IpNet, ConfigError> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| bad(format!("http.trusted_proxies: \"{value}\" is not a CIDR")))
}

/// Parses `"N/duration"`.
fn rate(name: &str, value: &str) -> Result<Rate, ConfigError> {
    let bad_rate = || bad(format!("policy.{name}: \"{value}\" is not like \"10/15m\""));
    let (count, window) = value.split_once('/').ok_or_else(bad_rate)?;
    let max: u32 = count.trim().parse().map_err(|_| bad_rate())?;
    if max == 0 {
        return Err(bad_rate());
    }
    let window = parse_duration(window).map_err(|e| bad(format!("policy.{name}: {e}")))?;
    Ok(Rate { max, window })
}

fn client(raw: raw::ClientSection) -> Result<Client, ConfigError> {
    let id = raw.id.trim().to_owned();
    let label = id.clone();
    let at = |field: &str| format!("clients[{label}].{field}");
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "clients: every client needs an id without spaces (at most 128 characters)",
        ));
    }
    let auth_method = AuthMethod::parse(&raw.token_endpoint_auth_method).ok_or_else(|| {
        bad(format!(
            "{}: unknown method {}",
            at("token_endpoint_auth_method"),
            raw.token_endpoint_auth_method
        ))
    })?;
    let secret = secret(&at("secret"), raw.secret.clone(), raw.secret_file.clone())?;
    match (auth_method, &secret) {
        (AuthMethod::None, Some(_)) => {
            return Err(bad(format!(
                "{}: a public client (none) has no secret",
                at("secret")
            )));
        }
        (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost, None) => {
            return Err(bad(format!(
                "{} or secret_file is required for {}",
                at("secret"),
                auth_method.as_str()
            )));
        }
        _ => {}
    }
    if secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
        return Err(bad(format!(
            "{} must have at least 16 characters",
            at("secret")
        )));
    }
    let application_type = match raw.application_type.as_str() {
        "web" => ApplicationType::Web,
        "native" => ApplicationType::Native,
        other => {
            return Err(bad(format!(
                "{}: unknown type {other}",
                at("application_type")
            )));
        }
    };
    if raw.redirect_uris.is_empty() {
        return Err(bad(format!(
            "{} needs at least one URI",
            at("redirect_uris")
        )));
    }
    for uri in raw
        .redirect_uris
        .iter()
        .chain(&raw.post_logout_redirect_uris)
    {
        redirect_uri(&at("redirect_uris"), uri, application_type)?;
    }
    for scope in &raw.scopes {
        if !KNOWN_SCOPES.contains(&scope.as_str()) {
            return Err(bad(format!("{}: unknown scope {scope}", at("scopes"))));
        }
    }
    let id_token_alg = SigningAlg::parse(&raw.id_token_signed_response_alg).ok_or_else(|| {
        bad(format!(
            "{}: RS256 or ES256",
            at("id_token_signed_response_alg")
        ))
    })?;
    let minimum_acr = Acr::parse(&raw.minimum_acr)
        .ok_or_else(|| bad(format!("{}: pwd or mfa", at("minimum_acr"))))?;
    let subject = subject_type(&raw, &at)?;
    let backchannel_logout = backchannel(&raw, &at)?;
    let home_url = raw
        .home_url
        .map(|u| absolute_url(&at("home_url"), &u))
        .transpose()?;
    if raw.scopes.iter().any(|s| s == "offline_access") && !raw.refresh_tokens {
        return Err(bad(format!(
            "{}: offline_access needs refresh_tokens = true",
            at("scopes")
        )));
    }
    if raw.client_credentials && auth_method == AuthMethod::None {
        return Err(bad(format!(
            "{}: a public client cannot use client_credentials",
            at("client_credentials")
        )));
    }
    Ok(Client {
        name: raw.name.unwrap_or_else(|| id.clone()),
        id,
        secret: secret.map(|s| SecretDigest::of(s.expose())),
        redirect_uris: raw.redirect_uris,
        post_logout_redirect_uris: raw.post_logout_redirect_uris,
        auth_method,
        application_type,
        scopes: raw.scopes,
        id_token_alg,
        minimum_acr,
        theme: raw.theme,
        home_url,
        source: ClientSource::File,
        refresh_tokens: raw.refresh_tokens,
        client_credentials: raw.client_credentials,
        subject,
        backchannel_logout,
        required_actions: contacts::client_actions(&raw.required_actions, &at("required_actions"))?,
    })
}

/// OIDC Core §8.1: the sector is given, or is the one host all redirect URIs share.
fn subject_type(
    raw: &raw::ClientSection,
    at: &dyn Fn(&str) -> String,
) -> Result<SubjectType, ConfigError> {
    match raw.subject_type.as_str() {
        "public" => Ok(SubjectType::Public),
        "pairwise" => {
            let hosts: Vec<String> = raw
                .redirect_uris
                .iter()
                .filter_map(|u| Url::parse(u).ok()?.host_str().map(str::to_owned))
                .collect();
            let sector = match (&raw.sector, hosts.first()) {
                (Some(sector), _) => sector.clone(),
                (None, Some(first)) if hosts.iter().all(|h| h == first) => first.clone(),
                _ => {
                    return Err(bad(format!(
                        "{} is needed: the redirect URIs have several hosts",
                        at("sector")
                    )));
                }
            };
            Ok(SubjectType::Pairwise { sector })
        }
        other => Err(bad(format!(
            "{}: public or pairwise, not {other}",
            at("subject_type")
        ))),
    }
}

fn backchannel(
    raw: &raw::ClientSection,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<BackchannelLogout>, ConfigError> {
    let Some(uri) = raw.backchannel_logout_uri.clone() else {
        return Ok(None);
    };
    let url =
        Url::parse(&uri).map_err(|e| bad(format!("{}: {e}", at("backchannel_logout_uri"))))?;
    // Back-Channel Logout 1.0 §2.2: an absolute http(s) URI without a fragment.
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return Err(bad(format!(
            "{} must be an http(s) URI without a fragment",
            at("backchannel_logout_uri")
        )));
    }
    Ok(Some(BackchannelLogout {
        uri,
        session_required: raw.backchannel_logout_session_required,
        allow_private: raw.backchannel_logout_allow_private,
    }))
}

/// A redirect URI: absolute, no fragment (RFC 6749 §3.1.2); https, or http on loopback;
/// native clients may also use a private-use scheme (RFC 8252 §7.1).
pub fn redirect_uri(name: &str, uri: &str, kind: ApplicationType) -> Result<(), ConfigError> {
    let url = Url::parse(uri).map_err(|e| bad(format!("{name}: {uri}: {e}")))?;
    if url.fragment().is_some() {
        return Err(bad(format!("{name}: {uri} must not have a fragment")));
    }
    if url.host_str().is_some_and(|h| h.contains('*')) {
        return Err(bad(format!(
            "{name}: {uri} must name one host (no wildcard)"
        )));
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let ok = match url.scheme() {
        "https" => true,
        "http" => loopback,
        scheme => kind == ApplicationType::Native && scheme.contains('.'),
    };
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{name}: {uri} must be https (http only on loopback)"
        )))
    }
}

fn unique_ids(clients: &[Client]) -> Result<(), ConfigError> {
    for (i, c) in clients.iter().enumerate() {
        if clients[..i].iter().any(|o| o.id == c.id) {
            return Err(bad(format!("clients: id {} is declared twice", c.id)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
