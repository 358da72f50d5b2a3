//! The binary's start-up failures and administrative commands, run as a person would.

use std::io::Write as _;
use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use sesame_core::CohortNumber;
use sesame_core::audit::{AuditEvent, AuditKind};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{AuditStore, OutboxStore, ParticipantStore};
use sesame_store::SeaStore;

const BIN: &str = env!("CARGO_BIN_EXE_sesame");
const KEY: &str = "0123456789abcdef0123456789abcdef-key";

fn sesame(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("SESAME_CONFIG")
        .env("RUST_LOG", "off");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the binary runs")
}

/// Asserts a failure with exactly one line on stderr containing `needle`.
fn fails_with(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn config_file(dir: &tempfile::TempDir, body: &str) -> String {
    let path = dir.path().join("sesame.toml");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(body.as_bytes()))
        .expect("config written");
    path.display().to_string()
}

fn good_config(dir: &tempfile::TempDir, listen: &str, database: &str) -> String {
    config_file(
        dir,
        &format!(
            "issuer = \"http://{listen}\"\n[http]\nlisten = \"{listen}\"\n[database]\nurl = \"{database}\"\n[secrets]\nmaster_key = \"{KEY}\"\ncookie_key = \"{KEY}\"\ncaptcha_key = \"{KEY}\"\n"
        ),
    )
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display())
}

#[test]
fn missing_config_file() {
    fails_with(
        &sesame(&["serve", "--config", "/nonexistent/sesame.toml"], &[]),
        "config file /nonexistent/sesame.toml not found",
    );
}

#[test]
fn config_file_from_the_environment() {
    let out = sesame(&["serve"], &[("SESAME_CONFIG", "/nonexistent/other.toml")]);
    fails_with(&out, "/nonexistent/other.toml");
}

#[test]
fn missing_secret() {
    let dir = tempfile::tempdir().expect("dir");
    let file = config_file(&dir, "issuer = \"http://127.0.0.1:1\"\n");
    fails_with(
        &sesame(&["serve", "--config", &file], &[]),
        "secrets.master_key is required",
    );
}

#[test]
fn unknown_key_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let file = config_file(
        &dir,
        "issuer = \"http://127.0.0.1:1\"\n[http]\nlistne = \"x\"\n",
    );
    fails_with(&sesame(&["serve", "--config", &file], &[]), "listne");
}

#[test]
fn unknown_environment_variable_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    fails_with(
        &sesame(
            &["serve", "--config", &file],
            &[("SESAME_HTTP__LISTNE", "x")],
        ),
        "listne",
    );
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let out = sesame(
        &["serve", "--config", &file],
        &[("SESAME_SECRETS__MASTER_KEY", "short")],
    );
    fails_with(&out, "secrets.master_key must have at least 32 characters");
}

#[test]
fn unreachable_database() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:0", "postgres://sesame@127.0.0.1:1/nothing");
    fails_with(&sesame(&["serve", "--config", &file], &[]), "database");
}

#[test]
fn port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, &addr, &sqlite(&dir));
    fails_with(
        &sesame(&["serve", "--config", &file], &[]),
        "already in use",
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["demo", "--help"],
        &["user", "import", "--help"],
        &["client", "add", "--help"],
        &["audit", "list", "--help"],
    ] {
        let out = sesame(args, &[]);
        assert!(out.status.success(), "{args:?}");
    }
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H1Ss0DjbRIGdbIblgyg2NRT5Bnd+kNCQ2Hr/CfBAxgA";

#[test]
fn user_import_reports_bad_lines_and_updates_existing_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let lines = [
        format!("{{\"number\": \"00000001\", \"email\": \"a@example.org\", \"password_hash\": \"{HASH}\"}}"),
        "{\"number\": 2}".to_owned(),
        "{\"number\": \"00000003\", \"password\": \"Plain-Password-1\", \"required_actions\": [\"update-password\"]}".to_owned(),
        "not json".to_owned(),
        "{\"number\": \"00000004\"}".to_owned(),
    ];
    let input = dir.path().join("users.jsonl");
    std::fs::write(&input, lines.join("\n")).expect("input");
    let out = sesame(
        &[
            "user",
            "import",
            input.to_str().expect("path"),
            "--config",
            &file,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("3 created, 0 updated, 2 refused"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 2:") && stderr.contains("line 4:"),
        "{stderr}"
    );
    assert!(!stderr.contains("Plain-Password-1"));
    std::fs::write(&input, lines[0].replace("a@example.org", "b@example.org")).expect("input");
    let out = sesame(
        &[
            "user",
            "import",
            input.to_str().expect("path"),
            "--config",
            &file,
        ],
        &[],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 created, 1 updated, 0 refused"));
}

#[test]
fn user_import_commits_in_batches() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let mut text = String::new();
    for n in 0..2500 {
        text.push_str(&format!("{{\"number\": \"{:08}\", \"email\": \"p{n}@example.org\", \"password_hash\": \"{HASH}\"}}\n", 10_000_000 + n));
    }
    text.push_str("{\"number\": \"10000000\"}\n");
    let input = dir.path().join("many.jsonl");
    std::fs::write(&input, text).expect("input");
    let out = sesame(
        &[
            "user",
            "import",
            input.to_str().expect("path"),
            "--config",
            &file,
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2500 created, 0 updated, 1 refused"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2501: number already given on line 1")
    );
}

#[test]
fn client_commands_round_trip() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let add = sesame(
        &[
            "client",
            "add",
            "--id",
            "app",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "email",
            "--config",
            &file,
        ],
        &[],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(String::from_utf8_lossy(&add.stdout).contains("client_secret: "));
    let again = sesame(
        &[
            "client",
            "add",
            "--id",
            "app",
            "--redirect-uri",
            "https://app.example/cb",
            "--config",
            &file,
        ],
        &[],
    );
    fails_with(&again, "already exists");
    let bad = sesame(
        &[
            "client",
            "add",
            "--id",
            "x",
            "--redirect-uri",
            "http://app.example/cb",
            "--config",
            &file,
        ],
        &[],
    );
    fails_with(&bad, "must be https");
    let offline = sesame(
        &[
            "client",
            "add",
            "--id",
            "y",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "offline_access",
            "--config",
            &file,
        ],
        &[],
    );
    fails_with(&offline, "offline_access needs --refresh-tokens");
    let list = sesame(&["client", "list", "--config", &file], &[]);
    assert!(String::from_utf8_lossy(&list.stdout).starts_with("app\tclient_secret_basic"));
    assert!(
        sesame(&["client", "remove", "app", "--config", &file], &[])
            .status
            .success()
    );
    fails_with(
        &sesame(&["client", "remove", "app", "--config", &file], &[]),
        "no client app",
    );
}

#[test]
fn user_import_survives_bad_bytes_and_shapes() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let mut bytes = b"{\"number\": \"00000001\"}\n".to_vec();
    bytes.extend_from_slice(b"{\"number\": \"\xff\xfe\"}\n[1,2,3]\n{\"number\": \"00000002\", \"locale\": \"<script>\"}\n{\"number\": \"00000003\"}\r\n");
    let input = dir.path().join("bad.jsonl");
    std::fs::write(&input, bytes).expect("input");
    let out = sesame(
        &[
            "user",
            "import",
            input.to_str().expect("path"),
            "--config",
            &file,
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("2 created, 0 updated, 3 refused"),
        "{stdout} {stderr}"
    );
    assert!(stderr.contains("line 2: not valid UTF-8"), "{stderr}");
    assert!(
        stderr.contains("line 3: each line must be a JSON object"),
        "{stderr}"
    );
    assert!(stderr.contains("line 4: locale"), "{stderr}");
    fails_with(
        &sesame(&["user", "import", "/tmp", "--config", &file], &[]),
        "/tmp is not a readable file",
    );
}

#[test]
fn config_path_that_is_a_directory() {
    fails_with(
        &sesame(&["serve", "--config", "/tmp"], &[]),
        "config file /tmp is not a file",
    );
}

#[test]
fn huge_duration_is_a_message_not_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:0", &sqlite(&dir));
    let out = sesame(
        &["serve", "--config", &file],
        &[("SESAME_POLICY__CODE__TTL", "99999999999999d")],
    );
    fails_with(&out, "policy.code.ttl");
}

/// The `sesame audit list` fixture: its configuration file and the lines of the events it
/// recorded, as `--format lines` prints them, newest first.
struct AuditTrail {
    config: String,
    lines: Vec<String>,
}

/// Two participants imported (00000001 and 00000002), a client added, an action required
/// of the first, and an old login of the second recorded straight into the store.
fn audit_trail(dir: &tempfile::TempDir) -> AuditTrail {
    let database = sqlite(dir);
    let config = good_config(dir, "127.0.0.1:1", &database);
    let input = dir.path().join("two.jsonl");
    let two: Vec<String> = ["00000001", "00000002"]
        .iter()
        .map(|n| {
            let record = serde_json::json!({
                "number": n,
                "email": format!("p{n}@example.org"),
                "password_hash": HASH,
            });
            record.to_string()
        })
        .collect();
    std::fs::write(&input, two.join("\n")).expect("input");
    let steps: [&[&str]; 3] = [
        &["user", "import", input.to_str().expect("path")],
        &[
            "client",
            "add",
            "--id",
            "app",
            "--redirect-uri",
            "https://app.example/cb",
        ],
        &["user", "require", "update-password", "00000001"],
    ];
    for step in steps {
        let out = sesame(&[step, &["--config", &config]].concat(), &[]);
        assert!(out.status.success(), "{step:?}: {out:?}");
    }
    let (first, second) = record_old_login(&database);
    let lines = vec![
        format!(r#"action_required  participant={first}  {{"action":"update-password"}}"#),
        "client_created  client=app  {}".to_owned(),
        r#"participant_imported  {"created":2,"updated":0,"refused":0}"#.to_owned(),
        format!(
            "2020-01-02T12:00:00Z  login_succeeded  participant={second}  client=app  {}",
            r#"{"acr":"mfa"}"#
        ),
    ];
    AuditTrail { config, lines }
}

/// Records a login of 00000002 on 2 January 2020; returns both participants' ids.
fn record_old_login(database: &str) -> (ParticipantId, ParticipantId) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = SeaStore::connect(database).await.expect("store");
        let mut ids = Vec::new();
        for number in ["00000001", "00000002"] {
            let number = CohortNumber::parse(number).expect("number");
            let found = store.by_number(&number).await.expect("read");
            ids.push(found.expect("imported").id);
        }
        let event = AuditEvent {
            at: Utc.with_ymd_and_hms(2020, 1, 2, 12, 0, 0).unwrap(),
            kind: AuditKind::LoginSucceeded,
            participant: Some(ids[1]),
            client_id: Some("app".into()),
            ip: None,
            detail: serde_json::json!({"acr": "mfa"}),
        };
        store.record(&event).await.expect("recorded");
        store.close().await;
        (ids[0], ids[1])
    })
}

impl AuditTrail {
    /// The lines `sesame audit list ARGS` prints, after checking that it succeeded.
    fn list(&self, args: &[&str]) -> Vec<String> {
        let out = sesame(
            &[&["audit", "list", "--config", &self.config][..], args].concat(),
            &[],
        );
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The events of `list(args)`, by their index in `self.lines`.
    fn indexes(&self, args: &[&str]) -> Vec<usize> {
        self.list(args)
            .iter()
            .map(|line| {
                let index = self.lines.iter().position(|l| line.ends_with(l.as_str()));
                assert!(index.is_some(), "unexpected line {line}");
                index.unwrap_or_default()
            })
            .collect()
    }
}

#[test]
fn audit_list_prints_readable_lines_newest_first() {
    let dir = tempfile::tempdir().expect("dir");
    let trail = audit_trail(&dir);
    let lines = trail.list(&[]);
    assert_eq!(lines.len(), 4, "{lines:?}");
    for (line, expected) in lines.iter().zip(&trail.lines).take(3) {
        let (at, rest) = line.split_once("  ").expect("fields");
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{line}");
        // To the second, in UTC: `2026-12-04T17:00:00Z`.
        assert!(at.len() == 20 && at.ends_with('Z'), "{line}");
        assert_eq!(rest, expected);
    }
    assert_eq!(lines[3], trail.lines[3]);
    assert_eq!(trail.indexes(&["--format", "lines"]), [0, 1, 2, 3]);
}

#[test]
fn audit_list_prints_json_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let trail = audit_trail(&dir);
    let lines = trail.list(&["--format", "json", "--participant", "00000002"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let event: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON");
    assert_eq!(event["kind"], "login_succeeded");
    assert_eq!(event["client_id"], "app");
    assert_eq!(event["detail"], serde_json::json!({"acr": "mfa"}));
    assert!(trail.lines[3].contains(event["participant"].as_str().expect("id")));
    let at = event["at"].as_str().expect("at");
    assert!(at.starts_with("2020-01-02T12:00:00"), "{at}");
    let all = trail.list(&["--format", "json"]);
    let kinds: Vec<String> = all
        .iter()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("JSON");
            event["kind"].as_str().expect("kind").to_owned()
        })
        .collect();
    let expected = [
        "action_required",
        "client_created",
        "participant_imported",
        "login_succeeded",
    ];
    assert_eq!(kinds, expected);
}

/// No event at all.
const NONE: [usize; 0] = [];

#[test]
fn audit_list_filters_by_participant_time_kind_and_count() {
    let dir = tempfile::tempdir().expect("dir");
    let trail = audit_trail(&dir);
    assert_eq!(trail.indexes(&["--participant", "00000001"]), [0]);
    assert_eq!(trail.indexes(&["--participant", "0000 0002"]), [3]);
    assert!(trail.list(&["--participant", "00000009"]).is_empty());
    assert_eq!(trail.indexes(&["--since", "1h"]), [0, 1, 2]);
    assert_eq!(trail.indexes(&["--until", "7d"]), [3]);
    let day = ["--since", "2020-01-02", "--until", "2020-01-03"];
    assert_eq!(trail.indexes(&day), [3]);
    assert_eq!(
        trail.indexes(&["--since", "2020-01-02T12:00:00Z"]),
        [0, 1, 2, 3]
    );
    // 13:00 in Paris is the old login's instant: `--until` leaves it out.
    let before = ["--until", "2020-01-02T13:00:00+01:00"];
    assert_eq!(trail.indexes(&before), NONE);
    let kinds = ["--kind", "client_created", "--kind", "login_succeeded"];
    assert_eq!(trail.indexes(&kinds), [1, 3]);
    assert_eq!(trail.indexes(&["--limit", "2"]), [0, 1]);
    let both = ["--participant", "00000002", "--kind", "action_required"];
    assert_eq!(trail.indexes(&both), NONE);
}

#[test]
fn audit_list_refuses_bad_values_in_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    let file = good_config(&dir, "127.0.0.1:1", &sqlite(&dir));
    let cases: [(&[&str], &str); 9] = [
        (
            &["--participant", "123"],
            "--participant must have 8 digits",
        ),
        (
            &["--since", "yesterday"],
            "--since: \"yesterday\" is not a time",
        ),
        (
            &["--until", "2026-02-30"],
            "--until: \"2026-02-30\" is not a time",
        ),
        (&["--since", "3651d"], "--since: \"3651d\" is out of range"),
        (
            &["--since", "1h", "--until", "2h"],
            "--since must be earlier than --until",
        ),
        (&["--kind", "login"], "--kind: unknown event kind \"login\""),
        (
            &["--limit", "0"],
            "--limit must be a whole number from 1 to",
        ),
        (&["--limit", "many"], "--limit must be a whole number"),
        (&["--format", "yaml"], "--format must be lines or json"),
    ];
    for (args, needle) in cases {
        let out = sesame(
            &[&["audit", "list", "--config", &file][..], args].concat(),
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        fails_with(&out, needle);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// README: `sesame demo` runs the provider and the questionnaire site on embedded defaults.
#[test]
fn the_demo_starts_both_sites() {
    let dir = tempfile::tempdir().expect("dir");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let port = if port >= 65534 { port - 2 } else { port };
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--data",
            dir.path().to_str().expect("path"),
            "--port",
            &port.to_string(),
        ])
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("demo starts");
    let rp = format!("http://127.0.0.1:{}/", port + 1);
    let discovery = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
    let mut ok = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let answers = |url: &str| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            runtime.block_on(async {
                reqwest::get(url)
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        };
        if answers(&discovery) == 200 && answers(&rp) == 200 {
            ok = true;
            break;
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    assert!(ok, "both sites answer");
    let banner = String::from_utf8_lossy(&output.stdout);
    assert!(
        banner.contains("12345678") && banner.contains("87654321"),
        "{banner}"
    );
}

#[test]
fn user_invite_all_pending_queues_a_link_for_each_participant_without_a_password() {
    let dir = tempfile::tempdir().expect("dir");
    let database = sqlite(&dir);
    let file = good_config(&dir, "127.0.0.1:1", &database);
    let lines = [
        format!(
            "{{\"number\": \"00000001\", \"email\": \"a@example.org\", \"password_hash\": \"{HASH}\"}}"
        ),
        "{\"number\": \"00000002\", \"email\": \"b@example.org\"}".to_owned(),
        "{\"number\": \"00000003\"}".to_owned(),
        "{\"number\": \"00000004\", \"email\": \"d@example.org\"}".to_owned(),
    ];
    let input = dir.path().join("users.jsonl");
    std::fs::write(&input, lines.join("\n")).expect("input");
    let path = input.to_str().expect("path");
    assert!(
        sesame(&["user", "import", path, "--config", &file], &[])
            .status
            .success()
    );

    let both = sesame(
        &[
            "user",
            "invite",
            "00000002",
            "--all-pending",
            "--config",
            &file,
        ],
        &[],
    );
    assert!(
        !both.status.success(),
        "a number or --all-pending, not both"
    );
    let out = sesame(&["user", "invite", "--all-pending", "--config", &file], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 activation links queued, 1 participants without an e-mail skipped"),
        "{stdout}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let queued = runtime.block_on(async {
        let store = SeaStore::connect(&database).await.expect("store");
        let due = store.due(Utc::now(), 10).await.expect("outbox");
        let mut to: Vec<String> = due
            .into_iter()
            .map(|entry| match entry.message.to {
                sesame_core::notify::Recipient::Email(address) => address,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        to.sort();
        to
    });
    assert_eq!(queued, ["b@example.org", "d@example.org"]);
}
