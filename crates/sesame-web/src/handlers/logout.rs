//! `/end_session` (RP-Initiated Logout 1.0) and its confirmation page.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;
use serde_json::json;
use sesame_core::service::{LogoutOutcome, LogoutRequest};

use super::{browser, page_lang};
use crate::AppState;
use crate::cookies;
use crate::pages::{base_context, error_page, render, unavailable};

/// `GET /end_session`.
pub async fn get(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = serde_urlencoded::from_str::<LogoutRequest>(&query.unwrap_or_default());
    end_session(state, jar, headers, request.ok()).await
}

/// `POST /end_session` (§2: the OP supports both).
pub async fn post(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    form: Result<Form<LogoutRequest>, FormRejection>,
) -> Response {
    end_session(state, jar, headers, form.ok().map(|Form(f)| f)).await
}

async fn end_session(
    state: AppState,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    request: Option<LogoutRequest>,
) -> Response {
    let ui_locales: Vec<String> = request
        .as_ref()
        .and_then(|r| r.ui_locales.clone())
        .map(|l| l.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    let lang = page_lang(&state, &jar, &headers, &ui_locales);
    let Some(request) = request else {
        return error_page(&state, lang, StatusCode::BAD_REQUEST, "bad_request");
    };
    let (jar, ctx) = browser(&state, jar);
    match state.provider.end_session(&request, &ctx).await {
        Ok(outcome) => respond(&state, jar, lang, outcome),
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// The confirmation form.
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    req: String,
}

/// `POST /end_session/confirm`: the participant confirmed.
pub async fn confirm(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let Ok(Form(form)) = form else {
        return error_page(&state, lang, StatusCode::BAD_REQUEST, "bad_request");
    };
    let (jar, ctx) = browser(&state, jar);
    match state.provider.confirm_logout(&form.req, &ctx).await {
        Ok(outcome) => respond(&state, jar, lang, outcome),
        Err(error) => unavailable(&state, lang, &error),
    }
}

fn respond(
    state: &AppState,
    jar: PrivateCookieJar,
    lang: &str,
    outcome: LogoutOutcome,
) -> Response {
    let theme = state.themes.get(None);
    match outcome {
        LogoutOutcome::Invalid(key) => {
            (jar, error_page(state, lang, StatusCode::BAD_REQUEST, key)).into_response()
        }
        LogoutOutcome::Confirm {
            sealed,
            client_name,
        } => {
            let mut context = base_context(state, lang, theme.name(), None);
            context["sealed"] = json!(sealed);
            context["client_name"] = json!(client_name);
            (
                jar,
                render(state, StatusCode::OK, "logout_confirm.html", context),
            )
                .into_response()
        }
        LogoutOutcome::Done { redirect } => {
            let jar = jar
                .remove(state.cookies.removal(cookies::SESSION))
                .remove(state.cookies.removal(cookies::REQUEST));
            match redirect {
                Some(url) => (jar, Redirect::to(&url)).into_response(),
                None => {
                    let context = base_context(state, lang, theme.name(), None);
                    (
                        jar,
                        render(state, StatusCode::OK, "logged_out.html", context),
                    )
                        .into_response()
                }
            }
        }
    }
}
