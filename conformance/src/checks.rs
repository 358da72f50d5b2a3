//! The conditions the suite evaluates on every flow (its `AbstractOIDCCServerTest` and
//! standard id_token checks), as functions that fail with the condition's words.

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde_json::Value;

use crate::Mode;
use crate::rp::{Answer, AuthRequest, Callback, Delivery, Rp};

/// The callback came the way the response mode says (query, or a form POSTed by the
/// browser with nothing in the URL: Form Post Response Mode §2).
pub fn delivered(callback: &Callback, request: &AuthRequest) -> anyhow::Result<()> {
    match (request.mode, callback.delivery) {
        (Mode::Query, Delivery::Query) => {
            ensure!(
                same_uri(&callback.target, &request.redirect_uri),
                "redirected to {} instead of the redirect_uri",
                callback.target
            );
            Ok(())
        }
        (Mode::FormPost, Delivery::FormPost) => {
            ensure!(
                callback.target == request.redirect_uri,
                "the form posts to {} instead of the redirect_uri",
                callback.target
            );
            let (method, enctype) =
                rp_form(&callback.page.body, &callback.page.url, &callback.target)
                    .context("no form to the redirect_uri")?;
            ensure!(
                method == "post",
                "the form's method is {method:?}, not post"
            );
            ensure!(
                enctype == "application/x-www-form-urlencoded",
                "the form's enctype is {enctype}"
            );
            // The browser submits it by itself: a script on the page does (inline or not).
            ensure!(
                callback.page.body.contains("<script"),
                "the form-post page does not submit itself"
            );
            Ok(())
        }
        (_, Delivery::Page) => bail!(
            "no response reached the RP: the provider shows {:?} ({})",
            callback.page.screen(),
            callback.page.url
        ),
        (mode, delivery) => bail!("{delivery:?} delivery in {mode:?} mode"),
    }
}

/// The same URI, leaving out the query (the parameters added to a redirect).
pub fn same_uri(a: &str, b: &str) -> bool {
    let bare = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    bare(a).is_some() && bare(a) == bare(b)
}

/// The method and encoding of the page's form whose action is `target`.
fn rp_form(body: &str, page_url: &str, target: &str) -> Option<(String, String)> {
    let html = scraper::Html::parse_document(body);
    let forms = scraper::Selector::parse("form").ok()?;
    let base = url::Url::parse(page_url).ok()?;
    let form = html.select(&forms).find(|f| {
        f.value()
            .attr("action")
            .and_then(|a| base.join(a).ok())
            .is_some_and(|u| u.as_str() == target)
    })?;
    let attr = |name: &str, default: &str| {
        form.value()
            .attr(name)
            .unwrap_or(default)
            .to_ascii_lowercase()
    };
    Some((
        attr("method", "get"),
        attr("enctype", "application/x-www-form-urlencoded"),
    ))
}

/// Bits in a token: as written (length × bits per character of the alphabet it uses) and
/// as estimated from its characters' frequencies (Shannon).
pub fn entropy_bits(token: &str) -> (f64, f64) {
    let len = token.chars().count() as f64;
    let per_char = if token.bytes().all(|b| b.is_ascii_hexdigit()) {
        4.0
    } else if token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        6.0
    } else {
        6.5
    };
    let mut counts = std::collections::HashMap::new();
    for c in token.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let shannon: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum();
    (len * per_char, len * shannon)
}

/// At least 128 bits as written and 96 estimated (the suite's code and token rules).
pub fn strong(name: &str, token: &str) -> anyhow::Result<()> {
    let (written, estimated) = entropy_bits(token);
    ensure!(
        written >= 128.0,
        "{name} holds {written:.0} bits, under 128"
    );
    ensure!(
        estimated >= 96.0,
        "{name} looks like {estimated:.0} bits, under 96"
    );
    Ok(())
}

/// A successful authorization response: state echoed, `iss` right if present (RFC 9207),
/// a code of at least 128 bits.
pub fn success(callback: &Callback, request: &AuthRequest, rp: &Rp) -> anyhow::Result<String> {
    delivered(callback, request)?;
    ensure!(
        callback.get("error").is_none(),
        "error {:?}: {:?}",
        callback.get("error"),
        callback.get("error_description")
    );
    ensure!(
        callback.get("state") == Some(request.state.as_str()),
        "state not echoed"
    );
    if let Some(iss) = callback.get("iss") {
        ensure!(iss == rp.issuer, "iss {iss} is not the issuer");
    }
    let code = callback.get("code").context("no code")?;
    strong("the code", code)?;
    Ok(code.to_owned())
}

/// An error authorization response (`performGenericAuthorizationEndpointErrorResponseValidation`).
/// Parameters besides the suite's list, and CR/LF/TAB in `error_description`, are its
/// WARNINGs: printed, not failures.
pub fn error(callback: &Callback, request: &AuthRequest, rp: &Rp) -> anyhow::Result<String> {
    delivered(callback, request)?;
    ensure!(callback.get("code").is_none(), "a code next to an error");
    ensure!(
        callback.get("state") == Some(request.state.as_str()),
        "state not echoed"
    );
    if let Some(iss) = callback.get("iss") {
        ensure!(iss == rp.issuer, "iss {iss} is not the issuer");
    }
    let error = callback.get("error").context("no error")?;
    const ALLOWED: &[&str] = &[
        "error",
        "error_description",
        "error_uri",
        "state",
        "session_state",
        "iss",
    ];
    for (name, value) in &callback.params {
        ensure!(
            ALLOWED.contains(&name.as_str()),
            "unexpected parameter {name}"
        );
        if name == "error_description" || name == "error_uri" {
            // RFC 6749 §4.1.2.1: %x20-21 / %x23-5B / %x5D-7E.
            let fine = value
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
            ensure!(fine, "{name} has characters outside RFC 6749's set");
        }
    }
    Ok(error.to_owned())
}

/// A token endpoint success: 200, JSON, Bearer, an access token, `expires_in`, no caching.
pub fn tokens(answer: &Answer) -> anyhow::Result<()> {
    ensure!(
        answer.status == 200,
        "token endpoint {}: {}",
        answer.status,
        answer.text
    );
    ensure!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "token response is not JSON"
    );
    ensure!(answer.str("access_token").is_some(), "no access_token");
    let kind = answer.str("token_type").unwrap_or_default();
    ensure!(kind.eq_ignore_ascii_case("bearer"), "token_type {kind}");
    // expires_in: valid if present (a WARNING of the suite when missing, printed by the module).
    let expires = &answer.json["expires_in"];
    ensure!(
        expires.is_null() || expires.as_u64().is_some(),
        "expires_in is not a number"
    );
    let token = answer.str("access_token").unwrap_or_default();
    strong("the access token", token)?;
    ensure!(
        answer.header("cache-control").contains("no-store"),
        "token response without Cache-Control: no-store"
    );
    Ok(())
}

/// A token endpoint error: 400 JSON with `error` and a valid `error_description`.
pub fn token_error(answer: &Answer, expected: &str) -> anyhow::Result<()> {
    ensure!(
        answer.status == 400,
        "status {} (400 expected)",
        answer.status
    );
    ensure!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "not JSON"
    );
    ensure!(
        answer.str("error") == Some(expected),
        "error {:?} ({expected} expected)",
        answer.str("error")
    );
    if let Some(description) = answer.str("error_description") {
        let fine = description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        ensure!(fine, "error_description outside RFC 6749's character set");
    }
    Ok(())
}

/// Verifies an id_token's signature against the JWKS (with a `kid`) and the standard
/// claims; returns the claims.
pub fn id_token(
    rp: &Rp,
    token: &str,
    request: &AuthRequest,
    nonce: Option<&str>,
) -> anyhow::Result<Value> {
    let claims = signed_claims(rp, token)?;
    let now = chrono::Utc::now().timestamp();
    ensure!(
        claims["iss"] == rp.issuer.as_str(),
        "id_token iss {}",
        claims["iss"]
    );
    ensure!(
        audience_has(&claims, request.client.id),
        "id_token aud {} lacks the client",
        claims["aud"]
    );
    let exp = claims["exp"].as_i64().context("id_token without exp")?;
    ensure!(
        exp > now && exp < now + 50 * 365 * 86_400,
        "exp {exp} not in seconds ahead"
    );
    let iat = claims["iat"].as_i64().context("id_token without iat")?;
    ensure!(
        (iat - now).abs() <= 300,
        "iat {iat} more than 5 minutes off"
    );
    if let Some(auth_time) = claims["auth_time"].as_i64() {
        ensure!(auth_time <= now + 300, "auth_time in the future");
        ensure!(
            auth_time > now - 365 * 86_400,
            "auth_time more than a year old"
        );
    }
    if !claims["acr"].is_null() {
        ensure!(
            claims["acr"].as_str().is_some_and(|a| !a.is_empty()),
            "acr is not a non-empty string"
        );
    }
    if let Some(nbf) = claims["nbf"].as_i64() {
        ensure!(nbf <= now + 300, "nbf in the future");
    }
    match nonce {
        Some(n) => ensure!(claims["nonce"] == n, "nonce not echoed"),
        None => ensure!(claims["nonce"].is_null(), "a nonce none was sent"),
    }
    ensure!(claims["sub"].as_str().is_some(), "id_token without sub");
    if !claims["updated_at"].is_null() {
        ensure!(
            claims["updated_at"].is_number(),
            "updated_at is not a number"
        );
    }
    Ok(claims)
}

/// The claims of a JWT signed by a key of the provider's JWKS, named by the header's `kid`.
pub fn signed_claims(rp: &Rp, token: &str) -> anyhow::Result<Value> {
    let header = part(token, 0)?;
    let kid = header["kid"].as_str().context("JWT header without kid")?;
    let alg = header["alg"].as_str().unwrap_or_default();
    let keys = rp.jwks["keys"].as_array().context("JWKS without keys")?;
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .with_context(|| format!("no key {kid} in the JWKS"))?;
    let jwk = Jwk::from_bytes(serde_json::to_vec(key)?)?;
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk)?),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk)?),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk)?),
        other => bail!("JWT alg {other}"),
    };
    let (payload, _) = josekit::jws::deserialize_compact(token, verifier.as_ref())
        .map_err(|e| anyhow!("signature: {e}"))?;
    Ok(serde_json::from_slice(&payload)?)
}

/// Whether a JWT's `aud` (a string or an array) names `client_id`.
pub fn audience_has(claims: &Value, client_id: &str) -> bool {
    match &claims["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(all) => all.iter().any(|a| a == client_id),
        _ => false,
    }
}

/// The unverified JSON of a compact JWT's part.
pub fn part(token: &str, index: usize) -> anyhow::Result<Value> {
    let text = token.split('.').nth(index).context("not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text)?)?)
}

/// A userinfo answer: 200, JSON, the id_token's `sub`, standard claims well typed.
pub fn userinfo(answer: &Answer, sub: &str) -> anyhow::Result<()> {
    ensure!(
        answer.status == 200,
        "userinfo {}: {}",
        answer.status,
        answer.text
    );
    ensure!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "userinfo is not application/json"
    );
    ensure!(
        answer.str("sub") == Some(sub),
        "userinfo sub differs from the id_token's"
    );
    for boolean in ["email_verified", "phone_number_verified"] {
        let value = &answer.json[boolean];
        ensure!(
            value.is_null() || value.is_boolean(),
            "{boolean} is not a boolean"
        );
    }
    let address = &answer.json["address"];
    ensure!(
        address.is_null() || address.is_object(),
        "address is not an object"
    );
    Ok(())
}

/// The JWKS: every key has a distinct `kid` and no private part.
pub fn jwks(rp: &Rp) -> anyhow::Result<()> {
    let keys = rp.jwks["keys"].as_array().context("JWKS without keys")?;
    ensure!(!keys.is_empty(), "empty JWKS");
    let mut kids = std::collections::HashSet::new();
    for key in keys {
        let kid = key["kid"].as_str().context("a key without kid")?;
        ensure!(kids.insert(kid.to_owned()), "kid {kid} twice");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            ensure!(
                key[private].is_null(),
                "key {kid} publishes its private part {private}"
            );
        }
    }
    Ok(())
}
