//! `ClientStore`: clients created at run time.

use sesame_core::acr::Acr;
use sesame_core::client::{
    ApplicationType, AuthMethod, BackchannelLogout, Client, ClientSource, SecretDigest, SubjectType,
};
use sesame_core::keys::SigningAlg;
use sesame_core::participant::RequiredAction;
use sesame_core::store::{ClientStore, StoreError};

use crate::{Env, TestResult, contract};

contract!(
    insert_then_get_returns_the_client,
    a_public_client_keeps_no_secret,
    list_returns_every_client_by_id,
    a_taken_id_conflicts,
    delete_says_whether_the_client_existed,
    refresh_pairwise_and_backchannel_settings_round_trip,
    backchannel_flags_are_kept_apart,
    a_plain_client_reads_back_with_the_defaults,
    required_actions_round_trip_in_order,
);

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: format!("Client {id}"),
        secret: Some(SecretDigest::of("s3cret")),
        redirect_uris: vec![
            "https://rp.example.org/cb".into(),
            "https://rp.example.org/b".into(),
        ],
        post_logout_redirect_uris: vec!["https://rp.example.org/bye".into()],
        auth_method: AuthMethod::ClientSecretPost,
        application_type: ApplicationType::Web,
        scopes: vec!["openid".into(), "profile".into(), "cohort".into()],
        id_token_alg: SigningAlg::ES256,
        minimum_acr: Acr::Mfa,
        theme: Some("constances".into()),
        home_url: Some("https://rp.example.org/".into()),
        source: ClientSource::Database,
        refresh_tokens: false,
        client_credentials: false,
        subject: SubjectType::Public,
        backchannel_logout: None,
        required_actions: vec![],
    }
}

async fn insert_then_get_returns_the_client(env: Env) -> TestResult {
    let given = client("questionnaire");
    env.insert(&given).await?;
    let stored = env.get("questionnaire").await?.ok_or("not stored")?;
    assert_eq!(stored, given);
    assert!(stored.secret.is_some_and(|s| s.matches("s3cret")));
    assert_eq!(env.get("unknown").await?, None);
    Ok(())
}

async fn a_public_client_keeps_no_secret(env: Env) -> TestResult {
    let given = Client {
        secret: None,
        auth_method: AuthMethod::None,
        application_type: ApplicationType::Native,
        id_token_alg: SigningAlg::RS256,
        minimum_acr: Acr::Pwd,
        theme: None,
        home_url: None,
        post_logout_redirect_uris: vec![],
        ..client("app")
    };
    env.insert(&given).await?;
    assert_eq!(env.get("app").await?, Some(given));
    Ok(())
}

async fn list_returns_every_client_by_id(env: Env) -> TestResult {
    assert_eq!(env.list().await?, vec![]);
    for id in ["b", "c", "a"] {
        env.insert(&client(id)).await?;
    }
    let ids: Vec<String> = env.list().await?.into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    Ok(())
}

async fn a_taken_id_conflicts(env: Env) -> TestResult {
    env.insert(&client("rp")).await?;
    let again = Client {
        name: "Another".into(),
        ..client("rp")
    };
    assert_eq!(env.insert(&again).await, Err(StoreError::Conflict));
    assert_eq!(
        env.get("rp").await?.map(|c| c.name),
        Some("Client rp".into())
    );
    Ok(())
}

async fn delete_says_whether_the_client_existed(env: Env) -> TestResult {
    env.insert(&client("rp")).await?;
    assert!(env.delete("rp").await?);
    assert!(!env.delete("rp").await?);
    assert_eq!(env.get("rp").await?, None);
    Ok(())
}

async fn refresh_pairwise_and_backchannel_settings_round_trip(env: Env) -> TestResult {
    let given = Client {
        refresh_tokens: true,
        client_credentials: true,
        subject: SubjectType::Pairwise {
            sector: "rp.example.org".into(),
        },
        backchannel_logout: Some(BackchannelLogout {
            uri: "https://rp.example.org/backchannel".into(),
            session_required: true,
            allow_private: true,
        }),
        ..client("full")
    };
    env.insert(&given).await?;
    assert_eq!(env.get("full").await?, Some(given.clone()));
    assert_eq!(env.list().await?, vec![given]);
    Ok(())
}

/// Each flag has a column of its own: setting one does not set the other.
async fn backchannel_flags_are_kept_apart(env: Env) -> TestResult {
    for (id, session_required, allow_private) in [("s", true, false), ("p", false, true)] {
        let given = Client {
            backchannel_logout: Some(BackchannelLogout {
                uri: format!("https://{id}.example.org/logout"),
                session_required,
                allow_private,
            }),
            ..client(id)
        };
        env.insert(&given).await?;
        assert_eq!(env.get(id).await?, Some(given));
    }
    Ok(())
}

async fn a_plain_client_reads_back_with_the_defaults(env: Env) -> TestResult {
    env.insert(&client("plain")).await?;
    let stored = env.get("plain").await?.ok_or("not stored")?;
    assert!(!stored.refresh_tokens && !stored.client_credentials);
    assert_eq!(stored.subject, SubjectType::Public);
    assert_eq!(stored.backchannel_logout, None);
    assert_eq!(stored.required_actions, []);
    let row = env
        .query_one("SELECT subject_type, sector, required_actions FROM clients WHERE id = 'plain'")
        .await?;
    let subject_type: String = row.try_get("", "subject_type")?;
    let sector: Option<String> = row.try_get("", "sector")?;
    assert_eq!((subject_type.as_str(), sector), ("public", None));
    let actions: String = row.try_get("", "required_actions")?;
    assert_eq!(actions, "[]");
    Ok(())
}

/// The list reads back as given, order included.
async fn required_actions_round_trip_in_order(env: Env) -> TestResult {
    let given = Client {
        required_actions: vec![RequiredAction::AcceptTerms, RequiredAction::RegisterPhone],
        ..client("demanding")
    };
    env.insert(&given).await?;
    assert_eq!(env.get("demanding").await?, Some(given.clone()));
    assert_eq!(env.list().await?, vec![given]);
    Ok(())
}
