//! Whether a request's answer time tells a known cohort number from an unknown one
//! (DESIGN §5, issue "abuse limits": equal cost): medians of the login and forgot-password
//! requests for known and unknown numbers against the real server in this process. The
//! anti-robot solution is prepared before each timed request. Run on demand:
//!
//! ```sh
//! cargo bench -p sesame-server --bench timing --profile dev -- 40
//! ```
//!
//! Each round uses fresh numbers so that no counter or throttle changes the path taken.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::time::{Duration, Instant};

use sesame_core::captcha::{Challenge, solve};
use sesame_testkit::rp::Rp;
use sesame_testkit::{Browser, TestServer};

/// The kinds of request compared.
const KINDS: [&str; 5] = [
    "login, known number, wrong password",
    "login, unknown number",
    "forgot, known number, its e-mail",
    "forgot, known number, another e-mail",
    "forgot, unknown number",
];

fn main() {
    let rounds: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let server = TestServer::start().await.unwrap();
        for n in 0..=rounds {
            let (number, email) = known(n);
            server.add_participant(&number, &email).await.unwrap();
        }
        let rp = Rp::discover(&server).await.unwrap();
        // One round to warm caches (the dummy hash, templates, keys).
        round(&server, &rp, 0).await;
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
        for n in 1..=rounds {
            for (kind, took) in round(&server, &rp, n).await.into_iter().enumerate() {
                times[kind].push(took);
            }
        }
        println!("rounds: {rounds} (dev or release profile as run)");
        for (kind, mut samples) in times.into_iter().enumerate() {
            samples.sort();
            let median = samples[samples.len() / 2];
            let low = samples[samples.len() / 4];
            let high = samples[samples.len() * 3 / 4];
            println!(
                "{:<40} median {:>7.2} ms  (quartiles {:.2} – {:.2} ms)",
                KINDS[kind],
                median.as_secs_f64() * 1000.0,
                low.as_secs_f64() * 1000.0,
                high.as_secs_f64() * 1000.0
            );
        }
        server.stop().await;
    });
}

fn known(n: usize) -> (String, String) {
    (
        format!("{:08}", 10_000_000 + n),
        format!("p{n}@example.org"),
    )
}

fn unknown(n: usize) -> String {
    format!("{:08}", 20_000_000 + n)
}

async fn solved(server: &TestServer, number: &str) -> String {
    let url = server.url(&format!("/captcha/challenge?for={number}"));
    let challenge: Challenge = reqwest::get(url).await.unwrap().json().await.unwrap();
    solve(&challenge).unwrap()
}

/// One request of each kind; the time of each POST and its answer page.
async fn round(server: &TestServer, rp: &Rp, n: usize) -> Vec<Duration> {
    let (number, email) = known(n);
    let stranger = unknown(n);
    let mut times = Vec::new();
    for (who, password) in [
        (&number, "Wrong-Password-1!"),
        (&stranger, "Wrong-Password-1!"),
    ] {
        let browser = Browser::new(&server.issuer).unwrap();
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        let altcha = solved(server, who).await;
        let fields = [
            ("number", who.as_str()),
            ("password", password),
            ("altcha", altcha.as_str()),
        ];
        let started = Instant::now();
        let page = browser.submit(&page, "/login", &fields).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    for (who, contact) in [
        (&number, email.clone()),
        (&number, format!("other{n}@example.org")),
        (&stranger, email.clone()),
    ] {
        let browser = Browser::new(&server.issuer).unwrap();
        let page = browser.get(&server.url("/reset")).await.unwrap();
        let altcha = solved(server, who).await;
        let fields = [
            ("number", who.as_str()),
            ("contact", contact.as_str()),
            ("altcha", altcha.as_str()),
        ];
        let started = Instant::now();
        let page = browser.submit(&page, "/reset", &fields).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(page.screen().as_deref(), Some("request-sent"));
    }
    times
}
