//! `ClientStore`: clients created at run time.

use sesame_core::acr::Acr;
use sesame_core::client::{ApplicationType, AuthMethod, Client, ClientSource, SecretDigest};
use sesame_core::keys::SigningAlg;
use sesame_core::store::{ClientStore, StoreError};

use crate::{Env, TestResult, contract};

contract!(
    insert_then_get_returns_the_client,
    a_public_client_keeps_no_secret,
    list_returns_every_client_by_id,
    a_taken_id_conflicts,
    delete_says_whether_the_client_existed,
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
