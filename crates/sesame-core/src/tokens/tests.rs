use super::*;
use crate::acr::Acr;
use crate::client::{ApplicationType, AuthMethod, ClientSource};
use crate::keys::SigningAlg;
use crate::number::CohortNumber;
use crate::participant::Profile;

#[test]
fn oidc_core_3_1_3_6_at_hash_vector() {
    // The example of OIDC Core Appendix A.3 / A.4.
    assert_eq!(
        at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
        "77QmUPtjPfzWtF2AnpK9RQ"
    );
}

fn client(subject: SubjectType) -> Client {
    Client {
        id: "c".into(),
        name: "c".into(),
        secret: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        auth_method: AuthMethod::None,
        application_type: ApplicationType::Web,
        scopes: vec!["email".into()],
        id_token_alg: SigningAlg::RS256,
        minimum_acr: Acr::Mfa,
        theme: None,
        home_url: None,
        source: ClientSource::File,
        refresh_tokens: false,
        client_credentials: false,
        subject,
        backchannel_logout: None,
        required_actions: vec![],
    }
}

#[test]
fn oidc_core_8_1_pairwise_subjects_differ_by_sector_and_are_stable() {
    let p = ParticipantId::generate();
    let a = client(SubjectType::Pairwise {
        sector: "a.example".into(),
    });
    let b = client(SubjectType::Pairwise {
        sector: "b.example".into(),
    });
    assert_eq!(subject(&a, p, b"k"), subject(&a, p, b"k"));
    assert_ne!(subject(&a, p, b"k"), subject(&b, p, b"k"));
    assert_ne!(subject(&a, p, b"k"), p.to_string());
    assert_eq!(
        subject(&client(SubjectType::Public), p, b"k"),
        p.to_string()
    );
}

#[test]
fn stated_acr_is_the_strongest_asked_value_met() {
    let ask = |v: &[&str]| ClaimsRequest {
        acr: Some(sesame_protocol::claims::AcrRequest {
            essential: true,
            values: v.iter().map(|s| (*s).to_owned()).collect(),
        }),
        ..Default::default()
    };
    assert_eq!(stated_acr(Acr::Mfa, Acr::Pwd, None), "mfa");
    assert_eq!(stated_acr(Acr::Mfa, Acr::Pwd, Some(&ask(&["pwd"]))), "pwd");
    assert_eq!(
        stated_acr(Acr::Mfa, Acr::Pwd, Some(&ask(&["pwd", "mfa"]))),
        "mfa"
    );
    assert_eq!(stated_acr(Acr::Mfa, Acr::Pwd, Some(&ask(&["phr"]))), "mfa");
    assert_eq!(
        stated_acr(Acr::Mfa, Acr::Mfa, Some(&ask(&["pwd"]))),
        "mfa",
        "never below the minimum"
    );
}

fn participant() -> Participant {
    Participant {
        id: ParticipantId::generate(),
        number: CohortNumber::parse("12345678").unwrap_or_else(|_| unreachable!()),
        email: Some("j@example.org".into()),
        email_verified: true,
        phone: None,
        phone_verified: false,
        profile: Profile {
            given_name: Some("J".into()),
            family_name: None,
            locale: None,
        },
        password_hash: None,
        required_actions: vec![],
        phone_declined_at: None,
        terms_accepted: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[test]
fn claims_follow_scopes_and_requests_within_what_the_client_may_have() {
    let p = participant();
    let by_scope = profile_claims(&p, &["email".into()], &[], &["email".into()]);
    assert!(by_scope.contains_key("email") && !by_scope.contains_key("given_name"));
    let asked = profile_claims(
        &p,
        &[],
        &["email".into(), "given_name".into()],
        &["email".into()],
    );
    assert!(asked.contains_key("email"));
    assert!(
        !asked.contains_key("given_name"),
        "profile is not allowed to this client"
    );
    assert!(!asked.contains_key("cohort_number"));
    let cohort = profile_claims(&p, &["cohort".into()], &[], &["cohort".into()]);
    assert_eq!(
        cohort.get("cohort_number"),
        Some(&Value::String("12345678".into()))
    );
}
