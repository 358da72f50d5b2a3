//! A tiny OpenID provider for driving the demo RP: discovery, an RS256 JWKS, an `/authorize`
//! that redirects straight back with a code, `/token`, `/userinfo` and an `/end_session` that
//! redirects straight back. It checks what a real provider would check of the RP
//! (client_secret_basic, PKCE S256, redirect URI), signs the ID token with the nonce it was
//! given and a fresh `sid`, and signs the logout tokens the tests post to the RP.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::alg::rsassa::RsassaJwsSigner;
use josekit::jws::{self, JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "demo-questionnaires";
pub const CLIENT_SECRET: &str = "demo-secret-value";
pub const SUBJECT: &str = "b7a1c0de-5e5a-4e1d-9c2f-0a1b2c3d4e5f";
const KEY_ID: &str = "fake-rs256";
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How the fake provider misbehaves, if at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quirk {
    #[default]
    None,
    /// Sends another issuer in the authorization response's `iss`.
    WrongIss,
    /// Signs the ID token with a nonce other than the one asked for.
    WrongNonce,
    /// Issues the ID token to another client.
    WrongAudience,
    /// Signs the ID token with a key that is not in the JWKS (same `kid`).
    ForeignKey,
    /// Publishes no `end_session_endpoint`.
    NoEndSession,
}

/// An ID token the fake provider issued.
#[derive(Clone, Debug)]
pub struct Issued {
    pub sid: String,
    pub id_token: String,
}

/// What the fake provider saw, for assertions.
#[derive(Default)]
pub struct Seen {
    pub token_calls: AtomicUsize,
    pub prompts: Mutex<Vec<String>>,
    pub issued: Mutex<Vec<Issued>>,
    pub end_sessions: Mutex<Vec<HashMap<String, String>>>,
}

impl Seen {
    /// The last ID token issued.
    pub fn last_issued(&self) -> Issued {
        self.issued.lock().unwrap().last().cloned().unwrap()
    }
}

/// Which key signs a logout token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The key the JWKS publishes.
    Published,
    /// A fresh key with the published key's `kid`.
    Foreign,
}

struct Grant {
    nonce: String,
    code_challenge: String,
    redirect_uri: String,
}

struct Shared {
    issuer: String,
    quirk: Quirk,
    signer: RsassaJwsSigner,
    published_signer: RsassaJwsSigner,
    public_jwk: Value,
    grants: Mutex<HashMap<String, Grant>>,
    sessions: AtomicUsize,
    seen: Arc<Seen>,
}

/// A running fake provider.
pub struct FakeProvider {
    pub issuer: String,
    pub seen: Arc<Seen>,
    shared: Arc<Shared>,
}

impl FakeProvider {
    /// The claims of a valid logout token for `SUBJECT` and `sid`.
    pub fn logout_claims(&self, sid: &str) -> Map<String, Value> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "jti": format!("jti-{sid}-{now}"),
            "sub": SUBJECT,
            "sid": sid,
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        claims.as_object().cloned().unwrap()
    }

    /// `claims` signed with `key` (RS256, the published `kid`), with `typ` in the header.
    pub fn sign_logout_token(&self, claims: &Map<String, Value>, typ: &str, key: Key) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        let payload = serde_json::to_vec(claims).unwrap();
        match key {
            Key::Published => {
                jws::serialize_compact(&payload, &header, &self.shared.published_signer).unwrap()
            }
            Key::Foreign => {
                let signer = rs256_signer(&new_key_pair());
                jws::serialize_compact(&payload, &header, &signer).unwrap()
            }
        }
    }
}

/// Starts a fake provider on `listener`.
pub async fn start_on(listener: TcpListener, quirk: Quirk) -> FakeProvider {
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let shared = Arc::new(shared(issuer.clone(), quirk, Arc::clone(&seen)));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .route("/end_session", get(end_session))
        .with_state(Arc::clone(&shared));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeProvider {
        issuer,
        seen,
        shared,
    }
}

/// Starts a fake provider on a free loopback port.
pub async fn start(quirk: Quirk) -> FakeProvider {
    start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), quirk).await
}

fn shared(issuer: String, quirk: Quirk, seen: Arc<Seen>) -> Shared {
    let key_pair = new_key_pair();
    let signing_pair = match quirk {
        Quirk::ForeignKey => new_key_pair(),
        _ => key_pair.clone(),
    };
    let signer = rs256_signer(&signing_pair);
    let published_signer = rs256_signer(&key_pair);
    let mut jwk = key_pair.to_jwk_public_key();
    jwk.set_key_id(KEY_ID);
    jwk.set_algorithm("RS256");
    jwk.set_key_use("sig");
    let public_jwk = Value::Object(jwk.as_ref().clone());
    Shared {
        issuer,
        quirk,
        signer,
        published_signer,
        public_jwk,
        grants: Mutex::default(),
        sessions: AtomicUsize::new(0),
        seen,
    }
}

fn new_key_pair() -> RsaKeyPair {
    RS256.generate_key_pair(2048).unwrap()
}

fn rs256_signer(key_pair: &RsaKeyPair) -> RsassaJwsSigner {
    let mut signer = RS256
        .signer_from_der(key_pair.to_der_private_key())
        .unwrap();
    signer.set_key_id(KEY_ID);
    signer
}

async fn discovery(State(op): State<Arc<Shared>>) -> Json<Value> {
    let issuer = &op.issuer;
    let mut metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": ["openid", "profile", "email", "cohort"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    if op.quirk != Quirk::NoEndSession {
        metadata["end_session_endpoint"] = json!(format!("{issuer}/end_session"));
    }
    Json(metadata)
}

async fn jwks(State(op): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "keys": [op.public_jwk] }))
}

async fn authorize(
    State(op): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let scopes: Vec<String> = param("scope").split(' ').map(str::to_owned).collect();
    let well_formed = param("response_type") == "code"
        && param("client_id") == CLIENT_ID
        && param("code_challenge_method") == "S256"
        && ["openid", "profile", "email", "cohort"]
            .iter()
            .all(|s| scopes.iter().any(|x| x == s));
    if !well_formed {
        return (StatusCode::BAD_REQUEST, "malformed authorization request").into_response();
    }
    if let Some(prompt) = query.get("prompt") {
        op.seen.prompts.lock().unwrap().push(prompt.clone());
    }
    let code = format!("code-{}", op.grants.lock().unwrap().len() + 1);
    let grant = Grant {
        nonce: param("nonce"),
        code_challenge: param("code_challenge"),
        redirect_uri: param("redirect_uri"),
    };
    let back = redirect_back(&op, &grant.redirect_uri, &code, &param("state"));
    op.grants.lock().unwrap().insert(code, grant);
    Redirect::to(&back).into_response()
}

fn redirect_back(op: &Shared, redirect_uri: &str, code: &str, state: &str) -> String {
    let iss = match op.quirk {
        Quirk::WrongIss => "http://127.0.0.1:1",
        _ => op.issuer.as_str(),
    };
    let mut url = url::Url::parse(redirect_uri).unwrap();
    url.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", state);
    url.query_pairs_mut().append_pair("iss", iss);
    url.to_string()
}

async fn token(
    State(op): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    op.seen.token_calls.fetch_add(1, Ordering::SeqCst);
    if !client_authenticated(&headers) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let grant = op.grants.lock().unwrap().remove(&field("code"));
    let Some(grant) = grant else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let pkce_ok = s256(&field("code_verifier")) == grant.code_challenge;
    if field("grant_type") != "authorization_code" || !pkce_ok {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    if field("redirect_uri") != grant.redirect_uri {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let nonce = match op.quirk {
        Quirk::WrongNonce => "not-the-nonce".to_owned(),
        _ => grant.nonce,
    };
    let sid = format!("sid-{}", op.sessions.fetch_add(1, Ordering::SeqCst) + 1);
    let id_token = id_token(&op, &nonce, &sid);
    let issued = Issued {
        sid,
        id_token: id_token.clone(),
    };
    op.seen.issued.lock().unwrap().push(issued);
    let body = json!({
        "access_token": format!("at-{SUBJECT}"),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    });
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    (no_store, Json(body)).into_response()
}

fn client_authenticated(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value == expected.as_str())
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

fn id_token(op: &Shared, nonce: &str, sid: &str) -> String {
    let now = SystemTime::now();
    let auth_time = now.duration_since(UNIX_EPOCH).unwrap().as_secs() - 30;
    let mut payload = JwtPayload::new();
    payload.set_issuer(&op.issuer);
    payload.set_subject(SUBJECT);
    let audience = match op.quirk {
        Quirk::WrongAudience => "another-client",
        _ => CLIENT_ID,
    };
    payload.set_audience(vec![audience]);
    payload.set_issued_at(&now);
    payload.set_expires_at(&(now + Duration::from_secs(300)));
    payload.set_claim("nonce", Some(json!(nonce))).unwrap();
    payload
        .set_claim("auth_time", Some(json!(auth_time)))
        .unwrap();
    payload.set_claim("acr", Some(json!("mfa"))).unwrap();
    payload.set_claim("sid", Some(json!(sid))).unwrap();
    payload
        .set_claim("amr", Some(json!(["pwd", "otp", "mfa"])))
        .unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    jwt::encode_with_signer(&payload, &header, &op.signer).unwrap()
}

async fn userinfo(headers: HeaderMap) -> Response {
    let expected = format!("Bearer at-{SUBJECT}");
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == expected.as_str());
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({
        "sub": SUBJECT,
        "given_name": "Zoé",
        "family_name": "L'Hôte <Martin>",
        "email": "zoe.martin@exemple.fr",
        "cohort_number": "12345678",
    }))
    .into_response()
}

/// Ends the session and goes straight back to `post_logout_redirect_uri` with `state`.
async fn end_session(
    State(op): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    op.seen.end_sessions.lock().unwrap().push(query.clone());
    let Some(back) = query.get("post_logout_redirect_uri") else {
        return "Vous êtes déconnecté.".into_response();
    };
    let mut url = url::Url::parse(back).unwrap();
    if let Some(state) = query.get("state") {
        url.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(url.as_str()).into_response()
}
