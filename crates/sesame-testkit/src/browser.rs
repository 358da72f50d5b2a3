//! A cookie-keeping HTTP client that follows redirects within the provider and fills the
//! forms of the pages it gets, as a person's browser would.

use anyhow::{Context, anyhow};
use reqwest::redirect::Policy;
use scraper::{Html, Selector};
use url::Url;

/// A page, or a redirect that left the provider.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
    /// Set when the last response redirected outside the provider (to an RP).
    pub left_to: Option<String>,
}

impl Page {
    /// The value of `data-page` on the body, naming the screen.
    pub fn screen(&self) -> Option<String> {
        attr(&self.body, "body", "data-page")
    }

    /// The `data-notice` of the notice shown, if any.
    pub fn notice(&self) -> Option<String> {
        attr(&self.body, "[data-notice]", "data-notice")
    }

    /// The `data-error` of an error page, if any.
    pub fn error(&self) -> Option<String> {
        attr(&self.body, "[data-error]", "data-error")
    }
}

fn attr(body: &str, selector: &str, name: &str) -> Option<String> {
    let selector = Selector::parse(selector).ok()?;
    let html = Html::parse_document(body);
    html.select(&selector)
        .next()?
        .value()
        .attr(name)
        .map(str::to_owned)
}

/// The browser.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
    /// Redirects to URLs starting with this are followed.
    origin: String,
}

/// Installs the ring provider for rustls once.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Browser {
    /// A browser with an empty cookie jar that follows redirects within `origin`.
    pub fn new(origin: &str) -> anyhow::Result<Self> {
        Self::with_headers(origin, reqwest::header::HeaderMap::new())
    }

    /// What a browser accepts when it loads a page.
    fn page_headers() -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static(
                "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
            ),
        );
        headers
    }

    /// A browser behind a proxy that says it forwards for `address` (`X-Forwarded-For`).
    pub fn forwarded_for(origin: &str, address: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse()?);
        Self::with_headers(origin, headers)
    }

    /// A browser that trusts `cert_pem` (a test server's https front) besides the usual
    /// roots.
    pub fn trusting(origin: &str, cert_pem: Option<&str>) -> anyhow::Result<Self> {
        Self::build(origin, reqwest::header::HeaderMap::new(), cert_pem)
    }

    fn with_headers(origin: &str, headers: reqwest::header::HeaderMap) -> anyhow::Result<Self> {
        Self::build(origin, headers, None)
    }

    fn build(
        origin: &str,
        mut headers: reqwest::header::HeaderMap,
        cert_pem: Option<&str>,
    ) -> anyhow::Result<Self> {
        install_crypto();
        headers.extend(Self::page_headers());
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = cert_pem {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?);
        }
        let client = builder
            .default_headers(headers)
            .cookie_store(true)
            .redirect(Policy::none())
            .build()?;
        Ok(Self {
            client,
            origin: origin.trim_end_matches('/').to_owned(),
        })
    }

    /// GETs a URL and follows redirects within the provider.
    pub async fn get(&self, url: &str) -> anyhow::Result<Page> {
        let response = self
            .client
            .get(url)
            .header("accept-language", "fr")
            .send()
            .await?;
        self.follow(response).await
    }

    async fn follow(&self, mut response: reqwest::Response) -> anyhow::Result<Page> {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                let url = response.url().to_string();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.text().await?;
                return Ok(Page {
                    url,
                    status,
                    body,
                    headers,
                    left_to: None,
                });
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| anyhow!("redirect without location"))?;
            let next = response.url().join(location)?.to_string();
            if !next.starts_with(&self.origin) {
                let headers = response.headers().clone();
                let status = response.status().as_u16();
                return Ok(Page {
                    url: response.url().to_string(),
                    status,
                    body: String::new(),
                    headers,
                    left_to: Some(next),
                });
            }
            response = self
                .client
                .get(&next)
                .header("accept-language", "fr")
                .send()
                .await?;
        }
        Err(anyhow!("too many redirects"))
    }

    /// Submits the form whose action ends with `action`, with its current values
    /// overridden by `fields`.
    pub async fn submit(
        &self,
        page: &Page,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Page> {
        let (target, mut values) = form_values(page, action)?;
        for (name, value) in fields {
            values.retain(|(n, _)| n != name);
            values.push(((*name).to_owned(), (*value).to_owned()));
        }
        self.solve_captcha(&mut values).await?;
        let response = self.client.post(target).form(&values).send().await?;
        self.follow(response).await
    }

    /// Posts form pairs without following the redirect; returns the Set-Cookie headers.
    pub async fn post_raw(
        &self,
        url: &str,
        values: &[(String, String)],
    ) -> anyhow::Result<Vec<String>> {
        let response = self.client.post(url).form(values).send().await?;
        Ok(response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect())
    }

    /// Does what the page's anti-robot widget does: an empty `altcha` field gets the
    /// solution of a challenge fetched for the form's number.
    async fn solve_captcha(&self, values: &mut [(String, String)]) -> anyhow::Result<()> {
        let number = values
            .iter()
            .find(|(n, _)| n == "number")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let Some((_, field)) = values
            .iter_mut()
            .find(|(n, v)| n == "altcha" && v.is_empty())
        else {
            return Ok(());
        };
        let for_number: String = url::form_urlencoded::byte_serialize(number.as_bytes()).collect();
        let url = format!("{}/captcha/challenge?for={for_number}", self.origin);
        let challenge: sesame_core::captcha::Challenge =
            self.client.get(url).send().await?.json().await?;
        *field = sesame_core::captcha::solve(&challenge)
            .ok_or_else(|| anyhow!("unsolvable challenge"))?;
        Ok(())
    }

    /// Posts arbitrary form pairs (for tampering tests).
    pub async fn post_form(&self, url: &str, values: &[(&str, &str)]) -> anyhow::Result<Page> {
        let response = self.client.post(url).form(values).send().await?;
        self.follow(response).await
    }
}

/// The action URL and the successful controls of a form (HTML §4.10.21.4, simplified).
pub fn form_values(page: &Page, action: &str) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let html = Html::parse_document(&page.body);
    let forms = Selector::parse("form").map_err(|e| anyhow!("{e}"))?;
    let inputs = Selector::parse("input").map_err(|e| anyhow!("{e}"))?;
    let form = html
        .select(&forms)
        .find(|f| {
            f.value()
                .attr("action")
                .is_some_and(|a| a.ends_with(action))
        })
        .with_context(|| format!("no form posting to {action} on {}", page.url))?;
    let base = Url::parse(&page.url)?;
    let target = base
        .join(form.value().attr("action").unwrap_or_default())?
        .to_string();
    let mut values = Vec::new();
    for input in form.select(&inputs) {
        let e = input.value();
        let Some(name) = e.attr("name") else { continue };
        let kind = e.attr("type").unwrap_or("text");
        if matches!(kind, "checkbox" | "radio") && e.attr("checked").is_none() {
            continue;
        }
        if matches!(kind, "submit" | "button") {
            continue;
        }
        values.push((
            name.to_owned(),
            e.attr("value").unwrap_or_default().to_owned(),
        ));
    }
    Ok((target, values))
}
