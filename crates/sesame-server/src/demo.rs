//! `sesame demo`: the provider on embedded defaults beside the demo questionnaire site,
//! with a seeded client and participant, so that a newcomer can log in at once.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sesame_core::participant::{ParticipantRecord, Profile, RequiredAction};
use sesame_core::random::{OsRandom, Random};
use sesame_core::store::ParticipantStore;
use sesame_core::{CohortNumber, SecretString};

use crate::app;
use crate::config::{self, RawConfig, raw::ClientSection};

/// The demo participant's number and password, printed at start.
pub const DEMO_NUMBER: &str = "12345678";
/// Meets the guide's policy: 12 to 30 characters, lower, upper, digit, special.
pub const DEMO_PASSWORD: &str = "Demo-Sesame-2026";
/// The demo participant who walks the guide's first login (new password, then mobile).
pub const DEMO_UPGRADE_NUMBER: &str = "87654321";
/// The demo client's id.
pub const DEMO_CLIENT: &str = "demo-questionnaires";

/// Runs the demo until Ctrl-C.
pub async fn run(data: &Path, port: u16, config_file: Option<&Path>) -> anyhow::Result<()> {
    let rp_port = port
        .checked_add(1)
        .ok_or_else(|| anyhow!("--port must be below 65535"))?;
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let client_secret = persistent_secret(&data.join("demo_client_secret"))?;
    let raw = demo_config(data, port, rp_port, &client_secret, config_file)?;
    let mut config = config::validate(raw).map_err(|e| anyhow!("{e}"))?;
    // Edited templates and messages show on reload, without a rebuild.
    config.live_themes = true;
    let provider_listener = app::bind(&config.listen).await?;
    let rp_listener = app::bind(&format!("127.0.0.1:{rp_port}")).await?;
    let built = app::build(&config).await?;
    seed_participant(built.store.as_ref()).await?;
    let issuer = config.issuer.as_str().trim_end_matches('/').to_owned();
    let running = app::spawn(built, provider_listener)?;
    let rp = sesame_demo::DemoRpConfig {
        issuer: issuer.clone(),
        client_id: DEMO_CLIENT.into(),
        client_secret,
        base_url: format!("http://127.0.0.1:{rp_port}"),
    };
    print_banner(&issuer, rp_port, data);
    sesame_demo::serve(rp_listener, rp, app::shutdown_signal()).await?;
    running.stop().await;
    Ok(())
}

fn demo_config(
    data: &Path,
    port: u16,
    rp_port: u16,
    client_secret: &str,
    file: Option<&Path>,
) -> anyhow::Result<RawConfig> {
    let mut raw = config::read_raw(file, RawConfig::default()).map_err(|e| anyhow!("{e}"))?;
    raw.issuer = Some(format!("http://127.0.0.1:{port}"));
    raw.http.listen = format!("127.0.0.1:{port}");
    raw.database.url = format!("sqlite://{}?mode=rwc", data.join("sesame.db").display());
    raw.state.url = "memory".into();
    raw.email.smtp_url = None;
    raw.email.smtp_url_file = None;
    raw.secrets.master_key = None;
    raw.secrets.cookie_key = None;
    raw.secrets.master_key_file = Some(secret_file(data, "master_key")?);
    raw.secrets.cookie_key_file = Some(secret_file(data, "cookie_key")?);
    raw.secrets.captcha_key = None;
    raw.secrets.captcha_key_file = Some(secret_file(data, "captcha_key")?);
    raw.ui.home_url = Some(format!("http://127.0.0.1:{rp_port}/"));
    raw.clients.retain(|c| c.id != DEMO_CLIENT);
    let mut client = ClientSection::new(
        DEMO_CLIENT,
        Some(client_secret),
        vec![format!("http://127.0.0.1:{rp_port}/callback")],
    );
    client.name = Some("Questionnaires (démo)".into());
    client.post_logout_redirect_uris = vec![format!("http://127.0.0.1:{rp_port}/")];
    client.scopes = ["profile", "email", "phone", "cohort"]
        .map(String::from)
        .to_vec();
    // The demo site learns of logouts through the back channel, on loopback.
    client.backchannel_logout_uri = Some(format!("http://127.0.0.1:{rp_port}/backchannel-logout"));
    client.backchannel_logout_allow_private = true;
    raw.clients.push(client);
    Ok(raw)
}

/// A secret kept in the data folder, created on first use (mode 0600).
fn persistent_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let mut bytes = [0u8; 48];
    OsRandom.fill(&mut bytes);
    let secret = STANDARD.encode(bytes);
    write_private(path, &secret)?;
    Ok(secret)
}

fn secret_file(data: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = data.join(name);
    persistent_secret(&path)?;
    Ok(path)
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Creates the demo participants unless they exist: one who simply logs in, and one who
/// walks the guide's first login after the security upgrade (password change, then mobile).
pub async fn seed_participant(store: &dyn ParticipantStore) -> anyhow::Result<()> {
    let upgrade = vec![
        RequiredAction::UpdatePassword,
        RequiredAction::RegisterPhone,
    ];
    seed(
        store,
        DEMO_NUMBER,
        "camille.martin@example.org",
        ("Camille", "Martin"),
        Vec::new(),
    )
    .await?;
    seed(
        store,
        DEMO_UPGRADE_NUMBER,
        "dominique.bernard@example.org",
        ("Dominique", "Bernard"),
        upgrade,
    )
    .await
}

async fn seed(
    store: &dyn ParticipantStore,
    number: &str,
    email: &str,
    (given, family): (&str, &str),
    required_actions: Vec<RequiredAction>,
) -> anyhow::Result<()> {
    let number = CohortNumber::parse(number).map_err(|e| anyhow!("{e}"))?;
    if store
        .by_number(&number)
        .await
        .map_err(|e| anyhow!("database: {e}"))?
        .is_some()
    {
        return Ok(());
    }
    let hash = sesame_core::password::hash(&SecretString::new(DEMO_PASSWORD))
        .map_err(|e| anyhow!("{e}"))?;
    let record = ParticipantRecord {
        number,
        email: Some(email.into()),
        email_verified: true,
        phone: None,
        phone_verified: false,
        profile: Profile {
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            locale: Some("fr".into()),
        },
        password_hash: Some(hash),
        required_actions,
    };
    store
        .upsert_batch(&[record], false, chrono::Utc::now())
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    Ok(())
}

fn print_banner(issuer: &str, rp_port: u16, data: &Path) {
    println!();
    println!("  Sesame demo is running (data in {}).", data.display());
    println!();
    println!("  Open the questionnaire site:  http://127.0.0.1:{rp_port}/");
    println!("  Log in with number {DEMO_NUMBER} and password {DEMO_PASSWORD}");
    println!("  or, for the first login after the security upgrade (new password, then mobile),");
    println!("  with number {DEMO_UPGRADE_NUMBER} and the same password.");
    println!("  Codes, e-mails and SMS are printed to the console, below, when they are sent.");
    println!();
    println!("  Provider: {issuer}   Ctrl-C stops both.");
    println!();
}
