//! The cost of one full login ceremony (password, code by e-mail, code exchange, userinfo)
//! against the real server in this process: CPU time of the whole process per ceremony,
//! wall time, and the argon2 parameters in force. Run on demand:
//!
//! ```sh
//! cargo bench -p sesame-server --bench ceremony -- 20
//! ```
//!
//! The figure includes the RP side (`openidconnect`), the SMTP listener and the HTML
//! parsing of the test browser, so it is an upper bound of the provider's own cost.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::Instant;

use sesame_testkit::rp::{self, Rp, param};
use sesame_testkit::{Browser, TestServer};

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5) (utime, stime) are the 12th and 13th after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    let rounds: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let server = TestServer::start().await.unwrap();
        for n in 0..rounds {
            server
                .add_participant(
                    &format!("{:08}", 10_000_000 + n),
                    &format!("p{n}@example.org"),
                )
                .await
                .unwrap();
        }
        let rp = Rp::discover(&server).await.unwrap();
        // One ceremony to warm caches (the dummy hash, templates, keys).
        ceremony(&server, &rp, 0).await;
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        for n in 1..rounds {
            ceremony(&server, &rp, n).await;
        }
        let count = (rounds - 1).max(1) as f64;
        let cpu = (cpu_seconds() - cpu0) / count;
        let wall = wall0.elapsed().as_secs_f64() / count;
        let password = sesame_core::SecretString::new("Bench-Password-1!");
        let hash = sesame_core::password::hash(&password).unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            sesame_core::password::verify(&password, &hash);
        }
        let argon = t0.elapsed().as_secs_f64() / 5.0;
        println!(
            "argon2id m=19456 KiB, t=2, p=1: {:.1} ms per verification (one per ceremony)",
            argon * 1000.0
        );
        println!("ceremonies: {}", rounds - 1);
        println!(
            "CPU per ceremony: {:.1} ms (whole process: provider, RP, SMTP listener, browser)",
            cpu * 1000.0
        );
        println!("wall per ceremony: {:.1} ms", wall * 1000.0);
        server.stop().await;
    });
}

async fn ceremony(server: &TestServer, rp: &Rp, n: usize) {
    let browser = Browser::new(&server.issuer).unwrap();
    let pending = rp.start(&["email"]);
    let number = format!("{:08}", 10_000_000 + n);
    let back = rp::login(
        server,
        &browser,
        &pending.url,
        &number,
        &format!("p{n}@example.org"),
    )
    .await
    .unwrap();
    rp.finish(&param(&back, "code").unwrap(), pending)
        .await
        .unwrap();
}
