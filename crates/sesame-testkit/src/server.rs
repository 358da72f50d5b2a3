//! The real server, in-process, on an ephemeral loopback port, with a fresh SQLite file
//! (or a fresh PostgreSQL schema) and a real SMTP listener.

use std::sync::Arc;

use anyhow::anyhow;
use sesame_core::participant::{ParticipantRecord, Profile};
use sesame_core::store::ParticipantStore;
use sesame_core::{CohortNumber, SecretString};
use sesame_server::app::{self, Running};
use sesame_server::config::raw::ClientSection;
use sesame_server::config::{self, RawConfig};
use sesame_store::SeaStore;
use tempfile::TempDir;

use crate::smtp::SmtpSink;

/// The password of every participant a test creates.
pub const TEST_PASSWORD: &str = "Test-Password-42!";
/// The confidential `client_secret_basic` client's id and secret.
pub const RP: (&str, &str) = ("rp", "rp-secret-0123456789");
/// The `client_secret_post` client.
pub const RP_POST: (&str, &str) = ("rp-post", "rp-post-secret-0123456789");
/// The public client (PKCE, no secret).
pub const PUBLIC: &str = "public-app";
/// Where the test clients' redirect URIs point; nothing listens there.
pub const CALLBACK: &str = "http://127.0.0.1:9/cb";

const KEY: &str = "test-key-test-key-test-key-test-key-0001";

/// A participant with [`TEST_PASSWORD`], an e-mail address, no phone and no action.
pub fn record(number: &str, email: &str) -> anyhow::Result<ParticipantRecord> {
    let number = CohortNumber::parse(number).map_err(|e| anyhow!("{e}"))?;
    let hash = sesame_core::password::hash(&SecretString::new(TEST_PASSWORD))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(ParticipantRecord {
        number,
        email: Some(email.into()),
        email_verified: true,
        phone: None,
        phone_verified: false,
        profile: Profile {
            given_name: Some("Jeanne".into()),
            family_name: Some("Dupont".into()),
            locale: None,
        },
        password_hash: Some(hash),
        required_actions: vec![],
    })
}

/// A running provider for one test.
pub struct TestServer {
    pub issuer: String,
    /// The certificate to trust when the issuer is https ([`TestServer::start_https`]).
    pub cert_pem: Option<String>,
    _tls: Option<crate::tls::TlsFront>,
    pub smtp: SmtpSink,
    pub store: Arc<SeaStore>,
    running: Option<Running>,
    _dir: TempDir,
}

fn client(id: &str, secret: Option<&str>, method: &str, redirect: &str) -> ClientSection {
    let mut client = ClientSection::new(id, secret, vec![redirect.into()]);
    client.token_endpoint_auth_method = method.into();
    client.scopes = ["profile", "email", "phone", "cohort"]
        .map(String::from)
        .to_vec();
    client
}

/// The configuration every test starts from.
pub fn base_config(dir: &TempDir, smtp: &SmtpSink) -> RawConfig {
    let mut raw = RawConfig::default();
    raw.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sesame.db").display()
    );
    raw.secrets.master_key = Some(KEY.into());
    raw.secrets.cookie_key = Some(format!("{KEY}-cookies"));
    raw.secrets.captcha_key = Some(format!("{KEY}-captcha"));
    raw.email.smtp_url = Some(smtp.url());
    raw.email.from = "Sesame <noreply@sesame.test>".into();
    raw.ui.themes_dir = dir.path().join("no-themes");
    raw.clients = vec![
        client(RP.0, Some(RP.1), "client_secret_basic", CALLBACK),
        client(RP_POST.0, Some(RP_POST.1), "client_secret_post", CALLBACK),
        client(PUBLIC, None, "none", "http://127.0.0.1:9/public-cb"),
    ];
    raw
}

impl TestServer {
    /// A server with the test clients.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `tweak` may change.
    pub async fn start_with(tweak: impl FnOnce(&mut RawConfig)) -> anyhow::Result<Self> {
        Self::start_watched(tweak, |_| {}).await
    }

    /// A server whose configuration `tweak` may change and whose provider dependencies
    /// `adjust` may wrap (to count what the provider does).
    pub async fn start_watched(
        tweak: impl FnOnce(&mut RawConfig),
        adjust: impl FnOnce(&mut sesame_core::service::Deps),
    ) -> anyhow::Result<Self> {
        Self::start_full(tweak, adjust, false).await
    }

    /// A server behind an https front with a throwaway certificate: the issuer is
    /// `https://127.0.0.1:PORT`, cookies are `__Host-`, and clients must trust
    /// [`TestServer::cert_pem`].
    pub async fn start_https(tweak: impl FnOnce(&mut RawConfig)) -> anyhow::Result<Self> {
        Self::start_full(tweak, |_| {}, true).await
    }

    async fn start_full(
        tweak: impl FnOnce(&mut RawConfig),
        adjust: impl FnOnce(&mut sesame_core::service::Deps),
        https: bool,
    ) -> anyhow::Result<Self> {
        crate::browser::install_crypto();
        let dir = tempfile::tempdir()?;
        let smtp = SmtpSink::start()?;
        let listener = app::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let tls = match https {
            true => Some(crate::tls::TlsFront::start(addr).await?),
            false => None,
        };
        let issuer = match &tls {
            Some(front) => format!("https://{}", front.addr),
            None => format!("http://{addr}"),
        };
        let mut raw = base_config(&dir, &smtp);
        raw.issuer = Some(issuer.clone());
        raw.http.listen = addr.to_string();
        tweak(&mut raw);
        let config = config::validate(raw).map_err(|e| anyhow!("{e}"))?;
        let built = app::build_with(&config, adjust).await?;
        let store = built.store.clone();
        let running = app::spawn(built, listener)?;
        Ok(Self {
            issuer,
            cert_pem: tls.as_ref().map(|t| t.cert_pem.clone()),
            _tls: tls,
            smtp,
            store,
            running: Some(running),
            _dir: dir,
        })
    }

    /// Creates a participant with [`TEST_PASSWORD`] and an e-mail address.
    pub async fn add_participant(&self, number: &str, email: &str) -> anyhow::Result<()> {
        self.add(record(number, email)?).await
    }

    /// Creates or updates a participant as given.
    pub async fn add(&self, record: ParticipantRecord) -> anyhow::Result<()> {
        self.store
            .upsert_batch(&[record], true, chrono::Utc::now())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        Ok(())
    }

    /// A URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}
