//! The client's address (DESIGN §5.4): the peer's own, or, when the peer is a trusted
//! proxy, the nearest address in `X-Forwarded-For` that is not one. Addresses a client
//! could write itself are never believed.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::HeaderMap;
use http::request::Parts;
use ipnet::IpNet;

use crate::AppState;

/// The address abuse limits are counted against; `None` when the server was not given
/// the peer (a router driven without a socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(peer.map(|peer| {
            resolve(peer, &parts.headers, &state.trusted_proxies)
        })))
    }
}

/// Walks `X-Forwarded-For` from the right while the hop before is a trusted proxy.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = canonical(peer);
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Garbage written by someone: nothing further left is believable.
            break;
        };
        client = canonical(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// IPv4 peers reached over an IPv6 socket look like `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = value.parse() {
            headers.insert("x-forwarded-for", v);
        }
        headers
    }

    fn proxies() -> Vec<IpNet> {
        ["10.0.0.0/8", "fd00::/8"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let client = resolve(ip("203.0.113.9"), &forwarded("198.51.100.1"), &proxies());
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let client = resolve(ip("10.0.0.2"), &forwarded("198.51.100.1"), &proxies());
        assert_eq!(client, ip("198.51.100.1"));
    }

    #[test]
    fn addresses_left_of_the_first_untrusted_hop_are_ignored() {
        // The client wrote "1.2.3.4" itself; the proxies appended what they saw.
        let headers = forwarded("1.2.3.4, 198.51.100.1, 10.1.1.1");
        assert_eq!(
            resolve(ip("10.0.0.2"), &headers, &proxies()),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_proxy() {
        let headers = forwarded("198.51.100.1, not-an-address");
        assert_eq!(
            resolve(ip("10.0.0.2"), &headers, &proxies()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn no_trusted_proxies_means_the_peer() {
        let client = resolve(ip("10.0.0.2"), &forwarded("198.51.100.1"), &[]);
        assert_eq!(client, ip("10.0.0.2"));
        let mapped = resolve(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]);
        assert_eq!(mapped, ip("192.0.2.1"));
    }
}
