//! The pages behind verification links: GET shows a button, only the POST acts
//! (DESIGN §5.8: mail scanners and link previews follow links).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;
use serde_json::json;
use sesame_core::service::{LinkKind, LinkOutcome};

use super::{browser, page_lang};
use crate::AppState;
use crate::pages::{base_context, render, unavailable};

/// `GET /verify/phone/{token}`.
pub async fn phone_page(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
) -> Response {
    page(state, jar, headers, token, LinkKind::VerifyPhone).await
}

/// `GET /verify/email/{token}`.
pub async fn email_page(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
) -> Response {
    page(state, jar, headers, token, LinkKind::VerifyEmail).await
}

/// The confirmation form.
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

type Confirm = Result<Form<ConfirmForm>, FormRejection>;

/// `POST /verify/phone/{token}`.
pub async fn phone_confirm(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
    form: Confirm,
) -> Response {
    confirm(state, jar, headers, token, form, LinkKind::VerifyPhone).await
}

/// `POST /verify/email/{token}`.
pub async fn email_confirm(
    state: State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    token: Path<String>,
    form: Confirm,
) -> Response {
    confirm(state, jar, headers, token, form, LinkKind::VerifyEmail).await
}

fn kind_name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::VerifyPhone => "phone",
        _ => "email",
    }
}

async fn page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser(&state, jar);
    let target = match state.provider.link_target(kind, &token).await {
        Ok(target) => target,
        Err(error) => return unavailable(&state, lang, &error),
    };
    let theme = state.themes.get(None);
    let mut context = base_context(&state, lang, theme.name(), None);
    context["kind"] = json!(kind_name(kind));
    match target {
        Some(destination) => {
            context["destination"] = json!(destination);
            context["token"] = json!(token);
            context["csrf"] = json!(state.provider.link_csrf(&ctx.browser, &token));
            (jar, render(&state, StatusCode::OK, "verify.html", context)).into_response()
        }
        None => {
            context["verified"] = json!(false);
            (
                jar,
                render(&state, StatusCode::GONE, "verify_done.html", context),
            )
                .into_response()
        }
    }
}

async fn confirm(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Confirm,
    kind: LinkKind,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    let (jar, ctx) = browser(&state, jar);
    let csrf_ok = form.is_ok_and(|Form(f)| {
        state
            .provider
            .link_csrf_matches(&ctx.browser, &token, &f.csrf)
    });
    let theme = state.themes.get(None);
    let mut context = base_context(&state, lang, theme.name(), None);
    context["kind"] = json!(kind_name(kind));
    if !csrf_ok {
        // An old or forged page: show the link's page again rather than a dead end.
        return (
            jar,
            axum::response::Redirect::to(&format!(
                "{}/verify/{}/{token}",
                state.base_path,
                kind_name(kind)
            )),
        )
            .into_response();
    }
    match state.provider.confirm_link(kind, &token).await {
        Ok(outcome) => {
            let verified = outcome == LinkOutcome::Verified;
            context["verified"] = json!(verified);
            let status = if verified {
                StatusCode::OK
            } else {
                StatusCode::GONE
            };
            (jar, render(&state, status, "verify_done.html", context)).into_response()
        }
        Err(error) => unavailable(&state, lang, &error),
    }
}
