//! Token contents: access tokens (RFC 9068), id_tokens (OIDC Core §2), logout tokens
//! (Back-Channel Logout §2.4), subjects (OIDC Core §8) and userinfo claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sesame_protocol::claims::{ClaimsRequest, scope_of};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::acr::{Acr, Amr};
use crate::client::{Client, SubjectType};
use crate::crypto::hmac_sha256;
use crate::participant::{Participant, ParticipantId};

/// The facts of a login that every token about it repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub participant: ParticipantId,
    pub auth_time: DateTime<Utc>,
    pub acr: Acr,
    pub amr: Vec<Amr>,
    /// The `sid` claim of the SSO session.
    pub sid: String,
}

/// An authorization code's record, kept under `code:{digest}` until exchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<sesame_protocol::pkce::CodeChallenge>,
    pub auth: Authentication,
    #[serde(default)]
    pub claims: Option<ClaimsRequest>,
    pub grant_id: Uuid,
    pub issued_at: DateTime<Utc>,
}

/// Claims of an access token as RFC 9068 §2.2 lays them out, plus the grant it hangs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<Amr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant id: userinfo refuses the token once the grant is revoked. Absent for
    /// `client_credentials` tokens, which speak for no participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<Uuid>,
    /// Userinfo claims asked for with the `claims` parameter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
}

/// OIDC Core §3.1.3.6: the left-most half of the SHA-256 of the access token, base64url.
/// Both RS256 and ES256 use SHA-256.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The `sub` a client sees: the participant's id, or a pairwise value for its sector
/// (OIDC Core §8.1), stable and not correlatable across sectors.
pub fn subject(client: &Client, participant: ParticipantId, pairwise_key: &[u8]) -> String {
    match &client.subject {
        SubjectType::Public => participant.to_string(),
        SubjectType::Pairwise { sector } => {
            let input = format!("{sector}\u{0}{participant}");
            URL_SAFE_NO_PAD.encode(hmac_sha256(pairwise_key, input.as_bytes()))
        }
    }
}

/// What an id_token says, besides the standard time claims.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub auth: &'a Authentication,
    /// The `acr` value to state (one the RP asked for, when it asked).
    pub acr: &'a str,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    /// Profile claims asked for in the id_token with the `claims` parameter.
    pub extra: Map<String, Value>,
}

/// The id_token's claims: the authentication, not the profile (DESIGN §3).
pub fn id_token_claims(
    input: IdTokenInput<'_>,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Value {
    let mut claims = json!({
        "iss": input.issuer,
        "sub": input.sub,
        "aud": input.client_id,
        "azp": input.client_id,
        "iat": now.timestamp(),
        "exp": (now + ttl).timestamp(),
        "auth_time": input.auth.auth_time.timestamp(),
        "acr": input.acr,
        "amr": input.auth.amr,
        "sid": input.auth.sid,
        "at_hash": at_hash(input.access_token),
    });
    if let Some(map) = claims.as_object_mut() {
        if let Some(nonce) = input.nonce {
            map.insert("nonce".into(), Value::String(nonce.to_owned()));
        }
        for (k, v) in input.extra {
            map.entry(k).or_insert(v);
        }
    }
    claims
}

/// The `acr` to state: the strongest value the RP asked for that the login meets, else
/// the login's own level; never below the client's `minimum_acr` (DESIGN §3).
pub fn stated_acr(achieved: Acr, minimum: Acr, claims: Option<&ClaimsRequest>) -> String {
    let asked = claims.and_then(|c| c.acr.as_ref());
    let met = asked.and_then(|a| {
        a.values
            .iter()
            .filter_map(|v| Acr::parse(v))
            .filter(|v| *v <= achieved)
            .max()
    });
    met.unwrap_or(achieved).max(minimum).as_str().to_owned()
}

/// A Back-Channel Logout token's claims (Back-Channel Logout 1.0 §2.4): no `nonce`.
pub fn logout_token_claims(
    issuer: &str,
    client_id: &str,
    sub: &str,
    sid: &str,
    jti: &str,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now.timestamp(),
        "exp": (now + chrono::Duration::minutes(10)).timestamp(),
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    })
}

/// Claims about the participant: those of the granted scopes (OIDC Core §5.4), plus
/// those asked for by name (§5.5) that belong to a scope the client may have.
/// `cohort_number` only ever comes this way.
pub fn profile_claims(
    participant: &Participant,
    scopes: &[String],
    asked: &[String],
    allowed: &[String],
) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let may = |claim: &str| {
        scope_of(claim).is_some_and(|s| {
            has(s) || allowed.iter().any(|a| a == s) && asked.iter().any(|c| c == claim)
        })
    };
    let mut out = Map::new();
    let text = |v: &Option<String>| v.clone().map(Value::String);
    // The full name, in displayable order, from the parts the study knows (§5.1 `name`).
    let name = [
        &participant.profile.given_name,
        &participant.profile.family_name,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect::<Vec<_>>()
    .join(" ");
    let candidates: [(&str, Option<Value>); 10] = [
        ("name", (!name.is_empty()).then_some(Value::String(name))),
        ("given_name", text(&participant.profile.given_name)),
        ("family_name", text(&participant.profile.family_name)),
        ("locale", text(&participant.profile.locale)),
        (
            "updated_at",
            Some(json!(participant.updated_at.timestamp())),
        ),
        ("email", text(&participant.email)),
        (
            "email_verified",
            participant
                .email
                .as_ref()
                .map(|_| Value::Bool(participant.email_verified)),
        ),
        ("phone_number", text(&participant.phone)),
        (
            "phone_number_verified",
            participant
                .phone
                .as_ref()
                .map(|_| Value::Bool(participant.phone_verified)),
        ),
        (
            "cohort_number",
            Some(Value::String(participant.number.as_str().to_owned())),
        ),
    ];
    for (name, value) in candidates {
        if let Some(value) = value.filter(|_| may(name)) {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests;
