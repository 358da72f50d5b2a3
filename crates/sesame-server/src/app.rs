//! Wiring: from a validated [`Config`] to a running provider.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use sesame_core::clock::{Clock, SystemClock};
use sesame_core::crypto::Sealer;
use sesame_core::keys::{self, KeyRing, SigningAlg};
use sesame_core::notify::OutboxSignal;
use sesame_core::random::{OsRandom, Random};
use sesame_core::service::{Clients, Deps, Provider, Settings};
use sesame_core::store::{AuditStore, ClientStore, KeyStore};
use sesame_notify::{
    BackchannelSender, ChannelRouter, ConsoleMailer, Dispatcher, Mailer, SmtpMailer, WebhookSms,
};
use sesame_state::MemoryState;
use sesame_store::SeaStore;
use sesame_web::AppState;
use sesame_web::notices::Notices;
use sesame_web::theme::{ThemeFiles, Themes};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, SmsProvider};
use crate::hashing::PooledHasher;

/// Opens the database at `url` and brings its schema up to date.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<SeaStore>> {
    let store = SeaStore::connect(url)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow!("database migration failed: {e}"))?;
    Ok(Arc::new(store))
}

/// Binds the listening socket, with a readable error when the port is taken.
pub async fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow!("http.listen: {listen} is already in use"),
        _ => anyhow!("http.listen: cannot listen on {listen}: {e}"),
    })
}

/// Loads the signing keys, creating an RS256 and an ES256 key at first start.
async fn key_ring(
    store: &SeaStore,
    config: &Config,
    clock: &dyn Clock,
    random: &dyn Random,
) -> anyhow::Result<KeyRing> {
    let sealer = Sealer::new(config.master_key.expose().as_bytes(), "signing-keys");
    let mut stored = KeyStore::all(store)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        if !stored.iter().any(|k| k.alg == alg) {
            let key = keys::generate(alg, &sealer, random, clock.now())?;
            KeyStore::insert(store, &key)
                .await
                .map_err(|e| anyhow!("database: {e}"))?;
            tracing::info!(key.alg = alg.as_str(), key.kid = %key.kid, "signing key created");
            stored.push(key);
        }
    }
    KeyRing::open(stored, &sealer, clock.now()).map_err(|e| anyhow!("{e}"))
}

async fn check_client_ids(store: &SeaStore, config: &Config) -> anyhow::Result<()> {
    let stored = ClientStore::list(store)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    match stored
        .iter()
        .find(|s| config.clients.iter().any(|c| c.id == s.id))
    {
        Some(clash) => Err(anyhow!(
            "clients: id {} is declared in the file and stored in the database",
            clash.id
        )),
        None => Ok(()),
    }
}

/// E-mail by SMTP (or the console), and back-channel logout tokens by HTTP to the
/// clients' URIs, private hosts only where the operator allowed them.
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let email: Arc<dyn Mailer> = match &config.smtp_url {
        Some(url) => Arc::new(
            SmtpMailer::new(url.expose(), &config.mail_from).map_err(|e| anyhow!("email: {e}"))?,
        ),
        None => Arc::new(ConsoleMailer::new()),
    };
    let allowed: Vec<String> = config
        .clients
        .iter()
        .filter_map(|c| c.backchannel_logout.as_ref().filter(|b| b.allow_private))
        .map(|b| b.uri.clone())
        .collect();
    let sms: Arc<dyn Mailer> = match &config.sms {
        SmsProvider::Console => Arc::new(ConsoleMailer::new()),
        SmsProvider::Webhook {
            url,
            token,
            timeout,
        } => {
            let url = url::Url::parse(url).map_err(|e| anyhow!("sms.webhook_url: {e}"))?;
            let token = token.as_ref().map(|t| t.expose().to_owned());
            Arc::new(WebhookSms::new(url, token, *timeout))
        }
    };
    Ok(Arc::new(ChannelRouter::new(
        email,
        sms,
        BackchannelSender::for_uris(allowed),
    )))
}

/// A provider ready to serve.
pub struct App {
    pub router: axum::Router,
    pub dispatcher: Arc<Dispatcher>,
    pub store: Arc<SeaStore>,
    pub audit_retention: chrono::Duration,
}

/// Builds everything from the configuration.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    build_with(config, |_| {}).await
}

/// [`build`], letting `adjust` wrap or replace the provider's dependencies (tests that
/// watch what the provider does).
pub async fn build_with(config: &Config, adjust: impl FnOnce(&mut Deps)) -> anyhow::Result<App> {
    let store = open_store(&config.database_url).await?;
    check_client_ids(&store, config).await?;
    let themes = theme_set(config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dispatcher = Arc::new(Dispatcher::new(store.clone(), mailer(config)?, clock));
    let provider = provider_with(config, &store, &themes, dispatcher.clone(), adjust).await?;
    dispatcher.listen(provider.clone());
    let cookie_secret = config.cookie_key.expose().as_bytes();
    let state = AppState::new(
        provider,
        themes,
        config.ui.clone(),
        cookie_secret,
        config.trusted_proxies.clone(),
    )?;
    Ok(App {
        router: sesame_web::router(state),
        dispatcher,
        store,
        audit_retention: config.audit_retention,
    })
}

/// The provider over `store`; messages are queued in the outbox and `signal` is woken.
pub async fn provider(
    config: &Config,
    store: &Arc<SeaStore>,
    themes: &Arc<Themes>,
    signal: Arc<dyn OutboxSignal>,
) -> anyhow::Result<Arc<Provider>> {
    provider_with(config, store, themes, signal, |_| {}).await
}

async fn provider_with(
    config: &Config,
    store: &Arc<SeaStore>,
    themes: &Arc<Themes>,
    signal: Arc<dyn OutboxSignal>,
    adjust: impl FnOnce(&mut Deps),
) -> anyhow::Result<Arc<Provider>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let keys = Arc::new(key_ring(store, config, clock.as_ref(), random.as_ref()).await?);
    let verify_hours = config.policy.links.verify_ttl.num_hours();
    let mut deps = Deps {
        participants: store.clone(),
        clients: Clients::new(
            config.clients.clone(),
            store.clone() as Arc<dyn ClientStore>,
        ),
        grants: store.clone(),
        refresh_tokens: store.clone(),
        links: store.clone(),
        audit: store.clone(),
        outbox: store.clone(),
        outbox_signal: signal,
        notices: Arc::new(Notices::new(themes.clone(), &config.ui, verify_hours)),
        state: Arc::new(MemoryState::new()),
        hasher: Arc::new(PooledHasher::new()),
        clock,
        random,
    };
    adjust(&mut deps);
    let settings = Settings {
        issuer: config.issuer.as_str().trim_end_matches('/').to_owned(),
        policy: config.policy.clone(),
        cookie_secret: config.cookie_key.clone(),
        master_secret: config.master_key.clone(),
        captcha_secret: config.captcha_key.clone(),
    };
    Ok(Arc::new(Provider::new(deps, settings, keys)))
}

/// Builds the themes named by the configuration.
pub fn theme_set(config: &Config) -> anyhow::Result<Arc<Themes>> {
    let files = ThemeFiles::new(Some(&config.themes_dir));
    let others: Vec<String> = config
        .clients
        .iter()
        .filter_map(|c| c.theme.clone())
        .collect();
    let themes =
        Themes::load(files, &config.default_theme, &others).map_err(|e| anyhow!("ui: {e}"))?;
    Ok(Arc::new(if config.live_themes {
        themes.live()
    } else {
        themes
    }))
}

/// A provider running in the background, stopped when dropped or told to.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving and waits for the server to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves the app on `listener` until `stop` resolves; the outbox is sent meanwhile.
pub async fn serve(
    app: App,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (tx, rx) = watch::channel(false);
    let dispatcher = app.dispatcher.clone();
    let mut dispatch_rx = rx.clone();
    let sender = tokio::spawn(dispatcher.run(async move {
        let _ = dispatch_rx.wait_for(|s| *s).await;
    }));
    let retention = tokio::spawn(purge_audit(
        app.store.clone(),
        app.audit_retention,
        rx.clone(),
    ));
    let service = app
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            stop.await;
            let _ = tx.send(true);
        })
        .await
        .context("http server failed");
    let _ = sender.await;
    let _ = retention.await;
    app.store.close().await;
    drop(rx);
    served
}

/// Deletes audit events older than the retention, at start and every hour.
async fn purge_audit(
    store: Arc<SeaStore>,
    retention: chrono::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let before = chrono::Utc::now() - retention;
        match AuditStore::purge(store.as_ref(), before).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "old audit events deleted"),
            Err(error) => tracing::warn!(%error, "audit retention not applied"),
        }
        let hour = std::time::Duration::from_secs(3600);
        if tokio::time::timeout(hour, stop.wait_for(|s| *s))
            .await
            .is_ok()
        {
            return;
        }
    }
}

/// Starts the app in the background on `listener` (tests, the demo).
pub fn spawn(app: App, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let until = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(error) = serve(app, listener, until).await {
            tracing::error!(%error, "server stopped on an error");
        }
    });
    Ok(Running { addr, stop, task })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
