use super::*;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", "rp"),
        ("redirect_uri", "https://rp.example/cb"),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "s1"),
    ]
}

fn with(extra: &[(&'static str, &'static str)]) -> RawAuthorizationRequest {
    let mut list = base();
    for (k, v) in extra {
        list.retain(|(n, _)| n != k);
        list.push((k, v));
    }
    RawAuthorizationRequest::from_pairs(&pairs(&list)).unwrap_or_default()
}

fn run(
    raw: &RawAuthorizationRequest,
    public: bool,
    native: bool,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let uris = vec![
        "https://rp.example/cb".to_owned(),
        "http://127.0.0.1:7000/cb".to_owned(),
    ];
    let scopes = vec!["email".to_owned()];
    validate(
        raw,
        Some(ClientView {
            redirect_uris: &uris,
            public,
            native,
            scopes: &scopes,
        }),
    )
}

fn redirect_code(r: Result<AuthorizationRequest, AuthorizeError>) -> Option<Code> {
    match r {
        Err(AuthorizeError::Redirect { error, .. }) => Some(error.error),
        _ => None,
    }
}

#[test]
fn valid_request_keeps_known_scopes() {
    let req = run(&with(&[]), false, false);
    assert_eq!(
        req.map(|r| r.scopes),
        Ok(vec!["openid".to_owned(), "email".to_owned()])
    );
}

#[test]
fn rfc6749_3_1_duplicate_parameter_is_refused() {
    let list = pairs(&[("state", "a"), ("state", "b")]);
    assert_eq!(
        RawAuthorizationRequest::from_pairs(&list),
        Err(DuplicateParameter("state".into()))
    );
}

#[test]
fn rfc6749_4_1_2_1_unknown_client_is_a_page() {
    let raw = with(&[]);
    assert_eq!(
        validate(&raw, None),
        Err(AuthorizeError::Page(PageError::UnknownClient))
    );
}

#[test]
fn rfc6749_4_1_2_1_altered_redirect_uri_is_a_page() {
    for uri in [
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
        "https://evil.example/cb",
    ] {
        let raw = with(&[("redirect_uri", uri)]);
        assert_eq!(
            run(&raw, false, false),
            Err(AuthorizeError::Page(PageError::RedirectUriMismatch))
        );
    }
}

#[test]
fn rfc8252_7_3_loopback_port_is_free_for_native_clients_only() {
    let raw = with(&[
        ("redirect_uri", "http://127.0.0.1:9999/cb"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    assert!(run(&raw, true, true).is_ok());
    assert_eq!(
        run(&raw, true, false),
        Err(AuthorizeError::Page(PageError::RedirectUriMismatch))
    );
}

#[test]
fn missing_response_type_is_invalid_request() {
    let mut list = base();
    list.retain(|(k, _)| *k != "response_type");
    let raw = RawAuthorizationRequest::from_pairs(&pairs(&list)).unwrap_or_default();
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidRequest)
    );
}

#[test]
fn token_response_type_is_unsupported() {
    let raw = with(&[("response_type", "token")]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::UnsupportedResponseType)
    );
}

#[test]
fn rfc9700_2_1_1_public_client_without_pkce_is_refused() {
    assert_eq!(
        redirect_code(run(&with(&[]), true, false)),
        Some(Code::InvalidRequest)
    );
}

#[test]
fn rfc7636_plain_is_refused() {
    let raw = with(&[
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "plain"),
    ]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidRequest)
    );
}

#[test]
fn oidc_core_3_1_2_1_prompt_none_alone() {
    let raw = with(&[("prompt", "none login")]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidRequest)
    );
    let ok = run(&with(&[("prompt", "none")]), false, false);
    assert!(ok.is_ok_and(|r| r.prompt.none));
}

#[test]
fn oidc_core_3_1_2_1_openid_scope_is_required() {
    let raw = with(&[("scope", "email")]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidScope)
    );
}

#[test]
fn request_objects_are_not_supported() {
    let raw = with(&[("request", "eyJ.x.y")]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::RequestNotSupported)
    );
}

#[test]
fn login_hint_is_kept_only_for_a_cohort_number() {
    let kept = run(&with(&[("login_hint", "12345678")]), false, false);
    assert_eq!(kept.map(|r| r.login_hint), Ok(Some("12345678".into())));
    let dropped = run(&with(&[("login_hint", "<script>")]), false, false);
    assert_eq!(dropped.map(|r| r.login_hint), Ok(None));
}

#[test]
fn bad_max_age_is_invalid_request() {
    let raw = with(&[("max_age", "-1")]);
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidRequest)
    );
}

#[test]
fn redirect_keeps_registered_query() {
    let url = redirect_with(
        "https://rp.example/cb?a=1",
        &[("code", "x y"), ("state", "s")],
    );
    assert_eq!(url, "https://rp.example/cb?a=1&code=x+y&state=s");
}

#[test]
fn rfc8252_7_3_loopback_must_be_written_as_registered() {
    for uri in [
        "http://127.1:5555/cb",
        "http://0x7f.0.0.1:5555/cb",
        "http://2130706433:5555/cb",
        "http://127.0.0.1:5555/x/../cb",
    ] {
        let raw = with(&[
            ("redirect_uri", uri),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        assert_eq!(
            run(&raw, true, true),
            Err(AuthorizeError::Page(PageError::RedirectUriMismatch)),
            "{uri}"
        );
    }
}

#[test]
fn overlong_state_is_refused_to_keep_the_sealed_request_small() {
    let long = "s".repeat(MAX_STATE_LENGTH + 1);
    let raw = RawAuthorizationRequest::from_pairs(&pairs(&[
        ("client_id", "rp"),
        ("redirect_uri", "https://rp.example/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", &long),
    ]))
    .unwrap_or_default();
    assert_eq!(
        redirect_code(run(&raw, false, false)),
        Some(Code::InvalidRequest)
    );
}

#[test]
fn redirect_without_parameters_is_the_registered_uri() {
    assert_eq!(
        redirect_with("https://rp.example/logged-out", &[]),
        "https://rp.example/logged-out"
    );
    assert_eq!(
        redirect_with("https://rp.example/cb?x=1", &[("state", "s")]),
        "https://rp.example/cb?x=1&state=s"
    );
}
