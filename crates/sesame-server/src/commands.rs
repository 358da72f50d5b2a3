//! The administrative commands: migrate, user import, client, audit.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
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
use sesame_core::store::{AuditFilter, AuditStore, ClientStore, StoreError};
use sesame_protocol::scope::KNOWN_SCOPES;
use sesame_store::SeaStore;

use crate::cli::{AuditList, ClientAdd};
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
    // As in the file: a long-lived grant is worthless without refresh tokens.
    if args.scopes.iter().any(|s| s == "offline_access") && !args.refresh_tokens {
        return Err(anyhow!("--scope offline_access needs --refresh-tokens"));
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

/// `sesame audit list`: every value is checked before the database is opened.
pub async fn audit_list(config_file: Option<&Path>, args: &AuditList) -> anyhow::Result<()> {
    let format = AuditFormat::parse(&args.format)?;
    let number = args
        .participant
        .as_deref()
        .map(|text| {
            CohortNumber::parse(text).map_err(|_| anyhow!("--participant must have 8 digits"))
        })
        .transpose()?;
    let mut filter = audit_filter(args, Utc::now())?;
    let store = store(config_file).await?;
    if let Some(number) = number {
        let found = store
            .by_number(&number)
            .await
            .map_err(|e| anyhow!("database: {e}"))?;
        // An unknown number has no events: nothing to print.
        let Some(participant) = found else {
            return Ok(());
        };
        filter.participant = Some(participant.id);
    }
    let events = store
        .query(&filter)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    for event in &events {
        println!("{}", format.render(event));
    }
    Ok(())
}

/// The filter of `sesame audit list`, but for the participant, which needs the store.
fn audit_filter(args: &AuditList, now: DateTime<Utc>) -> anyhow::Result<AuditFilter> {
    let time = |flag, text: &Option<String>| {
        text.as_deref()
            .map(|text| audit_time(flag, text, now))
            .transpose()
    };
    let since = time("--since", &args.since)?;
    let until = time("--until", &args.until)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(anyhow!("--since must be earlier than --until"));
    }
    let kinds = args
        .kinds
        .iter()
        .map(|kind| audit_kind(kind))
        .collect::<anyhow::Result<_>>()?;
    let limit = args
        .limit
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_AUDIT_LIMIT).contains(n))
        .ok_or_else(|| anyhow!("--limit must be a whole number from 1 to {MAX_AUDIT_LIMIT}"))?;
    Ok(AuditFilter {
        participant: None,
        since,
        until,
        kinds,
        limit,
    })
}

/// The most events `sesame audit list` prints at once.
const MAX_AUDIT_LIMIT: u64 = 1_000_000;

/// An instant written as RFC 3339, as a date (midnight UTC) or as a duration before `now`.
fn audit_time(flag: &str, text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty()
        || digits.len() == text.len()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(anyhow!(
            "{flag}: \"{text}\" is not a time: give RFC 3339 (2026-12-04T17:00:00Z), \
             a date (2026-12-04) or a duration ago (24h, 7d)"
        ));
    }
    let ago = config::parse_duration(text).map_err(|e| anyhow!("{flag}: {e}"))?;
    now.checked_sub_signed(ago)
        .ok_or_else(|| anyhow!("{flag}: \"{text}\" is too long ago"))
}

/// An event kind by its stored name, as `sesame audit list` prints it.
fn audit_kind(name: &str) -> anyhow::Result<AuditKind> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).map_err(|_| {
        anyhow!("--kind: unknown event kind \"{name}\" (names are like login_succeeded)")
    })
}

/// How `sesame audit list` prints an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuditFormat {
    /// One readable line, fields apart by two spaces.
    Lines,
    /// One JSON object a line.
    Json,
}

impl AuditFormat {
    fn parse(text: &str) -> anyhow::Result<Self> {
        match text.trim() {
            "lines" => Ok(Self::Lines),
            "json" => Ok(Self::Json),
            _ => Err(anyhow!("--format must be lines or json")),
        }
    }

    fn render(self, event: &AuditEvent) -> String {
        match self {
            Self::Lines => audit_line(event),
            Self::Json => serde_json::json!({
                "at": event.at.to_rfc3339(),
                "kind": event.kind,
                "participant": event.participant.map(|p| p.to_string()),
                "client_id": event.client_id,
                "ip": event.ip,
                "detail": event.detail,
            })
            .to_string(),
        }
    }
}

/// `2026-12-04T17:00:00Z  login_succeeded  participant=…  client=…  ip=…  {…}`; what the
/// event does not name is left out.
fn audit_line(event: &AuditEvent) -> String {
    let mut fields = vec![
        event.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        event.kind.as_str(),
    ];
    fields.extend(event.participant.map(|p| format!("participant={p}")));
    fields.extend(event.client_id.as_ref().map(|c| format!("client={c}")));
    fields.extend(event.ip.as_ref().map(|ip| format!("ip={ip}")));
    fields.push(event.detail.to_string());
    fields.join("  ")
}

async fn record(
    store: &SeaStore,
    kind: AuditKind,
    client_id: Option<&str>,
    detail: serde_json::Value,
) {
    save(store, &audit_event(kind, client_id, detail)).await;
}

/// An event of the operator's, now, about no participant.
fn audit_event(kind: AuditKind, client_id: Option<&str>, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        at: chrono::Utc::now(),
        kind,
        participant: None,
        client_id: client_id.map(str::to_owned),
        ip: None,
        detail,
    }
}

async fn save(store: &SeaStore, event: &AuditEvent) {
    if let Err(error) = store.record(event).await {
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
            let event = AuditEvent {
                participant: Some(participant.id),
                ..audit_event(AuditKind::ActionRequired, None, detail)
            };
            save(store.as_ref(), &event).await;
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sesame_core::participant::ParticipantId;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 17, 0, 0).unwrap()
    }

    fn time(text: &str) -> anyhow::Result<DateTime<Utc>> {
        audit_time("--since", text, now())
    }

    fn args(set: impl FnOnce(&mut AuditList)) -> AuditList {
        let mut args = AuditList {
            participant: None,
            since: None,
            until: None,
            kinds: Vec::new(),
            limit: "50".into(),
            format: "lines".into(),
        };
        set(&mut args);
        args
    }

    fn refused(args: &AuditList) -> String {
        format!("{:#}", audit_filter(args, now()).unwrap_err())
    }

    #[test]
    fn times_are_rfc_3339_dates_or_durations_ago() {
        let paris = time("2026-12-04T18:30:00+01:00").unwrap();
        assert_eq!(paris, Utc.with_ymd_and_hms(2026, 12, 4, 17, 30, 0).unwrap());
        let day = time("2026-11-30").unwrap();
        assert_eq!(day, Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap());
        assert_eq!(time("24h").unwrap(), now() - chrono::Duration::hours(24));
        assert_eq!(time("7d").unwrap(), now() - chrono::Duration::days(7));
        assert_eq!(
            time(" 90s ").unwrap(),
            now() - chrono::Duration::seconds(90)
        );
    }

    #[test]
    fn bad_times_say_what_is_expected() {
        for bad in [
            "yesterday",
            "24",
            "2026-13-01",
            "",
            "h",
            "2026-12-04T25:00:00Z",
        ] {
            let message = format!("{:#}", time(bad).unwrap_err());
            assert!(message.starts_with("--since: "), "{message}");
            assert!(message.contains("RFC 3339"), "{bad}: {message}");
        }
        let unit = format!("{:#}", time("24x").unwrap_err());
        assert!(unit.contains("needs a unit"), "{unit}");
        let huge = format!("{:#}", time("99999999999999d").unwrap_err());
        assert!(huge.contains("out of range"), "{huge}");
    }

    #[test]
    fn filters_are_read_from_the_arguments() {
        let filter = audit_filter(
            &args(|a| {
                a.since = Some("7d".into());
                a.until = Some("2026-12-04".into());
                a.kinds = vec!["login_succeeded".into(), "code_sent".into()];
                a.limit = "10".into();
            }),
            now(),
        )
        .unwrap();
        assert_eq!(filter.since, Some(now() - chrono::Duration::days(7)));
        assert_eq!(filter.until, Some(now() - chrono::Duration::hours(17)));
        assert_eq!(
            filter.kinds,
            [AuditKind::LoginSucceeded, AuditKind::CodeSent]
        );
        assert_eq!((filter.limit, filter.participant), (10, None));
    }

    #[test]
    fn bad_filters_are_named() {
        let window = args(|a| {
            a.since = Some("1h".into());
            a.until = Some("2h".into());
        });
        assert_eq!(refused(&window), "--since must be earlier than --until");
        let kind = args(|a| a.kinds = vec!["LoginSucceeded".into()]);
        assert!(refused(&kind).starts_with("--kind: unknown event kind \"LoginSucceeded\""));
        for limit in ["0", "-1", "ten", "1000001", ""] {
            let message = refused(&args(|a| a.limit = limit.into()));
            assert!(message.starts_with("--limit must be"), "{limit}: {message}");
        }
        assert!(AuditFormat::parse("yaml").is_err());
    }

    #[test]
    fn lines_leave_out_what_the_event_does_not_name() {
        let mut event = audit_event(AuditKind::ClientCreated, Some("app"), serde_json::json!({}));
        event.at = now();
        assert_eq!(
            AuditFormat::Lines.render(&event),
            "2026-12-04T17:00:00Z  client_created  client=app  {}"
        );
        let id = ParticipantId::generate();
        event.participant = Some(id);
        event.client_id = None;
        event.kind = AuditKind::LoginSucceeded;
        event.detail = serde_json::json!({"acr": "mfa"});
        assert_eq!(
            AuditFormat::Lines.render(&event),
            format!("2026-12-04T17:00:00Z  login_succeeded  participant={id}  {{\"acr\":\"mfa\"}}")
        );
        let json: serde_json::Value =
            serde_json::from_str(&AuditFormat::Json.render(&event)).unwrap();
        assert_eq!(json["participant"], id.to_string());
        assert_eq!(json["kind"], "login_succeeded");
    }
}
