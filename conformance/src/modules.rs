//! One function per module of the plans, named after the suite's `testName`. Each states
//! the module's checks (see `../shared/reference/oidc-conformance.md` §2) and asserts them;
//! what the suite leaves to a person reviewing a screenshot is read from the page's
//! `data-page` marker.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use sesame_testkit::{Browser, Page};

use crate::checks;
use crate::rp::{Answer, AuthRequest, Callback, Rp, UserinfoCall, authorize, callback_of};
use crate::target::{CLIENT, CLIENT_POST, CLIENT2, Client, POST_LOGOUT, Target, TargetKind};
use crate::{Mode, Verdict, random_text};

/// The plans reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Basic,
    Config,
    FormPost,
    RpInitiatedLogout,
    BackChannelLogout,
}

/// A module's run: the provider, the RP's view of it, the participant's browser.
pub struct Ctx {
    pub target: Target,
    pub rp: Rp,
    pub browser: Browser,
    pub mode: Mode,
    pub warnings: Vec<String>,
}

/// A completed code flow.
pub struct Flow {
    pub request: AuthRequest,
    pub tokens: Answer,
    pub claims: Value,
    pub id_token: String,
}

impl Flow {
    pub fn access_token(&self) -> &str {
        self.tokens.str("access_token").unwrap_or_default()
    }
    pub fn sub(&self) -> &str {
        self.claims["sub"].as_str().unwrap_or_default()
    }
}

impl Ctx {
    async fn start(kind: TargetKind, mode: Mode) -> anyhow::Result<Self> {
        let target = Target::start(kind).await?;
        let rp = Rp::discover(&target.issuer, target.cert_pem.as_deref()).await?;
        checks::jwks(&rp)?;
        let browser = target.browser()?;
        Ok(Self {
            target,
            rp,
            browser,
            mode,
            warnings: Vec::new(),
        })
    }

    fn request(&self, client: Client) -> AuthRequest {
        AuthRequest::new(client, self.mode)
    }

    fn warn(&mut self, text: impl Into<String>) {
        self.warnings.push(text.into());
    }

    async fn authorize(&self, request: &AuthRequest) -> anyhow::Result<Callback> {
        authorize(&self.target, &self.browser, &self.rp, request, false).await
    }

    /// The page the authorization request shows first, before the participant acts.
    async fn first_page(&self, request: &AuthRequest) -> anyhow::Result<Page> {
        self.browser.get(&request.url(&self.rp)?).await
    }

    /// A whole code flow with the checks every module makes.
    async fn login(&self, request: AuthRequest) -> anyhow::Result<Flow> {
        let callback = self.authorize(&request).await?;
        self.finish(request, &callback).await
    }

    async fn finish(&self, request: AuthRequest, callback: &Callback) -> anyhow::Result<Flow> {
        let code = checks::success(callback, &request, &self.rp)?;
        let tokens = self.rp.exchange(&request, &code).await?;
        checks::tokens(&tokens)?;
        let id_token = tokens.str("id_token").context("no id_token")?.to_owned();
        let claims = checks::id_token(&self.rp, &id_token, &request, request.nonce.as_deref())?;
        if let Some(at_hash) = claims["at_hash"].as_str() {
            let token = tokens.str("access_token").unwrap_or_default();
            ensure!(at_hash == half_hash(token), "at_hash is wrong");
        }
        if let Some(c_hash) = claims["c_hash"].as_str() {
            ensure!(c_hash == half_hash(&code), "c_hash is wrong");
        }
        let flow = Flow {
            request,
            tokens,
            claims,
            id_token,
        };
        let info = self
            .rp
            .userinfo(flow.access_token(), UserinfoCall::Get)
            .await?;
        checks::userinfo(&info, flow.sub())?;
        Ok(flow)
    }

    /// `prompt=none` after a logout: the session must be gone.
    async fn session_gone(&self) -> anyhow::Result<()> {
        let request = self.request(CLIENT).with("prompt", "none");
        let callback = self.authorize(&request).await?;
        let error = checks::error(&callback, &request, &self.rp)?;
        ensure!(
            LOGIN_ERRORS.contains(&error.as_str()),
            "prompt=none after logout: {error}"
        );
        Ok(())
    }

    /// Sends the browser to the end-session endpoint with `params`; on a confirmation
    /// page, presses its button (the suite clicks `button[autofocus]`).
    async fn end_session(&self, params: &[(&str, &str)]) -> anyhow::Result<Page> {
        let mut url = url::Url::parse(&self.rp.endpoint("end_session_endpoint")?)?;
        url.query_pairs_mut().extend_pairs(params);
        let mut page = self.browser.get(url.as_str()).await?;
        for _ in 0..3 {
            page = match (page.left_to.is_some(), page.screen().as_deref()) {
                (false, Some("logout-confirm")) => self.confirm(&page).await?,
                // A page that submits itself (the peer's, when there is no session).
                (false, Some("form-post")) if !crate::target::posts_to_rp(&page) => {
                    self.browser.submit(&page, "", &[]).await?
                }
                _ => return Ok(page),
            };
        }
        Ok(page)
    }

    /// Presses the confirmation page's button: the one with `autofocus`, else the first
    /// submit button, sending its name and value if it has them.
    async fn confirm(&self, page: &Page) -> anyhow::Result<Page> {
        let html = scraper::Html::parse_document(&page.body);
        let pressed = [
            "button[autofocus]",
            "form button[type=submit]",
            "form button",
        ]
        .iter()
        .filter_map(|css| scraper::Selector::parse(css).ok())
        .find_map(|selector| html.select(&selector).next().map(|b| b.value().clone()));
        let field =
            pressed.and_then(|b| Some((b.attr("name")?.to_owned(), b.attr("value")?.to_owned())));
        let fields: Vec<(&str, &str)> = field
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.browser.submit(page, "", &fields).await
    }
}

const LOGIN_ERRORS: &[&str] = &[
    "login_required",
    "interaction_required",
    "account_selection_required",
    "consent_required",
];

/// The left half of a SHA-256, base64url: `at_hash` and `c_hash` (OIDC Core §3.1.3.6).
fn half_hash(value: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Runs one module of a plan against a provider; the warnings are printed.
pub async fn run(kind: TargetKind, plan: Plan, module: &str) -> anyhow::Result<Verdict> {
    let mode = if plan == Plan::FormPost {
        Mode::FormPost
    } else {
        Mode::Query
    };
    let mut ctx = Ctx::start(kind, mode).await?;
    let verdict = dispatch(&mut ctx, module).await;
    for warning in &ctx.warnings {
        eprintln!("{module} ({kind:?}): WARNING {warning}");
    }
    if let Ok(Verdict::Skipped(reason)) = &verdict {
        eprintln!("{module} ({kind:?}): SKIPPED {reason}");
    }
    ctx.target.stop().await;
    verdict
}

const DYNAMIC_ONLY: &str = "needs dynamic client registration; the plans run with static clients";

async fn dispatch(ctx: &mut Ctx, module: &str) -> anyhow::Result<Verdict> {
    match module {
        "oidcc_server" => server(ctx, CLIENT).await,
        "oidcc_server_client_secret_post" => {
            ensure!(
                ctx.rp.advertises(
                    "token_endpoint_auth_methods_supported",
                    "client_secret_post"
                ),
                "client_secret_post not in token_endpoint_auth_methods_supported"
            );
            server(ctx, CLIENT_POST).await
        }
        "oidcc_response_type_missing" => response_type_missing(ctx).await,
        "oidcc_idtoken_signature"
        | "oidcc_idtoken_unsigned"
        | "oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported" => {
            Ok(Verdict::Skipped(DYNAMIC_ONLY))
        }
        "oidcc_userinfo_get" => userinfo(ctx, UserinfoCall::Get).await,
        "oidcc_userinfo_post_header" => userinfo(ctx, UserinfoCall::PostHeader).await,
        "oidcc_userinfo_post_body" => userinfo(ctx, UserinfoCall::PostBody).await,
        "oidcc_ensure_request_without_nonce_succeeds_for_code_flow" => {
            let mut request = ctx.request(CLIENT);
            request.nonce = None;
            ctx.login(request).await.map(|_| Verdict::Passed)
        }
        "oidcc_scope_profile" => scopes(ctx, &["profile"]).await,
        "oidcc_scope_email" => scopes(ctx, &["email"]).await,
        "oidcc_scope_address" => scopes(ctx, &["address"]).await,
        "oidcc_scope_phone" => scopes(ctx, &["phone"]).await,
        "oidcc_scope_all" => scopes(ctx, &["email", "phone", "address", "profile"]).await,
        "oidcc_alternate_happy_flow" => alternate_happy_flow(ctx).await,
        "oidcc_display_page" => with_param(ctx, "display", "page").await,
        "oidcc_display_popup" => with_param(ctx, "display", "popup").await,
        "oidcc_ensure_request_with_unknown_parameter_succeeds" => {
            with_param(ctx, "extra", "foobar").await
        }
        "oidcc_claims_locales" => with_param(ctx, "claims_locales", "se").await,
        "oidcc_prompt_login" => prompt_login(ctx).await,
        "oidcc_prompt_none_not_logged_in" => prompt_none_not_logged_in(ctx).await,
        "oidcc_prompt_none_logged_in" => prompt_none_logged_in(ctx).await,
        "oidcc_max_age_1" => max_age_1(ctx).await,
        "oidcc_max_age_10000" => max_age_10000(ctx).await,
        "oidcc_id_token_hint" => id_token_hint(ctx).await,
        "oidcc_login_hint" => shows_login(ctx, "login_hint", "buffy@127.0.0.1").await,
        "oidcc_ui_locales" => shows_login(ctx, "ui_locales", "se").await,
        "oidcc_ensure_request_with_acr_values_succeeds" => acr_values(ctx).await,
        "oidcc_codereuse" => codereuse(ctx, Duration::ZERO).await,
        "oidcc_codereuse_30seconds" => codereuse(ctx, Duration::from_secs(30)).await,
        "oidcc_ensure_registered_redirect_uri" => registered_redirect_uri(ctx).await,
        "oidcc_ensure_post_request_succeeds" => post_request(ctx).await,
        "oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported"
        | "oidcc_ensure_request_object_with_redirect_uri" => request_object(ctx),
        "oidcc_claims_essential" => claims_essential(ctx).await,
        "oidcc_refresh_token" => refresh_token(ctx).await,
        "oidcc_ensure_request_with_valid_pkce_succeeds" => {
            let mut request = ctx.request(CLIENT);
            request.verifier = Some(random_text(43));
            ctx.login(request).await.map(|_| Verdict::Passed)
        }
        "oidcc_discovery_endpoint_verification" => discovery(ctx),
        "oidcc_rp_initiated_logout_discovery_endpoint_verification" => {
            ctx.rp.endpoint("end_session_endpoint")?;
            endpoints_https(ctx)?;
            Ok(Verdict::Passed)
        }
        "oidcc_rp_initiated_logout" => logout_redirects(ctx, true).await,
        "oidcc_rp_initiated_logout_no_state" => logout_redirects(ctx, false).await,
        "oidcc_rp_initiated_logout_bad_post_logout_redirect_uri" => {
            logout_refused(ctx, Hint::Valid, Some("http://127.0.0.1:9/elsewhere")).await
        }
        "oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri" => {
            let added = format!("{POST_LOGOUT}?foo=bar");
            logout_refused(ctx, Hint::Valid, Some(&added)).await
        }
        "oidcc_rp_initiated_logout_modified_id_token_hint" => {
            logout_refused(ctx, Hint::Unsigned, Some(POST_LOGOUT)).await
        }
        "oidcc_rp_initiated_logout_bad_id_token_hint" => {
            logout_refused(ctx, Hint::Foreign, Some(POST_LOGOUT)).await
        }
        "oidcc_rp_initiated_logout_no_id_token_hint" => {
            logout_refused(ctx, Hint::None, Some(POST_LOGOUT)).await
        }
        "oidcc_rp_initiated_logout_no_params" => logged_out_page(ctx, false, false).await,
        "oidcc_rp_initiated_logout_no_post_logout_redirect_uri" => {
            logged_out_page(ctx, true, true).await
        }
        "oidcc_rp_initiated_logout_only_state" => logged_out_page(ctx, false, true).await,
        "oidcc_backchannel_logout_discovery_endpoint_verification" => {
            let d = &ctx.rp.discovery;
            ensure!(
                d["backchannel_logout_supported"] == true,
                "backchannel_logout_supported"
            );
            ensure!(
                d["backchannel_logout_session_supported"] == true,
                "backchannel_logout_session_supported"
            );
            ctx.rp.endpoint("end_session_endpoint")?;
            endpoints_https(ctx)?;
            Ok(Verdict::Passed)
        }
        "oidcc_backchannel_rp_initiated_logout" => backchannel(ctx).await,
        other => bail!("no module {other}"),
    }
}

/// `oidcc-server`: the happy code flow and every common check; warns on claims beyond the
/// authentication's in the id_token.
async fn server(ctx: &mut Ctx, client: Client) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(client)).await?;
    const EXPECTED: &[&str] = &[
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "c_hash",
        "nbf",
        "jti",
        "sid",
        "s_hash",
    ];
    if let Some(claims) = flow.claims.as_object() {
        for name in claims.keys().filter(|k| !EXPECTED.contains(&k.as_str())) {
            ctx.warn(format!("id_token carries {name}"));
        }
    }
    if flow.tokens.json["expires_in"].is_null() {
        ctx.warn("no expires_in");
    }
    Ok(Verdict::Passed)
}

/// `oidcc-response-type-missing`: an error to the RP (`invalid_request` or
/// `unsupported_response_type`), or an error page.
async fn response_type_missing(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let mut request = ctx.request(CLIENT);
    request.response_type = None;
    let callback = ctx.authorize(&request).await?;
    if callback.delivery == crate::Delivery::Page {
        ensure!(
            callback.page.screen().as_deref() == Some("error"),
            "neither a redirect nor an error page: {:?}",
            callback.page.screen()
        );
        return Ok(Verdict::Passed);
    }
    let error = checks::error(&callback, &request, &ctx.rp)?;
    ensure!(
        matches!(
            error.as_str(),
            "invalid_request" | "unsupported_response_type"
        ),
        "error {error}"
    );
    Ok(Verdict::Passed)
}

/// `oidcc-userinfo-*`: userinfo answers with the id_token's `sub`; by body it may refuse
/// (a warning).
async fn userinfo(ctx: &mut Ctx, how: UserinfoCall) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(CLIENT)).await?;
    let answer = ctx.rp.userinfo(flow.access_token(), how).await?;
    if how == UserinfoCall::PostBody && !(200..300).contains(&answer.status) {
        ctx.warn(format!("userinfo by form body: {}", answer.status));
        return Ok(Verdict::Passed);
    }
    checks::userinfo(&answer, flow.sub())?;
    Ok(Verdict::Passed)
}

/// `oidcc-scope-*`: skipped when a scope is not advertised; the claims should be in
/// userinfo (warnings).
async fn scopes(ctx: &mut Ctx, wanted: &[&str]) -> anyhow::Result<Verdict> {
    if wanted
        .iter()
        .any(|s| !ctx.rp.advertises("scopes_supported", s))
    {
        return Ok(Verdict::Skipped("a scope asked is not in scopes_supported"));
    }
    let mut request = ctx.request(CLIENT);
    request.scope = std::iter::once("openid")
        .chain(wanted.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let flow = ctx.login(request).await?;
    let info = ctx
        .rp
        .userinfo(flow.access_token(), UserinfoCall::Get)
        .await?;
    for scope in wanted {
        let claim = match *scope {
            "profile" => "name",
            "email" => "email",
            "phone" => "phone_number",
            _ => "address",
        };
        if info.json[claim].is_null() {
            ctx.warn(format!("userinfo without {claim} for scope {scope}"));
        }
    }
    Ok(Verdict::Passed)
}

/// `oidcc-alternate-happy-flow`: scope order reversed and parameters reordered (RFC 6749
/// §3.3).
async fn alternate_happy_flow(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let mut request = ctx.request(CLIENT);
    request.scope = "email profile openid".into();
    let mut url = url::Url::parse(&ctx.rp.endpoint("authorization_endpoint")?)?;
    url.query_pairs_mut()
        .extend_pairs(request.pairs().into_iter().rev());
    let page = ctx.browser.get(url.as_str()).await?;
    let page = ctx.target.interact(&ctx.browser, page).await?;
    let callback = callback_of(page)?;
    ctx.finish(request, &callback).await?;
    Ok(Verdict::Passed)
}

async fn with_param(ctx: &mut Ctx, name: &str, value: &str) -> anyhow::Result<Verdict> {
    ctx.login(ctx.request(CLIENT).with(name, value)).await?;
    Ok(Verdict::Passed)
}

/// `oidcc-login-hint`, `oidcc-ui-locales`: not an error; a login page (review).
async fn shows_login(ctx: &mut Ctx, name: &str, value: &str) -> anyhow::Result<Verdict> {
    let request = ctx.request(CLIENT).with(name, value);
    let page = ctx.first_page(&request).await?;
    ensure!(
        page.screen().as_deref() == Some("login"),
        "{name}={value} shows {:?}, not the login page",
        page.screen()
    );
    let page = ctx.target.interact(&ctx.browser, page).await?;
    ctx.finish(request, &callback_of(page)?).await?;
    Ok(Verdict::Passed)
}

/// `oidcc-prompt-login`: the second request logs in again; `auth_time` moves on.
async fn prompt_login(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let first = ctx.login(ctx.request(CLIENT)).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let request = ctx.request(CLIENT).with("prompt", "login");
    let second = relogin(ctx, request).await?;
    later_auth_time(&first, &second)?;
    Ok(Verdict::Passed)
}

/// A request that must show the login page again (review: a second login page).
async fn relogin(ctx: &mut Ctx, request: AuthRequest) -> anyhow::Result<Flow> {
    let page = ctx.first_page(&request).await?;
    ensure!(
        page.left_to.is_none() && page.screen().as_deref() == Some("login"),
        "no new login: {:?}",
        page.screen()
    );
    let page = ctx.target.interact(&ctx.browser, page).await?;
    ctx.finish(request, &callback_of(page)?).await
}

fn later_auth_time(first: &Flow, second: &Flow) -> anyhow::Result<()> {
    if let (Some(a), Some(b)) = (
        first.claims["auth_time"].as_i64(),
        second.claims["auth_time"].as_i64(),
    ) {
        ensure!(b > a, "auth_time did not move on ({a} then {b})");
    }
    Ok(())
}

/// `oidcc-prompt-none-not-logged-in`: an error to the RP, the 128-character state intact.
async fn prompt_none_not_logged_in(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let mut request = ctx.request(CLIENT).with("prompt", "none");
    request.state = random_text(128);
    let callback = ctx.authorize(&request).await?;
    let error = checks::error(&callback, &request, &ctx.rp)?;
    ensure!(LOGIN_ERRORS.contains(&error.as_str()), "error {error}");
    Ok(Verdict::Passed)
}

/// `oidcc-prompt-none-logged-in`: a code with no page; the same `sub` and `auth_time`.
async fn prompt_none_logged_in(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let first = ctx.login(ctx.request(CLIENT)).await?;
    let second = silently(ctx, ctx.request(CLIENT).with("prompt", "none")).await?;
    same_login(&first, &second)?;
    Ok(Verdict::Passed)
}

/// A request answered straight away, with no page shown.
async fn silently(ctx: &mut Ctx, request: AuthRequest) -> anyhow::Result<Flow> {
    let page = ctx.first_page(&request).await?;
    let callback = callback_of(page)?;
    ensure!(
        callback.delivery != crate::Delivery::Page,
        "a page was shown: {:?}",
        callback.page.screen()
    );
    ctx.finish(request, &callback).await
}

fn same_login(first: &Flow, second: &Flow) -> anyhow::Result<()> {
    ensure!(first.sub() == second.sub(), "sub changed");
    if !first.claims["auth_time"].is_null() {
        ensure!(
            first.claims["auth_time"] == second.claims["auth_time"],
            "auth_time changed without a login"
        );
    }
    Ok(())
}

/// `oidcc-max-age-1`: after 2 s, `max_age=1` forces a login; `auth_time` present and new.
async fn max_age_1(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let first = ctx.login(ctx.request(CLIENT)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = relogin(ctx, ctx.request(CLIENT).with("max_age", "1")).await?;
    let auth_time = second.claims["auth_time"]
        .as_i64()
        .context("no auth_time with max_age")?;
    ensure!(
        auth_time >= chrono::Utc::now().timestamp() - 301,
        "auth_time too old"
    );
    later_auth_time(&first, &second)?;
    Ok(Verdict::Passed)
}

/// `oidcc-max-age-10000`: no new login; `auth_time` present and unchanged.
async fn max_age_10000(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let first = ctx
        .login(ctx.request(CLIENT).with("max_age", "15000"))
        .await?;
    let second = silently(ctx, ctx.request(CLIENT).with("max_age", "10000")).await?;
    ensure!(
        first.claims["auth_time"].is_i64() && second.claims["auth_time"].is_i64(),
        "no auth_time with max_age"
    );
    same_login(&first, &second)?;
    Ok(Verdict::Passed)
}

/// `oidcc-id-token-hint`: `prompt=none` with the first id_token as hint succeeds silently.
async fn id_token_hint(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let first = ctx.login(ctx.request(CLIENT)).await?;
    let request = ctx
        .request(CLIENT)
        .with("prompt", "none")
        .with("id_token_hint", &first.id_token);
    let second = silently(ctx, request).await?;
    same_login(&first, &second)?;
    Ok(Verdict::Passed)
}

/// `oidcc-ensure-request-with-acr-values-succeeds`: the advertised values (else `1 2`);
/// warns when the `acr` is none of them.
async fn acr_values(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let advertised: Vec<String> = ctx.rp.discovery["acr_values_supported"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| vec!["1".into(), "2".into()]);
    let flow = ctx
        .login(
            ctx.request(CLIENT)
                .with("acr_values", &advertised.join(" ")),
        )
        .await?;
    let acr = flow.claims["acr"].as_str().unwrap_or_default().to_owned();
    if !advertised.contains(&acr) {
        ctx.warn(format!("acr {acr} is none of the values asked"));
    }
    Ok(Verdict::Passed)
}

/// `oidcc-codereuse`, `oidcc-codereuse-30seconds`: a second exchange of the code is
/// `invalid_grant`; after it, the first access token should die (RFC 6749 §4.1.2).
async fn codereuse(ctx: &mut Ctx, wait: Duration) -> anyhow::Result<Verdict> {
    let request = ctx.request(CLIENT);
    let callback = ctx.authorize(&request).await?;
    let code = checks::success(&callback, &request, &ctx.rp)?;
    let first = ctx.rp.exchange(&request, &code).await?;
    checks::tokens(&first)?;
    tokio::time::sleep(wait).await;
    let again = ctx.rp.exchange(&request, &code).await?;
    if wait.is_zero() && again.status == 200 {
        ctx.warn("the code was accepted twice");
        return Ok(Verdict::Passed);
    }
    checks::token_error(&again, "invalid_grant")?;
    if !wait.is_zero() {
        let token = first.str("access_token").unwrap_or_default();
        let info = ctx.rp.userinfo(token, UserinfoCall::Get).await?;
        if !(400..500).contains(&info.status) {
            ctx.warn(format!(
                "the first access token still works ({})",
                info.status
            ));
        }
    }
    Ok(Verdict::Passed)
}

/// `oidcc-ensure-registered-redirect-uri`: an error page, never a redirect (review).
async fn registered_redirect_uri(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let mut request = ctx.request(CLIENT);
    request.redirect_uri = format!("http://127.0.0.1:9/{}", random_text(10));
    let page = ctx.first_page(&request).await?;
    ensure!(page.left_to.is_none(), "redirected to {:?}", page.left_to);
    ensure!(
        page.screen().as_deref() == Some("error"),
        "not an error page: {:?}",
        page.screen()
    );
    Ok(Verdict::Passed)
}

/// `oidcc-ensure-post-request-succeeds`: the request as a form POST (OIDC Core §3.1.2.1);
/// the suite only warns when it fails.
async fn post_request(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let request = ctx.request(CLIENT);
    let callback = authorize(&ctx.target, &ctx.browser, &ctx.rp, &request, true).await;
    match callback {
        Ok(callback) if callback.delivery != crate::Delivery::Page => {
            ctx.finish(request, &callback).await?;
        }
        other => ctx.warn(format!(
            "authorization by POST reached no callback: {other:?}"
        )),
    }
    Ok(Verdict::Passed)
}

/// `oidcc-unsigned-request-object-…`, `oidcc-ensure-request-object-with-redirect-uri`:
/// skipped unless `none` is an advertised request object algorithm.
fn request_object(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    if !ctx
        .rp
        .advertises("request_object_signing_alg_values_supported", "none")
    {
        return Ok(Verdict::Skipped(
            "request_object_signing_alg_values_supported lacks none",
        ));
    }
    bail!("unsigned request objects are advertised but not exercised by this harness")
}

/// `oidcc-claims-essential`: `name` asked as essential for userinfo; warns if missing
/// there or leaked into the id_token.
async fn claims_essential(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let claims = r#"{"userinfo":{"name":{"essential":true}}}"#;
    let flow = ctx
        .login(ctx.request(CLIENT).with("claims", claims))
        .await?;
    let info = ctx
        .rp
        .userinfo(flow.access_token(), UserinfoCall::Get)
        .await?;
    if info.json["name"].is_null() {
        ctx.warn("name missing from userinfo");
    }
    if !flow.claims["name"].is_null() {
        ctx.warn("name in the id_token");
    }
    Ok(Verdict::Passed)
}

/// `oidcc-refresh-token`: with `offline_access` and `prompt=consent`, a refresh token; the
/// refresh answers like a token response, a new id_token keeps the login, and another
/// client's refresh token is `invalid_grant`.
async fn refresh_token(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let mut request = ctx.request(CLIENT).with("prompt", "consent");
    request.scope = "openid offline_access".into();
    let flow = ctx.login(request).await?;
    let Some(refresh) = flow.tokens.str("refresh_token").map(str::to_owned) else {
        if ctx.rp.advertises("grant_types_supported", "refresh_token") {
            ctx.warn("refresh_token advertised but none issued");
        }
        return Ok(Verdict::Skipped("no refresh token issued"));
    };
    checks::strong("the refresh token", &refresh)?;
    // A second later, so that a new id_token's iat can be later.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let answer = ctx.rp.token(CLIENT, &form).await?;
    checks::tokens(&answer)?;
    let unreserved = |s: &str| s.bytes().all(|b| (0x20..=0x7E).contains(&b));
    ensure!(
        answer.str("access_token").is_some_and(unreserved)
            && answer.str("refresh_token").is_none_or(unreserved),
        "token characters outside RFC 6749 appendix A"
    );
    if let Some(rotated) = answer.str("refresh_token") {
        checks::strong("the new refresh token", rotated)?;
    }
    if let Some(id_token) = answer.str("id_token") {
        let claims = checks::signed_claims(&ctx.rp, id_token)?;
        for kept in ["iss", "sub", "aud", "azp", "auth_time"] {
            ensure!(
                claims[kept] == flow.claims[kept],
                "refreshed id_token changed {kept}"
            );
        }
        let (old, new) = (flow.claims["iat"].as_i64(), claims["iat"].as_i64());
        ensure!(
            new > old,
            "refreshed id_token iat is not later ({old:?} then {new:?})"
        );
    }
    // Client 2's refresh token, used by client 1.
    let mut other = ctx.request(CLIENT2).with("prompt", "consent");
    other.scope = "openid offline_access".into();
    let second = ctx.login(other).await?;
    let theirs = second
        .tokens
        .str("refresh_token")
        .context("client2 got no refresh token")?
        .to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", theirs.as_str()),
    ];
    checks::token_error(&ctx.rp.token(CLIENT, &form).await?, "invalid_grant")?;
    Ok(Verdict::Passed)
}

/// `oidcc-discovery-endpoint-verification` (Config OP). The https requirements are
/// asserted when the issuer is https.
fn discovery(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let rp = &ctx.rp;
    let d = &rp.discovery;
    ensure!(
        rp.discovery_status == 200,
        "discovery {}",
        rp.discovery_status
    );
    ensure!(
        rp.discovery_type.starts_with("application/json"),
        "discovery content type {}",
        rp.discovery_type
    );
    ensure!(
        d["issuer"].as_str().map(|i| i.trim_end_matches('/'))
            == Some(rp.issuer.trim_end_matches('/')),
        "issuer {} is not the discovery URL's prefix",
        d["issuer"]
    );
    ensure!(
        rp.advertises("response_types_supported", "code"),
        "response_types_supported"
    );
    ensure!(
        rp.advertises("subject_types_supported", "public")
            || rp.advertises("subject_types_supported", "pairwise"),
        "subject_types_supported"
    );
    ensure!(
        rp.advertises("id_token_signing_alg_values_supported", "RS256"),
        "id_token_signing_alg_values_supported lacks RS256"
    );
    for endpoint in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        url::Url::parse(&rp.endpoint(endpoint)?)
            .with_context(|| format!("{endpoint} is not a URL"))?;
    }
    if !d["grant_types_supported"].is_null() {
        ensure!(
            d["grant_types_supported"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "grant_types_supported is not a non-empty array"
        );
    }
    if d["userinfo_endpoint"].is_null() {
        ctx.warn("no userinfo_endpoint");
    }
    if ctx.rp.discovery["scopes_supported"].is_null() {
        ctx.warn("no scopes_supported");
    } else {
        ensure!(
            ctx.rp.advertises("scopes_supported", "openid"),
            "scopes_supported lacks openid"
        );
    }
    if !ctx.rp.advertises("response_modes_supported", "form_post") {
        ctx.warn("response_modes_supported lacks form_post");
    }
    let d = &ctx.rp.discovery;
    if !d["code_challenge_methods_supported"].is_null() {
        ensure!(
            d["code_challenge_methods_supported"].is_array(),
            "code_challenge_methods_supported is not an array"
        );
    }
    if d["claims_supported"].is_null() {
        ctx.warn("no claims_supported");
    }
    endpoints_https(ctx)?;
    Ok(Verdict::Passed)
}

/// Every `*_endpoint` of discovery is https (asserted when the issuer is https; the peer
/// runs over http, where it is a warning).
fn endpoints_https(ctx: &mut Ctx) -> anyhow::Result<()> {
    if !ctx.rp.issuer.starts_with("https://") {
        ctx.warn("http issuer: the https requirements are asserted in https mode only");
        return Ok(());
    }
    if let Some(all) = ctx.rp.discovery.as_object() {
        for (name, value) in all.iter().filter(|(k, _)| k.ends_with("_endpoint")) {
            ensure!(
                value.as_str().is_some_and(|v| v.starts_with("https://")),
                "{name} is not https"
            );
        }
    }
    Ok(())
}

/// Which `id_token_hint` a logout module sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Valid,
    /// Re-encoded with `alg: none` and no signature.
    Unsigned,
    /// Signed by a key of the suite's own.
    Foreign,
    None,
}

fn hint(flow: &Flow, kind: Hint) -> anyhow::Result<Option<String>> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Ok(match kind {
        Hint::Valid => Some(flow.id_token.clone()),
        Hint::None => None,
        Hint::Unsigned => {
            let header = b64.encode(br#"{"alg":"none"}"#);
            let payload = flow.id_token.split('.').nth(1).unwrap_or_default();
            Some(format!("{header}.{payload}."))
        }
        Hint::Foreign => {
            let key = josekit::jws::RS256.generate_key_pair(2048)?;
            let signer = josekit::jws::RS256.signer_from_der(key.to_der_private_key())?;
            let mut header = josekit::jws::JwsHeader::new();
            header.set_key_id("suite-key");
            let payload = checks::part(&flow.id_token, 1)?;
            let bytes = serde_json::to_vec(&payload)?;
            Some(josekit::jws::serialize_compact(&bytes, &header, &signer)?)
        }
    })
}

/// `oidcc-rp-initiated-logout` (and `-no-state`): back to the registered URI with exactly
/// the state sent (or none), and the session is gone.
async fn logout_redirects(ctx: &mut Ctx, with_state: bool) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(CLIENT)).await?;
    let state = random_text(16);
    let mut params = vec![
        ("id_token_hint", flow.id_token.as_str()),
        ("post_logout_redirect_uri", POST_LOGOUT),
    ];
    if with_state {
        params.push(("state", state.as_str()));
    }
    let page = ctx.end_session(&params).await?;
    let back = page
        .left_to
        .context("no redirect to post_logout_redirect_uri")?;
    let url = url::Url::parse(&back)?;
    ensure!(checks::same_uri(&back, POST_LOGOUT), "redirected to {back}");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected: Vec<(String, String)> = if with_state {
        vec![("state".into(), state.clone())]
    } else {
        Vec::new()
    };
    if query.iter().any(|(k, _)| k != "state") {
        ctx.warn(format!("parameters besides state: {query:?}"));
    }
    let states: Vec<_> = query.into_iter().filter(|(k, _)| k == "state").collect();
    ensure!(
        states == expected,
        "state {states:?}, expected {expected:?}"
    );
    ctx.session_gone().await?;
    Ok(Verdict::Passed)
}

/// The logout modules whose request cannot be trusted: no redirect back; an error page or
/// a logout confirmation (review).
async fn logout_refused(ctx: &mut Ctx, kind: Hint, uri: Option<&str>) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(CLIENT)).await?;
    let token = hint(&flow, kind)?;
    let state = random_text(16);
    let mut url = url::Url::parse(&ctx.rp.endpoint("end_session_endpoint")?)?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(token) = &token {
            query.append_pair("id_token_hint", token);
        }
        if let Some(uri) = uri {
            query.append_pair("post_logout_redirect_uri", uri);
        }
        query.append_pair("state", &state);
    }
    let page = ctx.browser.get(url.as_str()).await?;
    ensure!(page.left_to.is_none(), "redirected to {:?}", page.left_to);
    let screen = page.screen();
    ensure!(
        matches!(
            screen.as_deref(),
            Some("error" | "logout-confirm" | "logged-out")
        ),
        "neither an error page nor a logout page: {screen:?}"
    );
    if screen.as_deref() == Some("logout-confirm") {
        // Confirming logs out; it still must not lead back to the RP.
        let after = ctx.confirm(&page).await?;
        if let Some(to) = &after.left_to {
            ensure!(!to.starts_with("http://127.0.0.1:9/"), "redirected to {to}");
        }
    }
    Ok(Verdict::Passed)
}

/// `-no-params`, `-no-post-logout-redirect-uri`, `-only-state`: the participant is logged
/// out and sees the logged-out page; nothing goes to the RP.
async fn logged_out_page(
    ctx: &mut Ctx,
    with_hint: bool,
    with_state: bool,
) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(CLIENT)).await?;
    let state = random_text(16);
    let mut params = Vec::new();
    if with_hint {
        params.push(("id_token_hint", flow.id_token.as_str()));
    }
    if with_state {
        params.push(("state", state.as_str()));
    }
    let page = ctx.end_session(&params).await?;
    ensure!(page.left_to.is_none(), "redirected to {:?}", page.left_to);
    ensure!(
        page.screen().as_deref() == Some("logged-out"),
        "not the logged-out page: {:?}",
        page.screen()
    );
    ctx.session_gone().await?;
    Ok(Verdict::Passed)
}

/// `oidcc-backchannel-rp-initiated-logout`: the logout token POSTed to the client, signed,
/// with the right claims and no nonce; then the redirect with the state; the session gone.
async fn backchannel(ctx: &mut Ctx) -> anyhow::Result<Verdict> {
    let flow = ctx.login(ctx.request(CLIENT)).await?;
    ensure!(flow.claims["sid"].is_string(), "id_token without sid");
    let state = random_text(16);
    let params = [
        ("id_token_hint", flow.id_token.as_str()),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", state.as_str()),
    ];
    let page = ctx.end_session(&params).await?;
    let back = page.left_to.context("no redirect after logout")?;
    ensure!(checks::same_uri(&back, POST_LOGOUT), "redirected to {back}");
    let returned = url::Url::parse(&back)?
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    ensure!(
        returned.as_deref() == Some(state.as_str()),
        "state {returned:?}"
    );
    let mut received = Vec::new();
    for _ in 0..100 {
        received = ctx.target.logout_tokens();
        if !received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let post = received.first().context("no logout token received")?;
    ensure!(
        post.content_type
            .starts_with("application/x-www-form-urlencoded"),
        "logout token posted as {}",
        post.content_type
    );
    if post.form.iter().any(|(k, _)| k != "logout_token") {
        ctx.warn("extra parameters in the logout POST");
    }
    let token = &post.token;
    let mut request = ctx.request(CLIENT);
    request.nonce = None;
    // The signature and iss/aud/iat as an id_token's, then the logout token's own rules.
    let claims = verify_logout_token(ctx, token, &request)?;
    ensure!(claims["jti"].is_string(), "no jti");
    ensure!(claims["nonce"].is_null(), "a nonce in the logout token");
    let events = serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}});
    ensure!(claims["events"] == events, "events {}", claims["events"]);
    let sid_ok = claims["sid"].is_null() || claims["sid"] == flow.claims["sid"];
    let sub_ok = claims["sub"].is_null() || claims["sub"] == flow.claims["sub"];
    ensure!(
        sid_ok && sub_ok && !(claims["sid"].is_null() && claims["sub"].is_null()),
        "sub/sid do not match the id_token"
    );
    ctx.session_gone().await?;
    Ok(Verdict::Passed)
}

fn verify_logout_token(ctx: &Ctx, token: &str, request: &AuthRequest) -> anyhow::Result<Value> {
    // Signed by the provider; logout tokens have no exp or auth_time rules of their own.
    let claims = checks::signed_claims(&ctx.rp, token)?;
    let now = chrono::Utc::now().timestamp();
    ensure!(
        claims["iss"] == ctx.rp.issuer.as_str(),
        "iss {}",
        claims["iss"]
    );
    ensure!(
        checks::audience_has(&claims, request.client.id),
        "aud {}",
        claims["aud"]
    );
    let iat = claims["iat"].as_i64().context("no iat")?;
    ensure!(iat <= now + 300 && iat > now - 86_400, "iat {iat}");
    Ok(claims)
}
