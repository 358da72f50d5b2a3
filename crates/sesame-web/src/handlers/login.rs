//! The login pages: show the current step, and take each form.

use axum::extract::rejection::{FormRejection, QueryRejection};
use std::convert::Infallible;

use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;
use sesame_core::SecretString;
use sesame_core::service::{BrowserContext, Credentials, FlowForm, Outcome, ServiceError};

use super::{browser, browser_at, page_lang};
use crate::AppState;
use crate::client::ClientIp;
use crate::cookies;
use crate::pages::{error_page, flow_page, respond, unavailable};

/// The query of `GET /login`.
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    flow: String,
    lang: Option<String>,
}

/// Shows the step a flow is at; a `lang` parameter records the participant's choice.
pub async fn show(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (jar, chosen) = super::choose_lang(&state, jar, query.lang.as_deref());
    let (jar, ctx) = browser(&state, jar);
    let found = state.provider.flow_for_page(&query.flow, &ctx).await;
    let flow = match found {
        Ok(Ok(flow)) => flow,
        Ok(Err(outcome)) => {
            let lang = chosen.unwrap_or_else(|| page_lang(&state, &jar, &headers, &[]));
            return respond(&state, jar, lang, outcome);
        }
        Err(error) => return unavailable(&state, page_lang(&state, &jar, &headers, &[]), &error),
    };
    let lang =
        chosen.unwrap_or_else(|| page_lang(&state, &jar, &headers, &flow.request.ui_locales));
    match state.provider.seal_request(&flow) {
        Ok(sealed) => {
            let jar = jar.add(state.cookies.build(cookies::REQUEST, sealed.clone(), None));
            (jar, flow_page(&state, lang, &flow, &sealed)).into_response()
        }
        Err(error) => unavailable(&state, lang, &error),
    }
}

/// The fields of the login forms; absent fields are empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginFields {
    flow: String,
    csrf: String,
    req: String,
    number: String,
    password: SecretString,
    remember: Option<String>,
    code: String,
    /// "Recevoir le code par e-mail".
    channel: Option<String>,
    current: SecretString,
    new: SecretString,
    confirm: SecretString,
    phone: String,
    phone_confirm: String,
    no_mobile: Option<String>,
    accept: Option<String>,
    /// The anti-robot solution (ALTCHA v1, base64 JSON).
    altcha: String,
}

impl LoginFields {
    fn flow_form(&self) -> FlowForm {
        FlowForm {
            flow_id: self.flow.clone(),
            csrf: self.csrf.clone(),
            sealed: self.req.clone(),
        }
    }
}

type Fields = Result<Form<LoginFields>, FormRejection>;

/// A POST of one login step: what every step handler needs, taken from the request.
pub struct StepPost {
    state: AppState,
    jar: PrivateCookieJar,
    client: ClientIp,
    headers: HeaderMap,
    fields: Fields,
}

impl FromRequest<AppState> for StepPost {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Infallible> {
        let (mut parts, body) = request.into_parts();
        let Ok(jar) = PrivateCookieJar::from_request_parts(&mut parts, state).await;
        let Ok(client) = ClientIp::from_request_parts(&mut parts, state).await;
        let headers = parts.headers.clone();
        let fields = Form::from_request(Request::from_parts(parts, body), state).await;
        Ok(Self {
            state: state.clone(),
            jar,
            client,
            headers,
            fields,
        })
    }
}

impl StepPost {
    /// Runs the step with the parsed form, or answers a malformed form with a page.
    async fn run<F, Fut>(self, run: F) -> Response
    where
        F: FnOnce(AppState, LoginFields, BrowserContext, &'static str) -> Fut,
        Fut: Future<Output = Result<Outcome, ServiceError>>,
    {
        let Self {
            state,
            jar,
            client,
            headers,
            fields,
        } = self;
        let lang = page_lang(&state, &jar, &headers, &[]);
        let Ok(Form(fields)) = fields else {
            // A form too large or malformed: start again from the flow's cookie (§5.7).
            let (jar, ctx) = browser(&state, jar);
            return match state.provider.flow_for_page("", &ctx).await {
                Ok(Err(outcome @ Outcome::Show { .. })) => respond(&state, jar, lang, outcome),
                _ => error_page(&state, lang, StatusCode::BAD_REQUEST, "bad_request"),
            };
        };
        let (jar, ctx) = browser_at(&state, jar, client);
        match run(state.clone(), fields, ctx, lang).await {
            Ok(outcome) => respond(&state, jar, lang, outcome),
            Err(error) => unavailable(&state, lang, &error),
        }
    }
}

/// `POST /login`: number and password.
pub async fn password(post: StepPost) -> Response {
    post.run(|state, f, ctx, lang| async move {
        let remember = f.remember.is_some();
        state
            .provider
            .submit_password(
                &f.flow_form(),
                Credentials {
                    number: &f.number,
                    password: f.password.clone(),
                    remember,
                    captcha: &f.altcha,
                },
                &ctx,
                lang,
            )
            .await
    })
    .await
}

/// `POST /login/code`: the one-time code.
pub async fn code(post: StepPost) -> Response {
    post.run(|state, f, ctx, _| async move {
        state
            .provider
            .submit_code(&f.flow_form(), &f.code, &ctx)
            .await
    })
    .await
}

/// `POST /login/resend`: a new code, which kills the earlier ones.
pub async fn resend(post: StepPost) -> Response {
    post.run(|state, f, ctx, lang| async move {
        let by_email = f.channel.as_deref() == Some("email");
        state
            .provider
            .resend_code(&f.flow_form(), by_email, &ctx, lang)
            .await
    })
    .await
}

/// `POST /login/password`: *update-password*.
pub async fn new_password(post: StepPost) -> Response {
    post.run(|state, f, ctx, lang| async move {
        let (current, new, confirm) = (f.current.clone(), f.new.clone(), f.confirm.clone());
        state
            .provider
            .submit_new_password(&f.flow_form(), current, new, confirm, &ctx, lang)
            .await
    })
    .await
}

/// `POST /login/phone`: *register-phone*.
pub async fn phone(post: StepPost) -> Response {
    post.run(|state, f, ctx, lang| async move {
        let declined = f.no_mobile.is_some();
        state
            .provider
            .submit_phone(
                &f.flow_form(),
                &f.phone,
                &f.phone_confirm,
                declined,
                &ctx,
                lang,
            )
            .await
    })
    .await
}

/// `POST /login/email`: *verify-email* sends its link.
pub async fn email(post: StepPost) -> Response {
    post.run(|state, f, ctx, lang| async move {
        state
            .provider
            .send_email_link(&f.flow_form(), &ctx, lang)
            .await
    })
    .await
}

/// `POST /login/terms`: *accept-terms*.
pub async fn terms(post: StepPost) -> Response {
    post.run(|state, f, ctx, _| async move {
        state
            .provider
            .submit_terms(&f.flow_form(), f.accept.is_some(), &ctx)
            .await
    })
    .await
}

/// `POST /login/continue`: on from a "link sent" page.
pub async fn proceed(post: StepPost) -> Response {
    post.run(
        |state, f, ctx, _| async move { state.provider.continue_flow(&f.flow_form(), &ctx).await },
    )
    .await
}
