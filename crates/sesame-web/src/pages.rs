//! Rendering Sesame's own pages and mapping the provider's outcomes to responses.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde_json::{Value, json};
use sesame_core::flow::{ActionStep, CodeStep, FlowNotice, FlowStep, LoginFlow};
use sesame_core::participant::RequiredAction;
use sesame_core::service::{AuthResponse, Device, ErrorPage, Outcome, ServiceError};
use sesame_protocol::authorize::ResponseMode;

use crate::AppState;
use crate::cookies;
use crate::theme::LANGUAGES;

/// The context every page gets. `switch` is the query prefix that reloads the page in
/// another language (`Some("")` for a page without parameters); `None` hides the switch.
pub fn base_context(state: &AppState, lang: &str, theme: &str, switch: Option<&str>) -> Value {
    let languages: Vec<Value> = LANGUAGES
        .iter()
        .map(|(code, label)| json!({"code": code, "label": label}))
        .collect();
    json!({
        "lang": lang,
        "theme": theme,
        "base": state.base_path,
        "languages": languages,
        "lang_query": switch.unwrap_or_default(),
        "switch_lang": switch.is_some(),
        "home_url": state.ui.home_url,
        "support_phone": state.ui.support_phone,
        "support_email": state.ui.support_email,
    })
}

/// Renders a template of the default theme, or a minimal page if the theme is broken.
pub fn render(state: &AppState, status: StatusCode, template: &str, context: Value) -> Response {
    let theme = state.themes.get(context["theme"].as_str());
    match theme.render(template, &context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, template, "page rendering failed");
            let body = "<!DOCTYPE html><html lang=\"fr\"><title>Sesame</title><p>Service momentanément indisponible.</p></html>";
            (StatusCode::SERVICE_UNAVAILABLE, Html(body)).into_response()
        }
    }
}

/// Sesame's error page; `data-error` carries the key for tests and monitoring.
pub fn error_page(state: &AppState, lang: &str, status: StatusCode, key: &str) -> Response {
    let theme = state.themes.get(None);
    let mut context = base_context(state, lang, theme.name(), None);
    context["error_key"] = json!(key);
    let title = match key {
        "not_found" => "error.not_found_title",
        _ if key.starts_with("logout_") => "logout.error_title",
        _ => "error.title",
    };
    context["title_key"] = json!(title);
    render(state, status, "error.html", context)
}

/// An internal failure: logged once, shown as "temporarily unavailable".
pub fn unavailable(state: &AppState, lang: &str, error: &ServiceError) -> Response {
    tracing::error!(%error, "request failed on an internal error");
    error_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable")
}

/// Turns an outcome into a response, with the cookie changes it implies.
pub fn respond(state: &AppState, jar: PrivateCookieJar, lang: &str, outcome: Outcome) -> Response {
    match outcome {
        Outcome::ErrorPage(ErrorPage::Request(page)) => (
            jar,
            error_page(state, lang, StatusCode::BAD_REQUEST, page.key()),
        )
            .into_response(),
        Outcome::ErrorPage(ErrorPage::Expired) => (
            jar,
            error_page(state, lang, StatusCode::BAD_REQUEST, "expired"),
        )
            .into_response(),
        Outcome::Show { flow_id } => {
            let url = format!("{}/login?flow={flow_id}", state.base_path);
            (jar, Redirect::to(&url)).into_response()
        }
        Outcome::Respond(response) => (jar, answer(state, lang, &response)).into_response(),
        Outcome::LoggedIn {
            session,
            number_tag,
            then,
        } => {
            let policy = state.provider.policy();
            let age = session
                .remember
                .then(|| session.hard_expiry(&policy.session) - session.created_at);
            // The sealed request cookie stays: a page brought back with the back button
            // then continues to the RP with the live session (DESIGN §5.7).
            let cookie = state
                .cookies
                .build(cookies::SESSION, session.id.clone(), age);
            let mut jar = jar.add(cookie);
            if let Some(tag) = number_tag {
                jar = remember_device(state, jar, &tag);
            }
            respond(state, jar, lang, *then)
        }
    }
}

/// Adds the number to the browser's device cookie, so that this browser keeps logging in
/// while others hammer the number (DESIGN §5.4). The cookie lasts a year from its last use.
fn remember_device(state: &AppState, jar: PrivateCookieJar, tag: &str) -> PrivateCookieJar {
    let device = state
        .cookies
        .get(&jar, cookies::DEVICE)
        .and_then(|v| Device::parse(&v))
        .unwrap_or_else(|| {
            let random = sesame_core::random::OsRandom;
            Device::new(sesame_core::random::Random::token(&random, 18))
        })
        .with_number(tag);
    let year = Some(chrono::Duration::days(365));
    jar.add(state.cookies.build(cookies::DEVICE, device.encode(), year))
}

/// An authorization response: a redirect with the query, or (Form Post Response Mode §2)
/// a page whose form posts the parameters to the RP, submitted by an external script.
pub fn answer(state: &AppState, lang: &str, response: &AuthResponse) -> Response {
    match response.mode {
        ResponseMode::Query => Redirect::to(&response.url()).into_response(),
        ResponseMode::FormPost => {
            let theme = state.themes.get(None);
            let mut context = base_context(state, lang, theme.name(), None);
            let fields: Vec<Value> = response
                .params
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            context["action"] = json!(response.redirect_uri);
            context["fields"] = json!(fields);
            render(state, StatusCode::OK, "form_post.html", context)
        }
    }
}

fn notice_kind(notice: FlowNotice) -> &'static str {
    match notice {
        FlowNotice::Restarted
        | FlowNotice::CodeResent
        | FlowNotice::ResendTooSoon
        | FlowNotice::SmsFailed => "info",
        _ => "error",
    }
}

fn notice_name(notice: FlowNotice) -> String {
    serde_json::to_value(notice)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Renders the page of a flow's current step.
pub fn flow_page(state: &AppState, lang: &str, flow: &LoginFlow, sealed: &str) -> Response {
    let theme = state.themes.get(flow.theme.as_deref());
    let lang_query = format!("flow={}&", flow.id);
    let mut context = base_context(state, lang, theme.name(), Some(&lang_query));
    context["flow_id"] = json!(flow.id);
    context["csrf"] = json!(flow.csrf);
    context["sealed"] = json!(sealed);
    if let Some(notice) = flow.notice {
        context["notice"] = json!(notice_name(notice));
        context["notice_kind"] = json!(notice_kind(notice));
    }
    let template = match &flow.step {
        FlowStep::Credentials => {
            context["number"] = json!(flow.number);
            context["remember_default"] = json!(state.ui.remember_me_default || flow.remember);
            context["number_error"] = json!(flow.notice == Some(FlowNotice::InvalidNumber));
            context["password_error"] = json!(flow.notice == Some(FlowNotice::InvalidCredentials));
            "login.html"
        }
        FlowStep::Code(CodeStep {
            destination,
            sent_at,
            channel,
            ..
        }) => {
            let paris = *sent_at + chrono::Duration::hours(paris_offset_hours(*sent_at));
            // No line break inside "06 •• •• •• 78".
            context["destination"] = json!(destination.replace(' ', "\u{a0}"));
            context["channel"] = json!(channel);
            context["sent_time"] = json!(paris.format("%H:%M").to_string());
            context["code_minutes"] = json!(state.provider.policy().code.ttl.num_minutes());
            context["resend_seconds"] =
                json!(state.provider.policy().code.resend_after.num_seconds());
            context["code_error"] = json!(matches!(
                flow.notice,
                Some(FlowNotice::WrongCode | FlowNotice::CodeDead)
            ));
            "code.html"
        }
        FlowStep::Action(step) => action_page(state, flow, step, &mut context),
    };
    render(state, StatusCode::OK, template, context)
}

/// The page of a required action.
fn action_page(
    state: &AppState,
    flow: &LoginFlow,
    step: &ActionStep,
    context: &mut Value,
) -> &'static str {
    context["number"] = json!(flow.number);
    if let Some(sent_to) = &step.sent_to {
        context["sent_to"] = json!(sent_to.replace(' ', "\u{a0}"));
        context["kind"] = json!(match step.action {
            RequiredAction::VerifyEmail => "email",
            _ => "phone",
        });
        return "link_sent.html";
    }
    match step.action {
        RequiredAction::UpdatePassword => {
            let policy = &state.provider.policy().password;
            context["policy"] = json!({
                "min_length": policy.min_length,
                "max_length": policy.max_length,
                "require_lower": policy.require_lower,
                "require_upper": policy.require_upper,
                "require_digit": policy.require_digit,
                "require_special": policy.require_special,
            });
            context["problems"] = json!(flow.problems);
            "update_password.html"
        }
        RequiredAction::RegisterPhone => {
            let phone_errors = [FlowNotice::PhoneInvalid, FlowNotice::PhoneCountry];
            context["phone_error"] = json!(flow.notice.is_some_and(|n| phone_errors.contains(&n)));
            "register_phone.html"
        }
        RequiredAction::VerifyEmail => "verify_email.html",
        RequiredAction::AcceptTerms => {
            let text = state.ui.terms_text.as_deref().unwrap_or_default();
            let paragraphs: Vec<&str> = text
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            context["terms_paragraphs"] = json!(paragraphs);
            "terms.html"
        }
    }
}

/// Metropolitan France's offset from UTC: +2 in summer time (last Sunday of March to
/// last Sunday of October, 01:00 UTC), else +1. The cohort's participants read times
/// in that zone.
fn paris_offset_hours(at: chrono::DateTime<chrono::Utc>) -> i64 {
    use chrono::{Datelike, TimeZone, Utc};
    let last_sunday = |month: u32| {
        // March and October both have 31 days.
        let date = Utc.with_ymd_and_hms(at.year(), month, 31, 1, 0, 0).single();
        date.map(|d| d - chrono::Duration::days(i64::from(d.weekday().num_days_from_sunday())))
    };
    match (last_sunday(3), last_sunday(10)) {
        (Some(start), Some(end)) if at >= start && at < end => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn paris_summer_and_winter_time() {
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).single();
        let winter = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).single();
        let switch = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).single();
        assert_eq!(summer.map(paris_offset_hours), Some(2));
        assert_eq!(winter.map(paris_offset_hours), Some(1));
        assert_eq!(switch.map(paris_offset_hours), Some(2));
    }
}
