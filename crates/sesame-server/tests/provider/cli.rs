//! The binary's start-up failures and administrative commands, run as a person would.

use std::io::Write as _;
use std::process::{Command, Output};

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
            "issuer = \"http://{listen}\"\n[http]\nlisten = \"{listen}\"\n[database]\nurl = \"{database}\"\n[secrets]\nmaster_key = \"{KEY}\"\ncookie_key = \"{KEY}\"\n"
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
