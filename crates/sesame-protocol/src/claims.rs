//! The `claims` request parameter (OIDC Core §5.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Claims Sesame can release, and the scope that governs each.
pub const CLAIM_SCOPES: &[(&str, &str)] = &[
    ("name", "profile"),
    ("given_name", "profile"),
    ("family_name", "profile"),
    ("locale", "profile"),
    ("updated_at", "profile"),
    ("email", "email"),
    ("email_verified", "email"),
    ("phone_number", "phone"),
    ("phone_number_verified", "phone"),
    ("cohort_number", "cohort"),
];

/// Assurance levels Sesame can deliver, weakest first.
pub const ACR_VALUES: &[&str] = &["pwd", "mfa"];

/// What a `claims` parameter asks for, reduced to what Sesame knows: claim names per
/// target, and the `acr` request. Unknown claims are dropped (OIDC Core §5.5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<AcrRequest>,
    /// A `sub` asked for by value: tokens for anyone else MUST NOT be issued (§5.5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// `acr` asked for in the id_token member (OIDC Core §5.5.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcrRequest {
    pub essential: bool,
    /// Acceptable values, in the RP's order; empty means any.
    pub values: Vec<String>,
}

/// Why a `claims` parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsError {
    /// Not a JSON object of objects.
    Malformed,
    /// An essential `acr` whose values Sesame can never meet.
    UnmetAcr,
}

impl ClaimsRequest {
    /// Parses and checks the parameter.
    pub fn parse(text: &str) -> Result<Self, ClaimsError> {
        let value: Value = serde_json::from_str(text).map_err(|_| ClaimsError::Malformed)?;
        let object = value.as_object().ok_or(ClaimsError::Malformed)?;
        let member = |name: &str| match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(ClaimsError::Malformed),
        };
        let userinfo = member("userinfo")?;
        let id_token = member("id_token")?;
        let names = |map: Option<&serde_json::Map<String, Value>>| -> Vec<String> {
            let known = |n: &&String| CLAIM_SCOPES.iter().any(|(c, _)| c == n);
            map.map(|m| m.keys().filter(known).cloned().collect())
                .unwrap_or_default()
        };
        let acr = id_token
            .and_then(|m| m.get("acr"))
            .map(acr_request)
            .transpose()?;
        if acr
            .as_ref()
            .is_some_and(|a| a.essential && !a.values.is_empty() && a.best().is_none())
        {
            return Err(ClaimsError::UnmetAcr);
        }
        let sub = [id_token, userinfo]
            .into_iter()
            .flatten()
            .find_map(|m| m.get("sub")?.get("value")?.as_str().map(str::to_owned));
        Ok(Self {
            userinfo: names(userinfo),
            id_token: names(id_token),
            acr,
            sub,
        })
    }
}

fn acr_request(spec: &Value) -> Result<AcrRequest, ClaimsError> {
    let Some(map) = spec.as_object() else {
        return match spec {
            Value::Null => Ok(AcrRequest::default()),
            _ => Err(ClaimsError::Malformed),
        };
    };
    let essential = map
        .get("essential")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut values: Vec<String> = Vec::new();
    if let Some(v) = map.get("value").and_then(Value::as_str) {
        values.push(v.to_owned());
    }
    if let Some(list) = map.get("values").and_then(Value::as_array) {
        values.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    Ok(AcrRequest { essential, values })
}

impl AcrRequest {
    /// The strongest requested value Sesame can deliver, if any.
    pub fn best(&self) -> Option<&str> {
        ACR_VALUES
            .iter()
            .rev()
            .find(|v| self.values.iter().any(|r| r == *v))
            .copied()
    }
}

/// The scope that governs a claim.
pub fn scope_of(claim: &str) -> Option<&'static str> {
    CLAIM_SCOPES
        .iter()
        .find(|(c, _)| *c == claim)
        .map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_core_5_5_members_are_reduced_to_known_claims() {
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"email":null,"x-foo":{"essential":true}},"id_token":{"given_name":{"essential":true}}}"#,
        );
        let r = r.unwrap_or_default();
        assert_eq!(r.userinfo, vec!["email"]);
        assert_eq!(r.id_token, vec!["given_name"]);
        assert_eq!(r.acr, None);
    }

    #[test]
    fn oidc_core_5_5_1_1_essential_acr() {
        let ok = ClaimsRequest::parse(
            r#"{"id_token":{"acr":{"essential":true,"values":["phr","mfa"]}}}"#,
        );
        assert_eq!(
            ok.ok()
                .and_then(|r| r.acr)
                .as_ref()
                .and_then(|a| a.best().map(str::to_owned)),
            Some("mfa".into())
        );
        let unmet =
            ClaimsRequest::parse(r#"{"id_token":{"acr":{"essential":true,"values":["phr"]}}}"#);
        assert_eq!(unmet, Err(ClaimsError::UnmetAcr));
        let voluntary = ClaimsRequest::parse(r#"{"id_token":{"acr":{"values":["phr"]}}}"#);
        assert!(voluntary.is_ok());
    }

    #[test]
    fn malformed_claims_are_refused() {
        for bad in ["[]", "{", r#"{"userinfo": 3}"#, r#"{"id_token":{"acr":3}}"#] {
            assert_eq!(
                ClaimsRequest::parse(bad),
                Err(ClaimsError::Malformed),
                "{bad}"
            );
        }
    }
}
