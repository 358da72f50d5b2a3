//! The `[sms]`, `[terms]` and `[policy.actions]` parts of the configuration.

use sesame_core::SecretString;
use sesame_core::participant::RequiredAction;
use sesame_core::phone::Region;

use super::raw::{SmsSection, TermsSection};
use super::{ConfigError, bad, parse_duration, secret};

/// How SMS leave Sesame.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    /// Printed to the terminal (the demo's operator).
    Console,
    /// POSTed as JSON to the operator's endpoint (DESIGN §3).
    Webhook {
        url: String,
        token: Option<SecretString>,
        timeout: std::time::Duration,
    },
}

/// Checks `[sms]`: the provider and the regions SMS may go to.
pub fn sms(raw: &SmsSection) -> Result<(SmsProvider, Vec<Region>), ConfigError> {
    let mut regions = Vec::new();
    for code in &raw.countries {
        let region = code
            .parse::<Region>()
            .map_err(|_| bad(format!("sms.countries: unknown region {code}")))?;
        regions.push(region);
    }
    let provider = match raw.provider.as_str() {
        "console" => SmsProvider::Console,
        "webhook" => {
            let url = raw
                .webhook_url
                .clone()
                .ok_or_else(|| bad("sms.webhook_url is required with provider = \"webhook\""))?;
            let parsed = url::Url::parse(&url).map_err(|e| bad(format!("sms.webhook_url: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad("sms.webhook_url must be an http(s) URL"));
            }
            let token = secret(
                "sms.webhook_token",
                raw.webhook_token.clone(),
                raw.webhook_token_file.clone(),
            )?;
            let timeout =
                parse_duration(&raw.timeout).map_err(|e| bad(format!("sms.timeout: {e}")))?;
            let timeout = timeout
                .to_std()
                .map_err(|_| bad("sms.timeout is out of range"))?;
            SmsProvider::Webhook {
                url,
                token,
                timeout,
            }
        }
        other => {
            return Err(bad(format!(
                "sms.provider: console or webhook, not {other}"
            )));
        }
    };
    Ok((provider, regions))
}

/// Reads `[terms]`: the version and the text of the terms, both or neither.
pub fn terms(raw: &TermsSection) -> Result<(Option<String>, Option<String>), ConfigError> {
    match (&raw.version, &raw.text_file) {
        (None, None) => Ok((None, None)),
        (Some(version), Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                bad(format!(
                    "terms.text_file: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            Ok((Some(version.clone()), Some(text)))
        }
        _ => Err(bad("terms: give both version and text_file")),
    }
}

/// Parses the actions a client adds before its codes. A new password is asked of a
/// participant once (`sesame user require`), not by a client at every login: nothing would
/// ever satisfy it.
pub fn client_actions(names: &[String], field: &str) -> Result<Vec<RequiredAction>, ConfigError> {
    let parsed = actions(names, field)?;
    if parsed.contains(&RequiredAction::UpdatePassword) {
        return Err(bad(format!(
            "{field}: update-password is asked of participants (sesame user require), not by a client"
        )));
    }
    Ok(parsed)
}

/// Parses required action names.
pub fn actions(names: &[String], field: &str) -> Result<Vec<RequiredAction>, ConfigError> {
    let mut actions = names
        .iter()
        .map(|n| {
            RequiredAction::parse(n).ok_or_else(|| bad(format!("{field}: unknown action {n}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    actions.sort();
    actions.dedup();
    Ok(actions)
}
