//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the logout token POSTed to a
//! relying party's registered URI, through the address guard of DESIGN §5.11.

mod address;
mod guard;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, HeaderValue};
use reqwest::redirect::Policy;
use sesame_core::notify::{Message, Recipient};
use url::Url;

use crate::failure::{Peer, http_failure};
use crate::mailer::{Mailer, SendError};
use guard::{Guard, Lookup, Route, SystemLookup};

/// How long to wait for a connection (the host name's lookup included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole exchange may take. Kept short: a failed logout is retried by the
/// dispatcher, and the outbox waits meanwhile.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers [`Recipient::Backchannel`] messages: the body, a signed logout token, is POSTed
/// as `logout_token` to the relying party's back-channel logout URI.
///
/// The request goes only to public addresses, unless the URI's host is one the operator
/// allowed. Redirects are not followed and no proxy is used. Errors name neither the URI
/// nor the token.
pub struct BackchannelSender {
    guard: Guard,
    /// With [`BackchannelSender::for_uris`]: only these exact URIs get `guard`'s leave;
    /// any other URI goes through `strict`.
    allowed_uris: Option<std::collections::HashSet<String>>,
    strict: Guard,
    connect_timeout: Duration,
    total_timeout: Duration,
}

impl std::fmt::Debug for BackchannelSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed: Vec<&str> = self.guard.allowed().collect();
        f.debug_struct("BackchannelSender")
            .field("allowed_hosts", &allowed)
            .finish()
    }
}

impl BackchannelSender {
    /// A sender that may also reach `allowed_hosts`, the hosts (as written in URIs, such as
    /// `rp.internal`, `10.0.0.5` or `[::1]`; any port) whose back-channel logouts the operator
    /// allows to go to private or loopback addresses.
    pub fn new(allowed_hosts: Vec<String>) -> Self {
        Self::with_lookup(&allowed_hosts, Arc::new(SystemLookup))
    }

    /// A sender whose leave to reach private or loopback addresses holds for exactly
    /// these URIs (the back-channel URIs of the clients the operator allowed, DESIGN
    /// §5.11), not for other URIs on the same hosts.
    pub fn for_uris(allowed_uris: Vec<String>) -> Self {
        let hosts: Vec<String> = allowed_uris
            .iter()
            .filter_map(|u| Url::parse(u).ok()?.host_str().map(str::to_owned))
            .collect();
        let mut sender = Self::with_lookup(&hosts, Arc::new(SystemLookup));
        sender.allowed_uris = Some(allowed_uris.into_iter().collect());
        sender
    }

    fn with_lookup(allowed_hosts: &[String], lookup: Arc<dyn Lookup>) -> Self {
        // reqwest is built without a TLS crypto provider; an error means one is set already.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        Self {
            guard: Guard::new(allowed_hosts, lookup.clone(), CONNECT_TIMEOUT),
            allowed_uris: None,
            strict: Guard::new(&[], lookup, CONNECT_TIMEOUT),
            connect_timeout: CONNECT_TIMEOUT,
            total_timeout: TOTAL_TIMEOUT,
        }
    }

    /// Checks `uri`'s host, then posts `token` to it.
    async fn post(&self, uri: &str, token: &str) -> Result<(), SendError> {
        let url = Url::parse(uri)
            .map_err(|_| SendError::Permanent("the back-channel logout URI is invalid".into()))?;
        let guard = match &self.allowed_uris {
            Some(uris) if !uris.contains(uri) => &self.strict,
            _ => &self.guard,
        };
        let route = guard.route(&url).await?;
        self.deliver(url, &route, token).await
    }

    /// Posts `token` to `url`, reaching it only as `route` says.
    async fn deliver(&self, url: Url, route: &Route, token: &str) -> Result<(), SendError> {
        let response = self
            .client(route)?
            .post(url)
            .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| http_failure(&e, &RELYING_PARTY))?;
        outcome(response.status())
    }

    /// A client for one delivery. A pinned route's client reaches that host name only at the
    /// checked addresses, and refuses to resolve any other name.
    fn client(&self, route: &Route) -> Result<reqwest::Client, SendError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.total_timeout)
            .redirect(Policy::none())
            .no_proxy();
        let builder = match route {
            Route::Direct => builder,
            Route::Pinned { host, addrs } => {
                builder.resolve_to_addrs(host, addrs).dns_resolver(NoLookup)
            }
        };
        builder
            .build()
            .map_err(|_| SendError::Transient("the HTTP client could not be built".into()))
    }
}

#[async_trait]
impl Mailer for BackchannelSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let Recipient::Backchannel(uri) = &message.to else {
            let reason = "only back-channel logouts are sent over the back channel";
            return Err(SendError::Permanent(reason.into()));
        };
        self.post(uri, &message.body).await
    }
}

/// A resolver that resolves nothing: behind a pinned route's addresses, no lookup remains.
struct NoLookup;

impl reqwest::dns::Resolve for NoLookup {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let refused = "no lookup beyond the checked addresses".into();
        Box::pin(std::future::ready(Err(refused)))
    }
}

/// Back-Channel Logout 1.0 §2.8: 200 (or 204) on success, 400 when the RP rejects the token.
/// A server error may pass; any other answer will not change on a retry.
fn outcome(status: StatusCode) -> Result<(), SendError> {
    let code = status.as_u16();
    match code {
        200 | 204 => Ok(()),
        400 => Err(SendError::Permanent(
            "the relying party refused the logout token (400)".into(),
        )),
        500..=599 => Err(SendError::Transient(format!(
            "the relying party answered {code}"
        ))),
        _ => Err(SendError::Permanent(format!(
            "the relying party answered {code}"
        ))),
    }
}

/// How failures name the other end.
const RELYING_PARTY: Peer = Peer {
    who: "the relying party",
    request: "back-channel",
    link: "back-channel",
};

#[cfg(test)]
mod tests;
