//! The OAuth 2.0 / OpenID Connect endpoints.

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;
use serde_json::json;
use sesame_core::service::{BearerError, TokenError};
use sesame_protocol::discovery::ProviderMetadata;
use sesame_protocol::token::{RawTokenQuery, RawTokenRequest};

use super::{browser, page_lang, pairs};
use crate::AppState;
use crate::pages::{respond, unavailable};

/// OIDC Discovery 1.0 §4.
pub async fn discovery(State(state): State<AppState>) -> Response {
    cacheable(Json(ProviderMetadata::for_issuer(state.provider.issuer())).into_response())
}

/// The public signing keys (RFC 7517).
pub async fn jwks(State(state): State<AppState>) -> Response {
    cacheable(Json(state.provider.keys().jwks()).into_response())
}

fn cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /authorize` (RFC 6749 §4.1.1).
pub async fn authorize_get(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    authorize(state, jar, headers, pairs).await
}

/// `POST /authorize` (OIDC Core §3.1.2.1: form-encoded, same parameters).
pub async fn authorize_post(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    authorize(state, jar, headers, pairs(&body)).await
}

async fn authorize(
    state: AppState,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    pairs: Vec<(String, String)>,
) -> Response {
    let ui_locales: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "ui_locales")
        .flat_map(|(_, v)| v.split(' ').map(str::to_owned))
        .collect();
    let lang = page_lang(&state, &jar, &headers, &ui_locales);
    let (jar, ctx) = browser(&state, jar);
    match state.provider.authorize(&pairs, &ctx).await {
        Ok(outcome) => respond(&state, jar, lang, outcome),
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// `POST /token` (RFC 6749 §3.2).
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<RawTokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return malformed();
    };
    let form = form.without_empty();
    match state.provider.token(authorization(&headers), &form).await {
        Ok(response) => {
            let mut response = Json(response).into_response();
            response
                .headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => token_failure(error),
    }
}

/// `POST /revoke` (RFC 7009 §2): 200 whatever became of the token.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<RawTokenQuery>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return malformed();
    };
    match state.provider.revoke(authorization(&headers), &form).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => token_failure(error),
    }
}

/// `POST /introspect` (RFC 7662 §2).
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<RawTokenQuery>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return malformed();
    };
    match state
        .provider
        .introspect(authorization(&headers), &form)
        .await
    {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => token_failure(error),
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn malformed() -> Response {
    let why = "the body must be a form with each parameter once";
    token_error(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": why}),
        false,
    )
}

fn token_failure(error: TokenError) -> Response {
    match error {
        TokenError::Refused {
            status,
            body,
            basic_challenge,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            token_error(status, json!(body), basic_challenge)
        }
        TokenError::Internal(error) => {
            tracing::error!(%error, "token endpoint failed on an internal error");
            let body = json!({"error": "temporarily_unavailable"});
            token_error(StatusCode::SERVICE_UNAVAILABLE, body, false)
        }
    }
}

fn token_error(status: StatusCode, body: serde_json::Value, basic_challenge: bool) -> Response {
    let mut response = (status, Json(body)).into_response();
    if basic_challenge {
        let challenge = HeaderValue::from_static("Basic realm=\"sesame\", charset=\"UTF-8\"");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /userinfo` with the token in the Authorization header (RFC 6750 §2.1).
pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, bearer(&headers), None).await
}

/// The form of a POST to userinfo (RFC 6750 §2.2).
#[derive(Debug, Default, Deserialize)]
pub struct UserinfoForm {
    access_token: Option<String>,
}

/// `POST /userinfo`, with the token in the header or the form body.
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<UserinfoForm>, FormRejection>,
) -> Response {
    let body_token = form.ok().and_then(|Form(f)| f.access_token);
    userinfo(state, bearer(&headers), body_token).await
}

/// `Some(Ok(token))` for a Bearer header, `Some(Err(()))` for another scheme.
fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok();
    Some(
        value
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            })
            .ok_or(()),
    )
}

async fn userinfo(
    state: AppState,
    header: Option<Result<String, ()>>,
    body: Option<String>,
) -> Response {
    let token = match (header, body) {
        (Some(Ok(token)), None) | (None, Some(token)) => token,
        (None, None) => return bearer_error(StatusCode::UNAUTHORIZED, None),
        _ => return bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request")),
    };
    match state.provider.userinfo(&token).await {
        Ok(claims) => Json(claims).into_response(),
        Err(BearerError::InvalidRequest) => {
            bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"))
        }
        Err(BearerError::InvalidToken) => {
            bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token"))
        }
        Err(BearerError::Internal(error)) => {
            tracing::error!(%error, "userinfo failed on an internal error");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable"})),
            )
                .into_response()
        }
    }
}

/// RFC 6750 §3: a challenge, with an error code only when a token was presented.
fn bearer_error(status: StatusCode, error: Option<&str>) -> Response {
    let challenge = match error {
        Some(code) => format!("Bearer realm=\"sesame\", error=\"{code}\""),
        None => "Bearer realm=\"sesame\"".to_owned(),
    };
    let mut response = match error {
        Some(code) => (status, Json(json!({"error": code}))).into_response(),
        None => status.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
