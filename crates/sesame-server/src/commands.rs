//! The administrative commands: migrate, user import, client, audit.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use sesame_core::CohortNumber;
use sesame_core::acr::Acr;
use sesame_core::audit::{AuditEvent, AuditKind};
use sesame_core::client::{
    ApplicationType, AuthMethod, Client, ClientSource, SecretDigest, SubjectType,
};
use sesame_core::keys::SigningAlg;
use sesame_core::participant::RequiredAction;
use sesame_core::random::{OsRandom, Random};
use sesame_core::store::ParticipantStore;
use sesame_core::store::{AuditStore, ClientStore, StoreError};
use sesame_protocol::scope::KNOWN_SCOPES;
use sesame_store::SeaStore;

use crate::cli::ClientAdd;
use crate::config::{self, RawConfig};
use crate::hashing::PooledHasher;
use crate::import;

/// Opens the database named by the configuration; these commands need no secrets.
pub async fn store(config_file: Option<&Path>) -> anyhow::Result<Arc<SeaStore>> {
    let raw = config::read_raw(config_file, RawConfig::default()).map_err(|e| anyhow!("{e}"))?;
    crate::app::open_store(&raw.database.url).await
}

/// `sesame migrate`.
pub async fn migrate(config_file: Option<&Path>) -> anyhow::Result<()> {
    store(config_file).await?;
    println!("database schema is up to date");
    Ok(())
}

/// `sesame user import`; returns whether every line was taken.
pub async fn import(
    config_file: Option<&Path>,
    file: &Path,
    replace_passwords: bool,
) -> anyhow::Result<bool> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    if !file.is_file() {
        return Err(anyhow!("{} is not a readable file", file.display()));
    }
    let raw = config::read_raw(config_file, RawConfig::default()).map_err(|e| anyhow!("{e}"))?;
    let new_actions = config::contacts::actions(
        &raw.policy.actions.for_new_users,
        "policy.actions.for_new_users",
    )
    .map_err(|e| anyhow!("{e}"))?;
    let options = import::Options {
        replace_passwords,
        new_actions,
    };
    let store = store(config_file).await?;
    let hasher = PooledHasher::new();
    let reader = std::io::BufReader::new(input);
    let summary = import::run(
        reader,
        store.as_ref(),
        &hasher,
        &options,
        chrono::Utc::now(),
    )
    .await?;
    for (line, why) in &summary.refused {
        eprintln!("line {line}: {why}");
    }
    let detail = serde_json::json!({"created": summary.created, "updated": summary.updated, "refused": summary.refused.len()});
    record(store.as_ref(), AuditKind::ParticipantImported, None, detail).await;
    println!(
        "{} created, {} updated, {} refused",
        summary.created,
        summary.updated,
        summary.refused.len()
    );
    Ok(summary.refused.is_empty())
}

/// `sesame client list`.
pub async fn client_list(config_file: Option<&Path>) -> anyhow::Result<()> {
    let store = store(config_file).await?;
    for c in store.list().await.map_err(|e| anyhow!("database: {e}"))? {
        println!(
            "{}\t{}\t{}\t{}",
            c.id,
            c.auth_method.as_str(),
            c.redirect_uris.join(","),
            c.name
        );
    }
    Ok(())
}

/// `sesame client add`: prints the generated secret once.
pub async fn client_add(config_file: Option<&Path>, args: ClientAdd) -> anyhow::Result<()> {
    let (client, secret) = new_client(args)?;
    let raw = config::read_raw(config_file, RawConfig::default()).map_err(|e| anyhow!("{e}"))?;
    if raw.clients.iter().any(|c| c.id == client.id) {
        return Err(anyhow!(
            "client {} is declared in the configuration file",
            client.id
        ));
    }
    let store = store(config_file).await?;
    match store.insert(&client).await {
        Err(StoreError::Conflict) => return Err(anyhow!("client {} already exists", client.id)),
        other => other.map_err(|e| anyhow!("database: {e}"))?,
    }
    record(
        store.as_ref(),
        AuditKind::ClientCreated,
        Some(&client.id),
        serde_json::json!({}),
    )
    .await;
    println!("client {} created", client.id);
    if let Some(secret) = secret {
        println!("client_secret: {secret}");
        println!("(shown once: Sesame keeps only a digest of it)");
    }
    Ok(())
}

fn new_client(args: ClientAdd) -> anyhow::Result<(Client, Option<String>)> {
    let kind = if args.native {
        ApplicationType::Native
    } else {
        ApplicationType::Web
    };
    for uri in args
        .redirect_uris
        .iter()
        .chain(&args.post_logout_redirect_uris)
    {
        config::redirect_uri("--redirect-uri", uri, kind).map_err(|e| anyhow!("{e}"))?;
    }
    if let Some(bad) = args
        .scopes
        .iter()
        .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return Err(anyhow!("--scope: unknown scope {bad}"));
    }
    let bad_id = args.id.chars().any(|c| c.is_whitespace() || c.is_control());
    if args.id.is_empty() || args.id.len() > 128 || bad_id {
        return Err(anyhow!("--id must be 1 to 128 characters without spaces"));
    }
    let auth_method = match (args.public, args.secret_post) {
        (true, _) => AuthMethod::None,
        (false, true) => AuthMethod::ClientSecretPost,
        (false, false) => AuthMethod::ClientSecretBasic,
    };
    let secret = (!args.public).then(|| OsRandom.token(32));
    let client = Client {
        name: args.name.unwrap_or_else(|| args.id.clone()),
        id: args.id,
        secret: secret.as_deref().map(SecretDigest::of),
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        auth_method,
        application_type: kind,
        scopes: args.scopes,
        id_token_alg: if args.es256 {
            SigningAlg::ES256
        } else {
            SigningAlg::RS256
        },
        minimum_acr: Acr::Mfa,
        theme: None,
        home_url: None,
        source: ClientSource::Database,
        refresh_tokens: args.refresh_tokens,
        client_credentials: false,
        subject: SubjectType::Public,
        backchannel_logout: None,
        required_actions: Vec::new(),
    };
    Ok((client, secret))
}

/// `sesame client remove`.
pub async fn client_remove(config_file: Option<&Path>, id: &str) -> anyhow::Result<()> {
    let store = store(config_file).await?;
    if !store
        .delete(id)
        .await
        .map_err(|e| anyhow!("database: {e}"))?
    {
        return Err(anyhow!("no client {id} in the database"));
    }
    record(
        store.as_ref(),
        AuditKind::ClientDeleted,
        Some(id),
        serde_json::json!({}),
    )
    .await;
    println!("client {id} removed");
    Ok(())
}

/// `sesame audit list`.
pub async fn audit_list(config_file: Option<&Path>, limit: u64) -> anyhow::Result<()> {
    let store = store(config_file).await?;
    for e in store
        .recent(limit)
        .await
        .map_err(|e| anyhow!("database: {e}"))?
    {
        let line = serde_json::json!({
            "at": e.at.to_rfc3339(),
            "kind": e.kind,
            "participant": e.participant.map(|p| p.to_string()),
            "client_id": e.client_id,
            "detail": e.detail,
        });
        println!("{line}");
    }
    Ok(())
}

async fn record(
    store: &SeaStore,
    kind: AuditKind,
    client_id: Option<&str>,
    detail: serde_json::Value,
) {
    let event = AuditEvent {
        at: chrono::Utc::now(),
        kind,
        participant: None,
        client_id: client_id.map(str::to_owned),
        ip: None,
        detail,
    };
    if let Err(error) = store.record(&event).await {
        tracing::error!(%error, "audit event not recorded");
    }
}

/// `sesame user require ACTION NUMBER|--all`.
pub async fn require(
    config_file: Option<&Path>,
    action: &str,
    number: Option<&str>,
) -> anyhow::Result<()> {
    let action = RequiredAction::parse(action).ok_or_else(|| {
        anyhow!(
            "unknown action {action}: update-password, register-phone, verify-email or accept-terms"
        )
    })?;
    let store = store(config_file).await?;
    let now = chrono::Utc::now();
    let detail = serde_json::json!({ "action": action });
    match number {
        Some(text) => {
            let number =
                CohortNumber::parse(text).map_err(|_| anyhow!("the number must have 8 digits"))?;
            let found = store
                .by_number(&number)
                .await
                .map_err(|e| anyhow!("database: {e}"))?;
            let participant = found.ok_or_else(|| anyhow!("no participant has this number"))?;
            let mut actions = participant.required_actions.clone();
            actions.push(action);
            actions.sort();
            actions.dedup();
            store
                .set_required_actions(participant.id, &actions, now)
                .await
                .map_err(|e| anyhow!("database: {e}"))?;
            record(store.as_ref(), AuditKind::ActionRequired, None, detail).await;
            println!("action {} required of 1 participant", action_name(action));
        }
        None => {
            let count = store
                .require_for_all(action, now)
                .await
                .map_err(|e| anyhow!("database: {e}"))?;
            record(
                store.as_ref(),
                AuditKind::ActionRequired,
                None,
                serde_json::json!({"action": action, "count": count}),
            )
            .await;
            println!(
                "action {} required of {count} participants",
                action_name(action)
            );
        }
    }
    Ok(())
}

fn action_name(action: RequiredAction) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
