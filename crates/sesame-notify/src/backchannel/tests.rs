//! The sender against a real HTTP endpoint on 127.0.0.1.

use std::collections::HashMap;
use std::error::Error;
use std::net::IpAddr;

use chrono::Utc;

use super::guard::FixedLookup;
use super::*;
use crate::test_server::{Reply, TestServer};

/// A logout token's shape: three base64url parts, so the form encoding leaves it as is.
const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImxvZ291dCtqd3QifQ.eyJzaWQiOiJhYmMifQ.c2ln";

type TestResult = Result<(), Box<dyn Error>>;

fn logout(uri: &str, token: &str) -> Message {
    Message {
        to: Recipient::Backchannel(uri.into()),
        subject: String::new(),
        body: token.into(),
        html: None,
        expires_at: Utc::now() + chrono::TimeDelta::minutes(2),
    }
}

fn allowing(hosts: &[&str]) -> BackchannelSender {
    BackchannelSender::new(hosts.iter().map(|&h| h.to_owned()).collect())
}

/// A sender whose resolver answers `name` with `ips` and knows no other name.
fn resolving(name: &str, ips: &[&str]) -> BackchannelSender {
    let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
    let table = HashMap::from([(name.to_owned(), ips)]);
    BackchannelSender::with_lookup(&[], Arc::new(FixedLookup(table)))
}

fn assert_secret_kept(error: &SendError) {
    let text = error.to_string();
    assert!(!text.contains(TOKEN) && !text.contains("c2ln"), "{text}");
    assert!(
        !text.contains("127.0.0.1") && !text.contains("/bcl"),
        "{text}"
    );
}

#[tokio::test]
async fn posts_the_logout_token_as_a_form_to_an_allowed_loopback_host() -> TestResult {
    let mut rp = TestServer::start(Reply::Status(200)).await?;
    let sender = allowing(&["127.0.0.1"]);
    sender
        .send(&logout(&rp.url("/bcl?tenant=a"), TOKEN))
        .await?;

    let request = rp.request().await.ok_or("no request")?;
    assert!(
        request.head.starts_with("POST /bcl?tenant=a HTTP/1.1\r\n"),
        "{}",
        request.head
    );
    assert_eq!(request.body, format!("logout_token={TOKEN}"));
    let form = request.header("content-type");
    assert_eq!(form, Some("application/x-www-form-urlencoded"));
    assert_eq!(request.header("cache-control"), Some("no-store"));
    let host = format!("127.0.0.1:{}", rp.port());
    assert_eq!(request.header("host"), Some(host.as_str()));
    Ok(())
}

/// DESIGN §5.11: the operator's leave is per client, so per URI, not per host.
#[tokio::test]
async fn leave_for_one_uri_is_not_leave_for_its_host() -> TestResult {
    let mut rp = TestServer::start(Reply::Status(200)).await?;
    let allowed = rp.url("/allowed");
    let sender = BackchannelSender::for_uris(vec![allowed.clone()]);
    sender.send(&logout(&allowed, TOKEN)).await?;
    assert!(rp.request().await.is_some());
    let refused = sender.send(&logout(&rp.url("/other"), TOKEN)).await;
    assert!(
        matches!(refused, Err(SendError::Permanent(_))),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn encodes_the_token_as_form_data() -> TestResult {
    let mut rp = TestServer::start(Reply::Status(204)).await?;
    allowing(&["127.0.0.1"])
        .send(&logout(&rp.url("/bcl"), "a+b/c=d&e f"))
        .await?;
    let request = rp.request().await.ok_or("no request")?;
    assert_eq!(request.body, "logout_token=a%2Bb%2Fc%3Dd%26e+f");
    Ok(())
}

#[tokio::test]
async fn maps_the_relying_partys_answer() -> TestResult {
    let cases = [
        (200, None),
        (204, None),
        (400, Some(false)),
        (302, Some(false)),
        (401, Some(false)),
        (404, Some(false)),
        (429, Some(false)),
        (500, Some(true)),
        (503, Some(true)),
    ];
    for (status, transient) in cases {
        let mut rp = TestServer::start(Reply::Status(status)).await?;
        let sent = allowing(&["127.0.0.1"])
            .send(&logout(&rp.url("/bcl"), TOKEN))
            .await;
        match (transient, &sent) {
            (None, Ok(())) => {}
            (Some(true), Err(e @ SendError::Transient(_)))
            | (Some(false), Err(e @ SendError::Permanent(_))) => assert_secret_kept(e),
            _ => panic!("{status} gave {sent:?}"),
        }
        // A redirect is not followed: the endpoint saw exactly one request.
        assert!(rp.request().await.is_some(), "{status}");
        assert!(rp.received().is_none(), "{status}");
        assert_eq!(rp.connections().await?, 1, "{status}");
    }
    Ok(())
}

#[tokio::test]
async fn a_relying_party_that_does_not_answer_is_transient() -> TestResult {
    let rp = TestServer::start(Reply::Silence).await?;
    let mut sender = allowing(&["127.0.0.1"]);
    sender.total_timeout = Duration::from_millis(300);
    let sent = sender.send(&logout(&rp.url("/bcl"), TOKEN)).await;
    let Err(error @ SendError::Transient(_)) = &sent else {
        panic!("{sent:?}");
    };
    assert_secret_kept(error);
    assert!(error.to_string().contains("in time"), "{error}");
    Ok(())
}

#[tokio::test]
async fn an_unreachable_relying_party_is_transient() -> TestResult {
    // A port just freed on loopback: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let uri = format!("http://127.0.0.1:{port}/bcl");
    let sent = allowing(&["127.0.0.1"]).send(&logout(&uri, TOKEN)).await;
    let Err(error @ SendError::Transient(_)) = &sent else {
        panic!("{sent:?}");
    };
    assert_secret_kept(error);
    Ok(())
}

#[tokio::test]
async fn refuses_a_loopback_host_that_is_not_allowed_without_connecting() -> TestResult {
    let rp = TestServer::start(Reply::Status(200)).await?;
    let port = rp.port();
    let uris = [
        rp.url("/bcl"),
        format!("http://localhost:{port}/bcl"),
        format!("http://[::1]:{port}/bcl"),
        format!("http://[::ffff:127.0.0.1]:{port}/bcl"),
        format!("http://127.0.0.2:{port}/bcl"),
        "http://127.0.0.2/".to_owned(),
    ];
    let sender = allowing(&["rp.example.org", "127.0.0.3"]);
    for uri in &uris {
        let sent = sender.send(&logout(uri, TOKEN)).await;
        let Err(error @ SendError::Permanent(_)) = &sent else {
            panic!("{uri}: {sent:?}");
        };
        assert_secret_kept(error);
    }
    assert_eq!(rp.connections().await?, 0);
    Ok(())
}

#[tokio::test]
async fn refuses_a_host_name_that_resolves_to_loopback_without_connecting() -> TestResult {
    let rp = TestServer::start(Reply::Status(200)).await?;
    let sender = resolving("rp.example.test", &["127.0.0.1"]);
    let uri = format!("http://rp.example.test:{}/bcl", rp.port());
    let sent = sender.send(&logout(&uri, TOKEN)).await;
    assert!(matches!(sent, Err(SendError::Permanent(_))), "{sent:?}");
    assert_eq!(rp.connections().await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_pinned_route_connects_only_to_its_checked_addresses() -> TestResult {
    let mut rp = TestServer::start(Reply::Status(200)).await?;
    let sender = allowing(&[]);
    let route = Route::Pinned {
        host: "rp.example.test".into(),
        addrs: vec![rp.addr()],
    };
    // The name is unknown to DNS: only the pin can lead the request to the endpoint.
    let url = Url::parse(&format!("http://rp.example.test:{}/bcl", rp.port()))?;
    sender.deliver(url, &route, TOKEN).await?;
    let request = rp.request().await.ok_or("no request")?;
    let host = format!("rp.example.test:{}", rp.port());
    assert_eq!(request.header("host"), Some(host.as_str()));

    // Any other name through the same pinned client is not resolved at all.
    let other = Url::parse(&format!("http://localhost:{}/bcl", rp.port()))?;
    let sent = sender.deliver(other, &route, TOKEN).await;
    assert!(matches!(sent, Err(SendError::Transient(_))), "{sent:?}");
    assert_eq!(rp.connections().await?, 1);
    Ok(())
}

#[tokio::test]
async fn refuses_what_it_cannot_send() {
    let sender = allowing(&["127.0.0.1"]);
    for uri in ["not a uri", "ftp://127.0.0.1/bcl", "mailto:rp@example.org"] {
        let sent = sender.send(&logout(uri, TOKEN)).await;
        assert!(
            matches!(sent, Err(SendError::Permanent(_))),
            "{uri}: {sent:?}"
        );
    }
    for to in [
        Recipient::Email("jean@example.org".into()),
        Recipient::Sms("+33612345678".into()),
    ] {
        let message = Message {
            to,
            ..logout("http://127.0.0.1/", TOKEN)
        };
        let sent = sender.send(&message).await;
        assert!(matches!(&sent, Err(SendError::Permanent(r)) if !r.contains("jean")));
    }
}

#[test]
fn debug_shows_the_allowed_hosts_only() {
    let sender = allowing(&["RP.internal"]);
    assert_eq!(
        format!("{sender:?}"),
        r#"BackchannelSender { allowed_hosts: ["rp.internal"] }"#
    );
}
