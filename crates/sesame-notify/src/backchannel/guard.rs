//! The address guard of DESIGN §5.11: a back-channel logout never goes to a private or
//! loopback address unless the operator allowed that client's host.
//!
//! A host name is resolved once, every address of the answer is checked, and the request is
//! then pinned to exactly those addresses, so a second DNS answer cannot slip another address
//! in between the check and the connection.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::{Host, Url};

use super::address::is_forbidden;
use crate::mailer::SendError;

/// Resolves a host name to socket addresses.
#[async_trait]
pub(super) trait Lookup: Send + Sync {
    /// Every address of `host`, with `port`.
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system resolver, through Tokio.
pub(super) struct SystemLookup;

#[async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// A resolver answering from a table; names outside it do not resolve.
#[cfg(test)]
pub(super) struct FixedLookup(pub(super) std::collections::HashMap<String, Vec<IpAddr>>);

#[cfg(test)]
#[async_trait]
impl Lookup for FixedLookup {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let answer = self.0.get(host).ok_or(std::io::ErrorKind::NotFound)?;
        Ok(answer.iter().map(|&ip| SocketAddr::new(ip, port)).collect())
    }
}

/// How a checked URI may be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// As usual: the host is allowed by the operator, or an IP literal that passed.
    Direct,
    /// Only at these addresses, every one checked, for the host name `host`.
    Pinned {
        host: String,
        addrs: Vec<SocketAddr>,
    },
}

/// Decides where a back-channel URI may be reached.
pub(super) struct Guard {
    allowed: HashSet<String>,
    lookup: Arc<dyn Lookup>,
    lookup_timeout: Duration,
}

impl Guard {
    /// A guard letting through `allowed_hosts` whatever they resolve to.
    pub(super) fn new(
        allowed_hosts: &[String],
        lookup: Arc<dyn Lookup>,
        lookup_timeout: Duration,
    ) -> Self {
        let allowed = allowed_hosts.iter().filter_map(|h| host_key(h)).collect();
        Self {
            allowed,
            lookup,
            lookup_timeout,
        }
    }

    /// The allowed hosts, in their canonical form.
    pub(super) fn allowed(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }

    /// How `url` may be reached, or why it may not.
    pub(super) async fn route(&self, url: &Url) -> Result<Route, SendError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused("the back-channel logout URI is not http or https"));
        }
        let host = url
            .host()
            .ok_or_else(|| refused("the back-channel logout URI has no host"))?;
        if self.allowed.contains(&url_host_key(&host)) {
            return Ok(Route::Direct);
        }
        match host {
            Host::Ipv4(ip) => check(&[IpAddr::V4(ip)]).map(|()| Route::Direct),
            Host::Ipv6(ip) => check(&[IpAddr::V6(ip)]).map(|()| Route::Direct),
            Host::Domain(name) => self.resolve(name, url).await,
        }
    }

    async fn resolve(&self, name: &str, url: &Url) -> Result<Route, SendError> {
        let port = url.port_or_known_default().unwrap_or(80);
        let lookup = self.lookup.lookup(name, port);
        let addrs = match tokio::time::timeout(self.lookup_timeout, lookup).await {
            Err(_) => {
                return Err(transient(
                    "the back-channel host name did not resolve in time",
                ));
            }
            Ok(Err(e)) => {
                let reason = format!("the back-channel host name did not resolve: {}", e.kind());
                return Err(SendError::Transient(reason));
            }
            Ok(Ok(addrs)) => addrs,
        };
        if addrs.is_empty() {
            return Err(transient("the back-channel host name has no address"));
        }
        check(&addrs.iter().map(SocketAddr::ip).collect::<Vec<_>>())?;
        let host = name.to_owned();
        Ok(Route::Pinned { host, addrs })
    }
}

/// Refuses the whole answer if any one address is forbidden: the connection could use any.
pub(super) fn check(addrs: &[IpAddr]) -> Result<(), SendError> {
    if addrs.iter().any(|&ip| is_forbidden(ip)) {
        return Err(refused(
            "the back-channel host is a private, loopback or reserved address \
             and is not among the allowed hosts",
        ));
    }
    Ok(())
}

/// An operator's allowed host (`rp.example.org`, `10.0.0.5`, `[::1]` or `::1`) in the form
/// a URL's host takes, so the two compare equal.
fn host_key(allowed: &str) -> Option<String> {
    let trimmed = allowed.trim();
    let bare = trimmed.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let parsed = Url::parse(&format!("http://{trimmed}/")).ok();
    match parsed.as_ref().and_then(Url::host) {
        Some(host) => Some(url_host_key(&host)),
        None => {
            tracing::warn!(
                host = trimmed,
                "allowed back-channel host is not a host; ignored"
            );
            None
        }
    }
}

/// A URL's host as a key: addresses in their usual text, names without a final dot.
fn url_host_key(host: &Host<&str>) -> String {
    match host {
        Host::Domain(name) => name.trim_end_matches('.').to_owned(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    }
}

fn refused(reason: &str) -> SendError {
    SendError::Permanent(reason.into())
}

fn transient(reason: &str) -> SendError {
    SendError::Transient(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allowed: &[&str], table: &[(&str, &[&str])]) -> Guard {
        let table = table
            .iter()
            .map(|(name, ips)| {
                let ips = ips.iter().map(|ip| ip.parse().unwrap()).collect();
                ((*name).to_owned(), ips)
            })
            .collect();
        let allowed: Vec<String> = allowed.iter().map(|&h| h.to_owned()).collect();
        Guard::new(
            &allowed,
            Arc::new(FixedLookup(table)),
            Duration::from_secs(1),
        )
    }

    async fn route(guard: &Guard, uri: &str) -> Result<Route, SendError> {
        guard.route(&Url::parse(uri).unwrap()).await
    }

    #[tokio::test]
    async fn refuses_loopback_hosts_that_are_not_allowed() {
        let loopback: &[&str] = &["127.0.0.1", "::1"];
        let guard = guard(&[], &[("localhost", loopback), ("localhost.", loopback)]);
        for uri in [
            "http://localhost/logout",
            "http://localhost.:8080/logout",
            "http://[::1]/logout",
            "http://127.0.0.2/",
            "https://127.1/",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let routed = route(&guard, uri).await;
            assert!(
                matches!(routed, Err(SendError::Permanent(_))),
                "{uri}: {routed:?}"
            );
        }
    }

    #[tokio::test]
    async fn lets_allowed_hosts_through_without_resolving_them() {
        // The table is empty: a lookup would fail, so Direct proves none was made.
        let guard = guard(&["LocalHost", "[::1]", "127.0.0.2", "10.1.2.3"], &[]);
        for uri in [
            "http://localhost:8080/logout",
            "http://localhost./logout",
            "http://[::1]:9000/",
            "http://127.0.0.2/",
            "https://10.1.2.3/bcl",
        ] {
            assert_eq!(route(&guard, uri).await, Ok(Route::Direct), "{uri}");
        }
        let bare_v6 = guard_allowing("::1");
        assert_eq!(route(&bare_v6, "http://[::1]/").await, Ok(Route::Direct));
    }

    fn guard_allowing(host: &str) -> Guard {
        guard(&[host], &[])
    }

    #[tokio::test]
    async fn refuses_a_name_if_any_of_its_addresses_is_private() {
        let guard = guard(
            &[],
            &[
                ("mixed.example.test", &["2606:4700::1", "10.0.0.7"]),
                ("mapped.example.test", &["::ffff:10.0.0.1"]),
            ],
        );
        for uri in [
            "https://mixed.example.test/",
            "https://mapped.example.test/",
        ] {
            let routed = route(&guard, uri).await;
            assert!(
                matches!(routed, Err(SendError::Permanent(_))),
                "{uri}: {routed:?}"
            );
        }
    }

    #[tokio::test]
    async fn pins_a_public_name_to_the_checked_answer() {
        let guard = guard(&[], &[("rp.example.test", &["2606:4700::1", "1.1.1.1"])]);
        let routed = route(&guard, "https://rp.example.test/bcl").await;
        let addrs = vec![
            "[2606:4700::1]:443".parse().unwrap(),
            "1.1.1.1:443".parse().unwrap(),
        ];
        let host = "rp.example.test".to_owned();
        assert_eq!(routed, Ok(Route::Pinned { host, addrs }));
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_transient() {
        let guard = guard(&[], &[("empty.example.test", &[])]);
        for uri in [
            "https://unknown.example.test/",
            "https://empty.example.test/",
        ] {
            let routed = route(&guard, uri).await;
            assert!(
                matches!(routed, Err(SendError::Transient(_))),
                "{uri}: {routed:?}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_other_schemes() {
        let guard = guard(&["127.0.0.1"], &[]);
        for uri in [
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "data:text/plain,x",
        ] {
            let routed = route(&guard, uri).await;
            assert!(
                matches!(routed, Err(SendError::Permanent(_))),
                "{uri}: {routed:?}"
            );
        }
    }

    #[test]
    fn allowed_hosts_take_the_form_of_url_hosts() {
        assert_eq!(
            host_key(" RP.Example.org. ").as_deref(),
            Some("rp.example.org")
        );
        assert_eq!(host_key("[::1]").as_deref(), Some("::1"));
        assert_eq!(host_key("0:0::1").as_deref(), Some("::1"));
        assert_eq!(host_key("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host_key("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(host_key(""), None);
    }
}
