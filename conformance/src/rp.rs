//! The suite's relying party: discovery, authorization requests sent through the browser,
//! the callback as it arrives (query or form post), the token endpoint and userinfo.

use anyhow::{Context, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sesame_testkit::browser::form_values;
use sesame_testkit::{Browser, Page};
use sha2::{Digest, Sha256};

use crate::target::{Client, REDIRECT, Target, posts_to_rp};
use crate::{Mode, random_text};

/// The RP's view of the provider: its discovery document and keys.
pub struct Rp {
    pub issuer: String,
    pub discovery: Value,
    pub discovery_status: u16,
    pub discovery_type: String,
    pub jwks: Value,
    pub http: reqwest::Client,
}

impl Rp {
    /// Reads `{issuer}/.well-known/openid-configuration` and the JWKS it names.
    pub async fn discover(issuer: &str, cert_pem: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = cert_pem {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?);
        }
        let http = builder.build()?;
        let url = format!("{issuer}/.well-known/openid-configuration");
        let response = http.get(&url).send().await?;
        let discovery_status = response.status().as_u16();
        let discovery_type = header(response.headers(), "content-type");
        let discovery: Value = response.json().await.context("discovery is not JSON")?;
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| anyhow!("no jwks_uri"))?;
        let jwks: Value = http.get(jwks_uri).send().await?.json().await?;
        Ok(Self {
            issuer: issuer.to_owned(),
            discovery,
            discovery_status,
            discovery_type,
            jwks,
            http,
        })
    }

    /// An endpoint from discovery.
    pub fn endpoint(&self, name: &str) -> anyhow::Result<String> {
        self.discovery[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("discovery has no {name}"))
    }

    /// Whether discovery lists `value` under `field`.
    pub fn advertises(&self, field: &str, value: &str) -> bool {
        self.discovery[field]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == value))
    }

    /// Calls the token endpoint as `client` with `form`.
    pub async fn token(&self, client: Client, form: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(self.endpoint("token_endpoint")?);
        if client.post {
            pairs.push(("client_id", client.id));
            pairs.push(("client_secret", client.secret));
        } else {
            // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            let (id, secret): (String, String) = (encode(client.id), encode(client.secret));
            let basic = STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("authorization", format!("Basic {basic}"));
        }
        Answer::from(request.form(&pairs).send().await?).await
    }

    /// Exchanges the code of `request`'s callback.
    pub async fn exchange(&self, request: &AuthRequest, code: &str) -> anyhow::Result<Answer> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", request.redirect_uri.as_str()),
        ];
        if let Some(verifier) = &request.verifier {
            form.push(("code_verifier", verifier));
        }
        self.token(request.client, &form).await
    }

    /// Userinfo: GET with a Bearer header, POST with a Bearer header, or POST with the
    /// token in the body (RFC 6750 §2.1, §2.2).
    pub async fn userinfo(&self, token: &str, how: UserinfoCall) -> anyhow::Result<Answer> {
        let url = self.endpoint("userinfo_endpoint")?;
        let bearer = format!("Bearer {token}");
        let request = match how {
            UserinfoCall::Get => self.http.get(url).header("authorization", bearer),
            UserinfoCall::PostHeader => self.http.post(url).header("authorization", bearer),
            UserinfoCall::PostBody => self.http.post(url).form(&[("access_token", token)]),
        };
        Answer::from(request.send().await?).await
    }
}

/// How userinfo is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserinfoCall {
    Get,
    PostHeader,
    PostBody,
}

/// An HTTP answer: status, headers and the body (JSON when it is).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    async fn from(response: reqwest::Response) -> anyhow::Result<Self> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Self {
            status,
            headers,
            text,
            json,
        })
    }

    pub fn header(&self, name: &str) -> String {
        header(&self.headers, name)
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.json[field].as_str()
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// An authorization request as the suite builds it.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Client,
    pub response_type: Option<String>,
    pub scope: String,
    pub state: String,
    pub nonce: Option<String>,
    pub verifier: Option<String>,
    pub redirect_uri: String,
    pub mode: Mode,
    /// Any other parameters (prompt, max_age, display, …), in order.
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    /// `response_type=code`, `scope=openid`, a fresh state and nonce (the suite's default
    /// request: PKCE only where a module asks for it).
    pub fn new(client: Client, mode: Mode) -> Self {
        Self {
            client,
            response_type: Some("code".into()),
            scope: "openid".into(),
            state: random_text(24),
            nonce: Some(random_text(24)),
            verifier: None,
            redirect_uri: REDIRECT.into(),
            mode,
            extra: Vec::new(),
        }
    }

    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The request's parameters, in the order the suite sends them.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("client_id".to_owned(), self.client.id.to_owned())];
        if let Some(kind) = &self.response_type {
            pairs.push(("response_type".into(), kind.clone()));
        }
        pairs.push(("scope".into(), self.scope.clone()));
        pairs.push(("redirect_uri".into(), self.redirect_uri.clone()));
        pairs.push(("state".into(), self.state.clone()));
        if let Some(nonce) = &self.nonce {
            pairs.push(("nonce".into(), nonce.clone()));
        }
        if let Some(verifier) = &self.verifier {
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            pairs.push(("code_challenge".into(), challenge));
            pairs.push(("code_challenge_method".into(), "S256".into()));
        }
        if self.mode == Mode::FormPost {
            pairs.push(("response_mode".into(), "form_post".into()));
        }
        pairs.extend(self.extra.iter().cloned());
        pairs
    }

    pub fn url(&self, rp: &Rp) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&rp.endpoint("authorization_endpoint")?)?;
        url.query_pairs_mut().extend_pairs(self.pairs());
        Ok(url.into())
    }
}

/// How the authorization response reached the RP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A redirect with the parameters in the query.
    Query,
    /// A page whose form the browser POSTs to the redirect URI.
    FormPost,
    /// No response: the provider shows a page (an error page, say).
    Page,
}

/// What the RP got back.
#[derive(Debug, Clone)]
pub struct Callback {
    pub delivery: Delivery,
    /// The redirect target (query delivery) or the form's action (form post).
    pub target: String,
    pub params: Vec<(String, String)>,
    /// The provider's last page (the form-post page, or the page shown).
    pub page: Page,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends the browser to the authorization endpoint (a GET, or a form POST) and plays the
/// participant until the response leaves for the RP.
pub async fn authorize(
    target: &Target,
    browser: &Browser,
    rp: &Rp,
    request: &AuthRequest,
    by_post: bool,
) -> anyhow::Result<Callback> {
    let page = if by_post {
        let pairs = request.pairs();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        browser
            .post_form(&rp.endpoint("authorization_endpoint")?, &pairs)
            .await?
    } else {
        browser.get(&request.url(rp)?).await?
    };
    let page = target.interact(browser, page).await?;
    callback_of(page)
}

/// Reads the response out of the provider's last answer.
pub fn callback_of(page: Page) -> anyhow::Result<Callback> {
    if let Some(left) = page.left_to.clone() {
        let url = url::Url::parse(&left)?;
        let params = url.query_pairs().into_owned().collect();
        return Ok(Callback {
            delivery: Delivery::Query,
            target: left,
            params,
            page,
        });
    }
    if posts_to_rp(&page) {
        let (action, params) = form_values(&page, "")?;
        return Ok(Callback {
            delivery: Delivery::FormPost,
            target: action,
            params,
            page,
        });
    }
    Ok(Callback {
        delivery: Delivery::Page,
        target: String::new(),
        params: Vec::new(),
        page,
    })
}
