//! Token contents: access tokens (RFC 9068), id_tokens (OIDC Core §2) and userinfo claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::acr::{Acr, Amr};
use crate::participant::{Participant, ParticipantId};

/// An authorization code's record, kept under `code:{digest}` until exchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub participant: ParticipantId,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<sesame_protocol::pkce::CodeChallenge>,
    pub auth_time: DateTime<Utc>,
    pub acr: Acr,
    pub amr: Vec<Amr>,
    pub sid: String,
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
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: Vec<Amr>,
    /// The grant id: userinfo refuses the token once the grant is revoked.
    pub gid: Uuid,
}

/// OIDC Core §3.1.3.6: the left-most half of the SHA-256 of the access token, base64url.
/// Both RS256 and ES256 use SHA-256.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The id_token's claims: the authentication, not the profile (DESIGN §3).
pub fn id_token_claims(
    issuer: &str,
    code: &IssuedCode,
    access_token: &str,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Value {
    let mut claims = json!({
        "iss": issuer,
        "sub": code.participant.to_string(),
        "aud": code.client_id,
        "azp": code.client_id,
        "iat": now.timestamp(),
        "exp": (now + ttl).timestamp(),
        "auth_time": code.auth_time.timestamp(),
        "acr": code.acr.as_str(),
        "amr": code.amr,
        "sid": code.sid,
        "at_hash": at_hash(access_token),
    });
    if let (Some(nonce), Some(map)) = (&code.nonce, claims.as_object_mut()) {
        map.insert("nonce".into(), Value::String(nonce.clone()));
    }
    claims
}

/// Userinfo claims released by the granted scopes (OIDC Core §5.4), and `cohort_number`
/// with the `cohort` scope only.
pub fn userinfo_claims(participant: &Participant, scopes: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(participant.id.to_string()));
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.into(), v);
        }
    };
    let text = |v: &Option<String>| v.clone().map(Value::String);
    if has("profile") {
        put("given_name", text(&participant.profile.given_name));
        put("family_name", text(&participant.profile.family_name));
        put("locale", text(&participant.profile.locale));
        put(
            "updated_at",
            Some(json!(participant.updated_at.timestamp())),
        );
    }
    if has("email") && participant.email.is_some() {
        put("email", text(&participant.email));
        put(
            "email_verified",
            Some(Value::Bool(participant.email_verified)),
        );
    }
    if has("phone") && participant.phone.is_some() {
        put("phone_number", text(&participant.phone));
        put(
            "phone_number_verified",
            Some(Value::Bool(participant.phone_verified)),
        );
    }
    if has("cohort") {
        put(
            "cohort_number",
            Some(Value::String(participant.number.as_str().to_owned())),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_core_3_1_3_6_at_hash_vector() {
        // The example of OIDC Core Appendix A.3 / A.4.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
