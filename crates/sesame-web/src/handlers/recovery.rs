//! "Mot de passe oublié" and "Activer mon compte": the request pages and the pages behind
//! the links.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;
use serde_json::{Value, json};
use sesame_core::SecretString;
use sesame_core::service::{LinkKind, LinkPassword, LinkRequest, RequestOutcome};

use super::{browser, browser_at, page_lang};
use crate::AppState;
use crate::client::ClientIp;
use crate::pages::{base_context, error_page, render, respond, unavailable};

/// The query of a request page opened from a login page.
#[derive(Debug, Default, Deserialize)]
pub struct FromFlow {
    #[serde(default)]
    flow: String,
}

/// The fields of a request form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    csrf: String,
    req: String,
    number: String,
    contact: String,
    altcha: String,
}

/// The fields of a new-password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    new: SecretString,
    confirm: SecretString,
}

fn name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Activate => "activate",
        _ => "reset",
    }
}

/// `GET /reset`.
pub async fn reset_page(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    query: Result<Query<FromFlow>, QueryRejection>,
) -> Response {
    request_page(state, jar, headers, query, LinkKind::Reset).await
}

/// `GET /activate`.
pub async fn activate_page(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    query: Result<Query<FromFlow>, QueryRejection>,
) -> Response {
    request_page(state, jar, headers, query, LinkKind::Activate).await
}

async fn request_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    query: Result<Query<FromFlow>, QueryRejection>,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser(&state, jar);
    let flow_id = query.map(|Query(q)| q.flow).unwrap_or_default();
    // The login flow the participant came from, so that "Se connecter" leads back to its RP.
    let sealed = match state.provider.flow_for_page(&flow_id, &ctx).await {
        Ok(Ok(flow)) => state.provider.seal_request(&flow).ok(),
        _ => ctx.sealed_cookie.clone(),
    };
    let mut context = form_context(&state, lang, kind, &ctx.browser);
    context["sealed"] = json!(sealed);
    (jar, render(&state, StatusCode::OK, "forgot.html", context)).into_response()
}

/// The request form again, with the number and the way back to the RP kept, and a notice
/// (`key`, `kind`).
fn refill(
    state: &AppState,
    lang: &str,
    kind: LinkKind,
    browser: &str,
    form: &RequestForm,
    notice: (&str, &str),
) -> Response {
    let mut context = form_context(state, lang, kind, browser);
    context["notice"] = json!(notice.0);
    context["notice_kind"] = json!(notice.1);
    context["number"] = json!(form.number.chars().take(12).collect::<String>());
    let sealed = Some(form.req.as_str()).filter(|r| r.len() <= 4096);
    context["sealed"] = json!(sealed.unwrap_or_default());
    render(state, StatusCode::OK, "forgot.html", context)
}

fn form_context(state: &AppState, lang: &str, kind: LinkKind, browser: &str) -> Value {
    let theme = state.themes.get(None);
    let mut context = base_context(state, lang, theme.name(), Some(""));
    context["kind"] = json!(name(kind));
    context["csrf"] = json!(state.provider.form_csrf(browser, name(kind)));
    context
}

/// `POST /reset`.
pub async fn reset_request(
    state: State<AppState>,
    jar: PrivateCookieJar,
    client: ClientIp,
    headers: HeaderMap,
    form: Result<Form<RequestForm>, FormRejection>,
) -> Response {
    request(state, jar, client, headers, form, LinkKind::Reset).await
}

/// `POST /activate`.
pub async fn activate_request(
    state: State<AppState>,
    jar: PrivateCookieJar,
    client: ClientIp,
    headers: HeaderMap,
    form: Result<Form<RequestForm>, FormRejection>,
) -> Response {
    request(state, jar, client, headers, form, LinkKind::Activate).await
}

async fn request(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    client: ClientIp,
    headers: HeaderMap,
    form: Result<Form<RequestForm>, FormRejection>,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser_at(&state, jar, client);
    let Ok(Form(form)) = form else {
        return (
            jar,
            Redirect::to(&format!("{}/{}", state.base_path, name(kind))),
        )
            .into_response();
    };
    if !state
        .provider
        .form_csrf_matches(&ctx.browser, name(kind), &form.csrf)
    {
        // An old page (another browser, cookies gone) or another site's form: the same
        // form again with what was typed, saying why; nothing is sent (DESIGN §5.7).
        let page = refill(
            &state,
            lang,
            kind,
            &ctx.browser,
            &form,
            ("restarted", "info"),
        );
        return (jar, page).into_response();
    }
    let context_req = Some(form.req.clone()).filter(|r| !r.is_empty() && r.len() <= 4096);
    let outcome = match kind {
        LinkKind::Activate => {
            state
                .provider
                .request_activation(&form.number, &form.contact, &form.altcha, lang, &ctx)
                .await
        }
        _ => {
            state
                .provider
                .forgot_password(
                    &form.number,
                    &form.contact,
                    &form.altcha,
                    context_req,
                    lang,
                    &ctx,
                )
                .await
        }
    };
    match outcome {
        Ok(outcome @ (RequestOutcome::InvalidNumber | RequestOutcome::CaptchaFailed)) => {
            let notice = match outcome {
                RequestOutcome::CaptchaFailed => "captcha_failed",
                _ => "invalid_number",
            };
            let page = refill(&state, lang, kind, &ctx.browser, &form, (notice, "error"));
            (jar, page).into_response()
        }
        Ok(outcome @ (RequestOutcome::Answered | RequestOutcome::Accepted(_))) => {
            if let RequestOutcome::Accepted(request) = outcome {
                carry_out(&state, request);
            }
            let theme = state.themes.get(None);
            let mut context = base_context(&state, lang, theme.name(), None);
            let back = state
                .ui
                .home_url
                .clone()
                .unwrap_or_else(|| format!("{}/help", state.base_path));
            context["back_url"] = json!(back);
            (
                jar,
                render(&state, StatusCode::OK, "request_sent.html", context),
            )
                .into_response()
        }
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// `GET /reset/{token}`.
pub async fn reset_link(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
) -> Response {
    link_page(state, jar, headers, token, LinkKind::Reset).await
}

/// `GET /activate/{token}`.
pub async fn activate_link(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
) -> Response {
    link_page(state, jar, headers, token, LinkKind::Activate).await
}

async fn link_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser(&state, jar);
    match state.provider.password_link_number(kind, &token).await {
        Ok(Some(number)) => {
            let context = password_context(&state, lang, kind, &token, &ctx.browser, &[]);
            (jar, link_form(&state, context, &number)).into_response()
        }
        Ok(None) => (jar, done_page(&state, lang, kind, None, false)).into_response(),
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// The new-password form of a live link, naming the account it is for.
fn link_form(state: &AppState, mut context: Value, number: &str) -> Response {
    context["number"] = json!(number);
    render(state, StatusCode::OK, "link_password.html", context)
}

fn password_context(
    state: &AppState,
    lang: &str,
    kind: LinkKind,
    token: &str,
    browser: &str,
    problems: &[String],
) -> Value {
    let theme = state.themes.get(None);
    let mut context = base_context(state, lang, theme.name(), None);
    let policy = &state.provider.policy().password;
    context["kind"] = json!(name(kind));
    context["token"] = json!(token);
    context["csrf"] = json!(state.provider.link_csrf(browser, token));
    context["problems"] = json!(problems);
    context["policy"] = json!({
        "min_length": policy.min_length,
        "max_length": policy.max_length,
        "require_lower": policy.require_lower,
        "require_upper": policy.require_upper,
        "require_digit": policy.require_digit,
        "require_special": policy.require_special,
    });
    context
}

fn done_page(
    state: &AppState,
    lang: &str,
    kind: LinkKind,
    sealed: Option<String>,
    done: bool,
) -> Response {
    let theme = state.themes.get(None);
    let mut context = base_context(state, lang, theme.name(), None);
    context["kind"] = json!(name(kind));
    context["done"] = json!(done);
    context["sealed"] = json!(sealed);
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    render(state, status, "password_done.html", context)
}

/// `POST /reset/{token}`.
pub async fn reset_set(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(state, jar, headers, token, form, LinkKind::Reset).await
}

/// `POST /activate/{token}`.
pub async fn activate_set(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(state, jar, headers, token, form, LinkKind::Activate).await
}

async fn set_password(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser(&state, jar);
    let page = format!("{}/{}/{token}", state.base_path, name(kind));
    let Ok(Form(form)) = form else {
        return (jar, Redirect::to(&page)).into_response();
    };
    if !state
        .provider
        .link_csrf_matches(&ctx.browser, &token, &form.csrf)
    {
        // The link opened in another browser, or cookies gone: the form again, saying so.
        return match state.provider.password_link_number(kind, &token).await {
            Ok(Some(number)) => {
                let mut context = password_context(&state, lang, kind, &token, &ctx.browser, &[]);
                context["notice"] = json!("restarted");
                context["notice_kind"] = json!("info");
                (jar, link_form(&state, context, &number)).into_response()
            }
            Ok(None) => (jar, done_page(&state, lang, kind, None, false)).into_response(),
            Err(error) => unavailable(&state, lang, &error),
        };
    }
    match state
        .provider
        .set_password_by_link(kind, &token, form.new, form.confirm, lang)
        .await
    {
        Ok(LinkPassword::Refused(problems)) => {
            let names: Vec<String> = problems
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok()?.as_str().map(str::to_owned))
                .collect();
            let context = password_context(&state, lang, kind, &token, &ctx.browser, &names);
            let number = state.provider.password_link_number(kind, &token).await;
            let number = number.ok().flatten().unwrap_or_default();
            (jar, link_form(&state, context, &number)).into_response()
        }
        Ok(LinkPassword::Done { context }) => {
            (jar, done_page(&state, lang, kind, context, true)).into_response()
        }
        Ok(LinkPassword::Dead) => (jar, done_page(&state, lang, kind, None, false)).into_response(),
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// The form of "Se connecter" after a new password.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RestartForm {
    req: String,
}

/// `POST /login/restart`: a new login from a sealed request.
pub async fn restart(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    form: Result<Form<RestartForm>, FormRejection>,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let Ok(Form(form)) = form else {
        return error_page(&state, lang, StatusCode::BAD_REQUEST, "bad_request");
    };
    let (jar, ctx) = browser(&state, jar);
    match state.provider.restart(&form.req, &ctx).await {
        Ok(outcome) => respond(&state, jar, lang, outcome),
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// Carries out an accepted request after its answer: what it costs depends on the account,
/// so it must not delay the page (DESIGN §5.3).
fn carry_out(state: &AppState, request: LinkRequest) {
    let provider = state.provider.clone();
    let turn = state.link_requests.clone().lock_owned();
    tokio::spawn(async move {
        let _turn = turn.await;
        if let Err(error) = provider.carry_out(request).await {
            tracing::error!(%error, "a forgot-password or activation request failed");
        }
    });
}
