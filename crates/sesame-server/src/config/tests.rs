use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef!";

fn base() -> RawConfig {
    let mut raw = RawConfig {
        issuer: Some("https://login.example.org".into()),
        ..Default::default()
    };
    raw.secrets.master_key = Some(KEY.into());
    raw.secrets.cookie_key = Some(KEY.into());
    raw.secrets.captcha_key = Some(KEY.into());
    raw
}

fn client_section() -> raw::ClientSection {
    let mut client = raw::ClientSection::new(
        "rp",
        Some("a-long-enough-secret"),
        vec!["https://rp.example/cb".into()],
    );
    client.scopes = vec!["email".into()];
    client
}

fn error_of(raw: RawConfig) -> String {
    validate(raw).err().map(|e| e.0).unwrap_or_default()
}

#[test]
fn defaults_with_secrets_validate() {
    let config = validate(base());
    assert!(
        config.is_ok_and(|c| c.policy.password.max_length == 30 && c.listen == "127.0.0.1:8080")
    );
}

#[test]
fn missing_secret_is_named() {
    let mut raw = base();
    raw.secrets.master_key = None;
    assert!(error_of(raw).contains("secrets.master_key is required"));
}

#[test]
fn short_secret_is_refused() {
    let mut raw = base();
    raw.secrets.cookie_key = Some("short".into());
    assert!(error_of(raw).contains("at least 32 characters"));
}

#[test]
fn secret_file_is_read_and_trimmed() {
    let dir = std::env::temp_dir().join(format!("sesame-cfg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("master");
    let _ = std::fs::write(&path, format!("{KEY}\n"));
    let mut raw = base();
    raw.secrets.master_key = None;
    raw.secrets.master_key_file = Some(path);
    assert!(validate(raw).is_ok_and(|c| c.master_key.expose() == KEY));
}

#[test]
fn unreadable_secret_file_is_named() {
    let mut raw = base();
    raw.secrets.master_key = None;
    raw.secrets.master_key_file = Some("/nonexistent/master".into());
    assert!(error_of(raw).starts_with("secrets.master_key_file: cannot read /nonexistent/master"));
}

#[test]
fn issuer_must_be_https_off_loopback() {
    let mut raw = base();
    raw.issuer = Some("http://login.example.org".into());
    assert!(error_of(raw).contains("issuer must be https"));
    let mut raw = base();
    raw.issuer = Some("http://127.0.0.1:8080/".into());
    assert!(validate(raw).is_ok_and(|c| c.issuer.as_str() == "http://127.0.0.1:8080/"));
}

#[test]
fn clients_are_checked() {
    let mut raw = base();
    raw.clients = vec![client_section(), client_section()];
    assert!(error_of(raw).contains("declared twice"));
    let mut raw = base();
    let mut c = client_section();
    c.redirect_uris = vec!["http://rp.example/cb".into()];
    raw.clients = vec![c];
    assert!(error_of(raw).contains("must be https"));
    let mut raw = base();
    let mut c = client_section();
    c.token_endpoint_auth_method = "none".into();
    raw.clients = vec![c];
    assert!(error_of(raw).contains("public client"));
    let mut raw = base();
    let mut c = client_section();
    c.scopes = vec!["admin".into()];
    raw.clients = vec![c];
    assert!(error_of(raw).contains("unknown scope admin"));
}

#[test]
fn file_client_secret_is_kept_as_digest() {
    let mut raw = base();
    raw.clients = vec![client_section()];
    let config = validate(raw);
    let ok = config.is_ok_and(|c| {
        c.clients[0]
            .secret
            .as_ref()
            .is_some_and(|d| d.matches("a-long-enough-secret"))
    });
    assert!(ok);
}

#[test]
fn toml_unknown_key_is_named() {
    let dir = std::env::temp_dir().join(format!("sesame-cfg-unknown-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("sesame.toml");
    let _ = std::fs::write(
        &path,
        "issuer = \"https://x.example\"\n[http]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n",
    );
    let err = read_raw(Some(&path), RawConfig::default())
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(err.contains("lisen"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn missing_file_is_named() {
    let err = read_raw(
        Some(Path::new("/nonexistent/sesame.toml")),
        RawConfig::default(),
    );
    assert_eq!(
        err.err().map(|e| e.0),
        Some("config file /nonexistent/sesame.toml not found".into())
    );
}

#[test]
fn bad_duration_is_named() {
    let mut raw = base();
    raw.policy.code.ttl = "ten minutes".into();
    assert!(error_of(raw).starts_with("policy.code.ttl:"));
}

/// STYLE: the README's configuration reference is checked against the code.
#[test]
fn readme_reference_lists_every_key() {
    let readme = include_str!("../../../../README.md");
    let start = readme.find("<!-- config-reference:start -->").unwrap();
    let end = readme.find("<!-- config-reference:end -->").unwrap();
    let block = &readme[start..end];
    let defaults = serde_json::to_value(RawConfig::default()).unwrap();
    let mut missing = Vec::new();
    walk("", &defaults, &mut |section, key| {
        let header = if section.is_empty() {
            String::new()
        } else {
            format!("[{section}]")
        };
        let in_section = block
            .find(&header)
            .map(|at| &block[at..])
            .unwrap_or_default();
        let base = key.trim_end_matches("_file");
        let named = in_section
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{key} =")))
            || (key.ends_with("_file") && in_section.contains(&format!("or {key}")))
            || (key.ends_with("_file") && in_section.contains(&format!("{base}_file")));
        if !named {
            missing.push(format!("{section}.{key}"));
        }
    });
    assert!(missing.is_empty(), "README lacks {missing:?}");
    let stale: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim()))
        .filter(|k| !k.starts_with('#') && !k.is_empty())
        .filter(|k| {
            !serde_json::to_string(&defaults)
                .unwrap()
                .contains(&format!("\"{k}\""))
        })
        .filter(|k| !CLIENT_KEYS.contains(k))
        .collect();
    assert!(stale.is_empty(), "README names unknown keys {stale:?}");
}

const CLIENT_KEYS: &[&str] = &[
    "refresh_tokens",
    "client_credentials",
    "subject_type",
    "sector",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "backchannel_logout_allow_private",
    "required_actions",
    "id",
    "name",
    "secret",
    "redirect_uris",
    "post_logout_redirect_uris",
    "token_endpoint_auth_method",
    "application_type",
    "scopes",
    "id_token_signed_response_alg",
    "minimum_acr",
    "theme",
    "home_url",
];

fn walk(section: &str, value: &serde_json::Value, found: &mut dyn FnMut(&str, &str)) {
    let Some(map) = value.as_object() else { return };
    for (key, inner) in map {
        if inner.is_object() {
            let path = if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            };
            walk(&path, inner, found);
        } else if key != "clients" {
            found(section, key);
        }
    }
}

#[test]
fn readme_client_keys_are_the_code_s() {
    let section: raw::ClientSection =
        serde_json::from_value(serde_json::json!({"id": "x", "redirect_uris": []})).unwrap();
    let value = serde_json::to_value(section).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "secret_file")
        .collect();
    keys.sort_unstable();
    let mut expected = CLIENT_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn limits_are_rates() {
    let mut raw = base();
    raw.policy.limits.per_account = "3/1h".into();
    let rate = validate(raw).map(|c| c.policy.limits.per_account);
    assert_eq!(
        rate.map(|r| (r.max, r.window)),
        Ok((3, chrono::Duration::hours(1)))
    );
    for bad in ["3", "0/1h", "x/1h", "3/forever"] {
        let mut raw = base();
        raw.policy.limits.per_account = bad.into();
        assert!(
            error_of(raw).starts_with("policy.limits.per_account"),
            "{bad}"
        );
    }
}

#[test]
fn every_limit_is_read_and_checked() {
    let mut raw = base();
    raw.policy.limits.per_ip = "7/10m".into();
    raw.policy.limits.per_phone = "4/1d".into();
    let limits = validate(raw).map(|c| c.policy.limits);
    assert_eq!(
        limits.map(|l| (l.per_ip.max, l.per_phone.max, l.per_phone.window)),
        Ok((7, 4, chrono::Duration::days(1)))
    );
    let mut raw = base();
    raw.policy.limits.per_phone = "many/1d".into();
    assert!(error_of(raw).starts_with("policy.limits.per_phone"));
}

#[test]
fn trusted_proxies_are_cidrs_or_addresses() {
    let mut raw = base();
    raw.http.trusted_proxies = vec!["10.0.0.0/8".into(), "192.0.2.1".into(), "fd00::/8".into()];
    let nets = validate(raw).map(|c| c.trusted_proxies.len());
    assert_eq!(nets, Ok(3));
    let mut raw = base();
    raw.http.trusted_proxies = vec!["10.0.0.0/33".into()];
    assert_eq!(
        error_of(raw),
        "http.trusted_proxies: \"10.0.0.0/33\" is not a CIDR"
    );
}

#[test]
fn pairwise_sector_defaults_to_the_redirect_host() {
    let mut raw = base();
    let mut c = client_section();
    c.subject_type = "pairwise".into();
    raw.clients = vec![c.clone()];
    let subject = validate(raw).map(|cfg| cfg.clients[0].subject.clone());
    assert_eq!(
        subject,
        Ok(SubjectType::Pairwise {
            sector: "rp.example".into()
        })
    );
    c.redirect_uris.push("https://other.example/cb".into());
    let mut raw = base();
    raw.clients = vec![c];
    assert!(error_of(raw).contains("sector"));
}

#[test]
fn offline_access_needs_refresh_tokens() {
    let mut raw = base();
    let mut c = client_section();
    c.scopes.push("offline_access".into());
    raw.clients = vec![c];
    assert!(error_of(raw).contains("offline_access needs refresh_tokens"));
}

#[test]
fn a_client_cannot_ask_for_a_new_password_at_every_login() {
    let mut raw = base();
    let mut c = client_section();
    c.required_actions = vec!["update-password".into()];
    raw.clients = vec![c];
    assert!(error_of(raw).contains("update-password is asked of participants"));
}

#[test]
fn the_conformance_profile_needs_https_a_pwd_client_and_a_number() {
    let turned_on = |issuer: &str, minimum: &str| {
        let mut raw = base();
        raw.issuer = Some(issuer.into());
        let mut c = client_section();
        c.minimum_acr = minimum.into();
        raw.certification.client = Some(c.id.clone());
        raw.clients = vec![c];
        raw.certification
            .insecure_no_captcha_no_code_for_conformance_suite = true;
        raw.certification.participant = Some("99999999".into());
        raw
    };
    assert!(
        error_of(turned_on("http://127.0.0.1:8080", "pwd"))
            .contains("refused, the issuer is not https")
    );
    assert!(error_of(turned_on("https://id.example", "mfa")).contains("minimum_acr = \"pwd\""));
    let on =
        validate(turned_on("https://id.example", "pwd")).map(|c| c.policy.conformance.is_some());
    assert_eq!(on, Ok(true));
    let mut bad_number = turned_on("https://id.example", "pwd");
    bad_number.certification.participant = Some("1234".into());
    assert!(error_of(bad_number).starts_with("certification.participant"));
    assert_eq!(
        validate(base()).map(|c| c.policy.conformance.is_none()),
        Ok(true)
    );
}
