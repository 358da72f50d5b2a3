//! Back-Channel Logout 1.0: the logout token the provider posts to `/backchannel-logout`
//! (§2.4) and its validation (§2.6), which says which local sessions end (§2.7).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey as _, JsonWebKeyId};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The member of `events` that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How old a logout token may be. The provider signs it once and retries its delivery for as
/// long as it is valid (ten minutes), so a retried token is as old as that.
const MAX_AGE_SECS: f64 = 10.0 * 60.0;
/// How far the provider's clock may be ahead of, or behind, the demo's.
const LEEWAY_SECS: f64 = 60.0;

/// The local sessions a valid logout token ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutTarget {
    /// The `sub` claim, if the token has one.
    pub sub: Option<String>,
    /// The `sid` claim, if the token has one.
    pub sid: Option<String>,
}

impl LogoutTarget {
    /// Whether a session opened with `sid` for `sub` ends: the token's `sid` names one
    /// session (of its `sub`, when it has one too); a `sub` alone names all of them.
    pub fn names(&self, sid: Option<&str>, sub: &str) -> bool {
        match (&self.sid, &self.sub) {
            (Some(wanted), subject) => {
                sid == Some(wanted.as_str()) && subject.as_deref().is_none_or(|s| s == sub)
            }
            (None, Some(subject)) => subject == sub,
            (None, None) => false,
        }
    }
}

/// What a logout token must agree with.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The issuer the demo is configured with (discovery checked the provider agrees).
    pub issuer: &'a str,
    /// The demo's client id, which `aud` must contain.
    pub client_id: &'a str,
    /// The provider's published keys.
    pub keys: &'a CoreJsonWebKeySet,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// Why a logout token was refused. The text goes to the log, never to the sender.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogoutTokenRefusal {
    /// The provider's discovery or keys could not be read.
    #[error("the provider's keys cannot be read")]
    KeysUnavailable,
    /// Not a compact JWS with a JSON header and payload (an encrypted token included).
    #[error("not a signed JWT")]
    Malformed,
    /// The header has `crit`, whose extensions the demo does not understand.
    #[error("the header has critical extensions")]
    CriticalHeader,
    /// `alg` is neither RS256 nor ES256.
    #[error("the signing algorithm is not accepted")]
    Algorithm,
    /// `typ` is not `logout+jwt` (§2.4).
    #[error("typ is not logout+jwt")]
    Type,
    /// The header's `kid` names no published key.
    #[error("no published key has this kid")]
    UnknownKey,
    /// No published key verifies the signature.
    #[error("the signature does not verify")]
    Signature,
    /// `iss` is not the issuer.
    #[error("iss is not the issuer")]
    Issuer,
    /// `aud` does not contain the client id.
    #[error("aud does not contain the client id")]
    Audience,
    /// `iat` is missing, too old or in the future.
    #[error("iat is missing, too old or in the future")]
    IssuedAt,
    /// `exp` is missing or past.
    #[error("exp is missing or past")]
    Expired,
    /// `jti` is missing.
    #[error("jti is missing")]
    TokenId,
    /// `events` lacks the back-channel logout member, or it is not a JSON object.
    #[error("events lacks the back-channel logout event")]
    Event,
    /// The token has a `nonce`, which §2.4 forbids.
    #[error("the token has a nonce")]
    Nonce,
    /// Neither `sid` nor `sub` is a non-empty string.
    #[error("neither sid nor sub names a session")]
    Subject,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// Runs the checks of §2.6 on `token`, signature first, and returns the sessions it ends.
pub fn validate(token: &str, expected: &Expected<'_>) -> Result<LogoutTarget, LogoutTokenRefusal> {
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(LogoutTokenRefusal::Malformed)?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(LogoutTokenRefusal::Malformed)?;
    if payload.contains('.') {
        return Err(LogoutTokenRefusal::Malformed);
    }
    let header: Header = decode_json(header)?;
    if header.crit.is_some() {
        return Err(LogoutTokenRefusal::CriticalHeader);
    }
    let alg = signing_algorithm(&header.alg)?;
    if !header.typ.as_deref().is_some_and(is_logout_type) {
        return Err(LogoutTokenRefusal::Type);
    }
    let signature = decode(signature)?;
    check_signature(expected.keys, header.kid, &alg, signing_input, &signature)?;
    let claims: Map<String, Value> = decode_json(payload)?;
    check_claims(&claims, expected)
}

fn decode(part: &str) -> Result<Vec<u8>, LogoutTokenRefusal> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| LogoutTokenRefusal::Malformed)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, LogoutTokenRefusal> {
    serde_json::from_slice(&decode(part)?).map_err(|_| LogoutTokenRefusal::Malformed)
}

fn signing_algorithm(alg: &str) -> Result<CoreJwsSigningAlgorithm, LogoutTokenRefusal> {
    match alg {
        "RS256" => Ok(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "ES256" => Ok(CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        _ => Err(LogoutTokenRefusal::Algorithm),
    }
}

/// `typ` is a media type, compared without regard to case, and may omit `application/`
/// (RFC 7515 §4.1.9).
fn is_logout_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "logout+jwt" || typ == "application/logout+jwt"
}

fn check_signature(
    keys: &CoreJsonWebKeySet,
    kid: Option<String>,
    alg: &CoreJwsSigningAlgorithm,
    signing_input: &str,
    signature: &[u8],
) -> Result<(), LogoutTokenRefusal> {
    let kid = kid.map(JsonWebKeyId::new);
    let candidates: Vec<_> = keys
        .keys()
        .iter()
        .filter(|key| kid.is_none() || key.key_id() == kid.as_ref())
        .collect();
    if candidates.is_empty() {
        return Err(LogoutTokenRefusal::UnknownKey);
    }
    // `verify_signature` also checks that the key suits `alg` (type, curve, `use`, `alg`).
    let verified = candidates.iter().any(|key| {
        key.verify_signature(alg, signing_input.as_bytes(), signature)
            .is_ok()
    });
    verified.then_some(()).ok_or(LogoutTokenRefusal::Signature)
}

fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<LogoutTarget, LogoutTokenRefusal> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(LogoutTokenRefusal::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(LogoutTokenRefusal::Audience);
    }
    // Seconds since the epoch fit an f64 exactly for millions of years.
    let now = expected.now.timestamp() as f64;
    let iat = claims.get("iat").and_then(Value::as_f64);
    if !iat.is_some_and(|iat| iat >= now - MAX_AGE_SECS && iat <= now + LEEWAY_SECS) {
        return Err(LogoutTokenRefusal::IssuedAt);
    }
    let exp = claims.get("exp").and_then(Value::as_f64);
    if !exp.is_some_and(|exp| exp > now - LEEWAY_SECS) {
        return Err(LogoutTokenRefusal::Expired);
    }
    let jti = claims.get("jti").and_then(Value::as_str);
    if jti.is_none_or(str::is_empty) {
        return Err(LogoutTokenRefusal::TokenId);
    }
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(LogoutTokenRefusal::Event);
    }
    if claims.contains_key("nonce") {
        return Err(LogoutTokenRefusal::Nonce);
    }
    let target = LogoutTarget {
        sub: session_claim(claims, "sub")?,
        sid: session_claim(claims, "sid")?,
    };
    if target.sub.is_none() && target.sid.is_none() {
        return Err(LogoutTokenRefusal::Subject);
    }
    Ok(target)
}

/// `sub` or `sid`: absent, or a non-empty string.
fn session_claim(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, LogoutTokenRefusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if !value.is_empty() => Ok(Some(value.clone())),
        Some(_) => Err(LogoutTokenRefusal::Subject),
    }
}

#[cfg(test)]
mod tests {
    use josekit::jwk::Jwk;
    use josekit::jws::{self, ES256, JwsHeader, JwsSigner, RS256};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "http://127.0.0.1:8080";
    const CLIENT: &str = "demo";

    struct Op {
        rsa: Box<dyn JwsSigner>,
        ec: Box<dyn JwsSigner>,
        keys: CoreJsonWebKeySet,
    }

    fn public_jwk(mut jwk: Jwk, kid: &str, alg: &str) -> Value {
        jwk.set_key_id(kid);
        jwk.set_algorithm(alg);
        jwk.set_key_use("sig");
        Value::Object(jwk.as_ref().clone())
    }

    fn op() -> Op {
        let rsa_pair = RS256.generate_key_pair(2048).unwrap();
        let ec_pair = ES256.generate_key_pair().unwrap();
        let keys = json!({ "keys": [
            public_jwk(rsa_pair.to_jwk_public_key(), "rsa-1", "RS256"),
            public_jwk(ec_pair.to_jwk_public_key(), "ec-1", "ES256"),
        ]});
        let mut rsa = RS256
            .signer_from_der(rsa_pair.to_der_private_key())
            .unwrap();
        rsa.set_key_id("rsa-1");
        let mut ec = ES256.signer_from_der(ec_pair.to_der_private_key()).unwrap();
        ec.set_key_id("ec-1");
        Op {
            rsa: Box::new(rsa),
            ec: Box::new(ec),
            keys: serde_json::from_value(keys).unwrap(),
        }
    }

    fn claims() -> Value {
        let now = Utc::now().timestamp();
        json!({
            "iss": ISSUER,
            "aud": CLIENT,
            "iat": now,
            "exp": now + 600,
            "jti": "jti-1",
            "sub": "subject-1",
            "sid": "session-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        })
    }

    fn sign_with(signer: &dyn JwsSigner, typ: &str, claims: &Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        let payload = serde_json::to_vec(claims).unwrap();
        jws::serialize_compact(&payload, &header, signer).unwrap()
    }

    fn check(op: &Op, token: &str) -> Result<LogoutTarget, LogoutTokenRefusal> {
        let expected = Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            keys: &op.keys,
            now: Utc::now(),
        };
        validate(token, &expected)
    }

    /// Signs `claims` after `edit` with the RSA key and `typ: logout+jwt`, then validates.
    fn check_edited(op: &Op, edit: impl FnOnce(&mut Map<String, Value>)) -> LogoutTokenRefusal {
        let mut claims = claims();
        if let Value::Object(map) = &mut claims {
            edit(map);
        }
        check(op, &sign_with(op.rsa.as_ref(), "logout+jwt", &claims))
            .err()
            .unwrap()
    }

    fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let signature = URL_SAFE_NO_PAD.encode(signature);
        format!("{}.{}.{signature}", part(header), part(claims))
    }

    #[test]
    fn a_valid_rs256_token_names_its_session() {
        let op = op();
        let token = sign_with(op.rsa.as_ref(), "logout+jwt", &claims());
        let target = check(&op, &token).unwrap();
        assert_eq!(target.sid.as_deref(), Some("session-1"));
        assert_eq!(target.sub.as_deref(), Some("subject-1"));
    }

    #[test]
    fn es256_and_the_long_media_type_are_accepted() {
        let op = op();
        let token = sign_with(op.ec.as_ref(), "application/Logout+JWT", &claims());
        assert!(check(&op, &token).is_ok());
    }

    #[test]
    fn another_typ_is_refused() {
        let op = op();
        for typ in ["JWT", "at+jwt", ""] {
            let token = sign_with(op.rsa.as_ref(), typ, &claims());
            assert_eq!(check(&op, &token), Err(LogoutTokenRefusal::Type), "{typ}");
        }
    }

    #[test]
    fn other_algorithms_are_refused() {
        let op = op();
        for alg in ["none", "HS256", "RS512", "PS256"] {
            let header = json!({ "alg": alg, "typ": "logout+jwt", "kid": "rsa-1" });
            let token = unsigned(&header, &claims(), b"sig");
            assert_eq!(
                check(&op, &token),
                Err(LogoutTokenRefusal::Algorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let op = op();
        let mut foreign = RS256
            .signer_from_der(RS256.generate_key_pair(2048).unwrap().to_der_private_key())
            .unwrap();
        foreign.set_key_id("rsa-1");
        let token = sign_with(&foreign, "logout+jwt", &claims());
        assert_eq!(check(&op, &token), Err(LogoutTokenRefusal::Signature));
        foreign.set_key_id("rsa-2");
        let token = sign_with(&foreign, "logout+jwt", &claims());
        assert_eq!(check(&op, &token), Err(LogoutTokenRefusal::UnknownKey));
    }

    #[test]
    fn a_key_of_another_type_does_not_verify() {
        let op = op();
        let mut signer = RS256
            .signer_from_der(RS256.generate_key_pair(2048).unwrap().to_der_private_key())
            .unwrap();
        signer.set_key_id("ec-1");
        let token = sign_with(&signer, "logout+jwt", &claims());
        assert_eq!(check(&op, &token), Err(LogoutTokenRefusal::Signature));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let op = op();
        let token = sign_with(op.rsa.as_ref(), "logout+jwt", &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut other = claims();
        other["sid"] = json!("session-2");
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        parts[1] = &payload;
        let forged = parts.join(".");
        assert_eq!(check(&op, &forged), Err(LogoutTokenRefusal::Signature));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let op = op();
        let token = sign_with(op.rsa.as_ref(), "logout+jwt", &claims());
        for bad in [
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d.e".to_owned(),
            format!("{token}="),
            format!("{token}.x"),
        ] {
            assert_eq!(
                check(&op, &bad),
                Err(LogoutTokenRefusal::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn critical_headers_are_refused() {
        let op = op();
        let header = json!({ "alg": "RS256", "typ": "logout+jwt", "crit": ["exp"] });
        let token = unsigned(&header, &claims(), b"sig");
        assert_eq!(check(&op, &token), Err(LogoutTokenRefusal::CriticalHeader));
    }

    #[test]
    fn issuer_and_audience_must_match() {
        let op = op();
        let refusal = check_edited(&op, |c| {
            c.insert("iss".into(), json!("http://127.0.0.1:8080/"));
        });
        assert_eq!(refusal, LogoutTokenRefusal::Issuer);
        let refusal = check_edited(&op, |c| {
            c.insert("aud".into(), json!("another"));
        });
        assert_eq!(refusal, LogoutTokenRefusal::Audience);
        let refusal = check_edited(&op, |c| {
            c.insert("aud".into(), json!(["another"]));
        });
        assert_eq!(refusal, LogoutTokenRefusal::Audience);
        let mut listed = claims();
        listed["aud"] = json!(["another", CLIENT]);
        let token = sign_with(op.rsa.as_ref(), "logout+jwt", &listed);
        assert!(check(&op, &token).is_ok());
    }

    #[test]
    fn iat_must_be_recent_and_exp_ahead() {
        let op = op();
        let now = Utc::now().timestamp();
        for iat in [
            json!(now - 11 * 60),
            json!(now + 5 * 60),
            json!("now"),
            Value::Null,
        ] {
            let refusal = check_edited(&op, |c| {
                c.insert("iat".into(), iat.clone());
            });
            assert_eq!(refusal, LogoutTokenRefusal::IssuedAt, "{iat}");
        }
        let refusal = check_edited(&op, |c| {
            c.remove("iat");
        });
        assert_eq!(refusal, LogoutTokenRefusal::IssuedAt);
        let refusal = check_edited(&op, |c| {
            c.insert("exp".into(), json!(now - 5 * 60));
        });
        assert_eq!(refusal, LogoutTokenRefusal::Expired);
        let refusal = check_edited(&op, |c| {
            c.remove("exp");
        });
        assert_eq!(refusal, LogoutTokenRefusal::Expired);
    }

    #[test]
    fn jti_is_required() {
        let op = op();
        let refusal = check_edited(&op, |c| {
            c.remove("jti");
        });
        assert_eq!(refusal, LogoutTokenRefusal::TokenId);
    }

    #[test]
    fn the_event_must_be_there_exactly() {
        let op = op();
        let edits: [fn(&mut Map<String, Value>); 4] = [
            |c| {
                c.remove("events");
            },
            |c| {
                c.insert("events".into(), json!({}));
            },
            |c| {
                let other = "http://schemas.openid.net/event/backchannel-logout/";
                c.insert("events".into(), json!({ other: {} }));
            },
            |c| {
                c.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: true }));
            },
        ];
        for edit in edits {
            assert_eq!(check_edited(&op, edit), LogoutTokenRefusal::Event);
        }
    }

    #[test]
    fn a_nonce_is_refused_even_null() {
        let op = op();
        for nonce in [json!("n-1"), Value::Null] {
            let refusal = check_edited(&op, |c| {
                c.insert("nonce".into(), nonce.clone());
            });
            assert_eq!(refusal, LogoutTokenRefusal::Nonce);
        }
    }

    #[test]
    fn sid_or_sub_is_required() {
        let op = op();
        let refusal = check_edited(&op, |c| {
            c.remove("sid");
            c.remove("sub");
        });
        assert_eq!(refusal, LogoutTokenRefusal::Subject);
        let refusal = check_edited(&op, |c| {
            c.insert("sid".into(), json!(""));
        });
        assert_eq!(refusal, LogoutTokenRefusal::Subject);
        let mut sid_only = claims();
        if let Value::Object(map) = &mut sid_only {
            map.remove("sub");
        }
        let token = sign_with(op.rsa.as_ref(), "logout+jwt", &sid_only);
        let target = check(&op, &token).unwrap();
        assert_eq!(
            (target.sub, target.sid.as_deref()),
            (None, Some("session-1"))
        );
    }

    #[test]
    fn a_target_names_sessions_by_sid_then_by_sub() {
        let both = LogoutTarget {
            sub: Some("u".to_owned()),
            sid: Some("s".to_owned()),
        };
        assert!(both.names(Some("s"), "u"));
        assert!(!both.names(Some("s"), "v"));
        assert!(!both.names(None, "u"));
        let sub_only = LogoutTarget {
            sub: Some("u".to_owned()),
            sid: None,
        };
        assert!(sub_only.names(Some("s"), "u") && sub_only.names(None, "u"));
        assert!(!sub_only.names(None, "v"));
    }
}
