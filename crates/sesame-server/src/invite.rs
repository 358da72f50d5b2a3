//! `sesame user invite`: activation links queued from the command line.

use std::path::Path;

use anyhow::anyhow;
use sesame_core::CohortNumber;
use sesame_core::store::ParticipantStore;

use crate::config;

/// Wakes nothing: the running server sends what the CLI queues on its next pass.
struct Queued;

impl sesame_core::notify::OutboxSignal for Queued {
    fn wake(&self) {}
}

/// `sesame user invite NUMBER`: the activation link of DESIGN §1 journey 4.
pub async fn run(config_file: Option<&Path>, number: &str) -> anyhow::Result<()> {
    let number =
        CohortNumber::parse(number).map_err(|_| anyhow!("the number must have 8 digits"))?;
    let config = config::load(config_file).map_err(|e| anyhow!("{e}"))?;
    let store = crate::app::open_store(&config.database_url).await?;
    let found = store
        .by_number(&number)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    let participant = found.ok_or_else(|| anyhow!("no participant has this number"))?;
    let themes = crate::app::theme_set(&config)?;
    let provider =
        crate::app::provider(&config, &store, &themes, std::sync::Arc::new(Queued)).await?;
    let lang = participant
        .profile
        .locale
        .clone()
        .unwrap_or_else(|| "fr".into());
    let sent = provider
        .invite(&participant, &lang)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if !sent {
        return Err(anyhow!(
            "nothing sent: the participant already has a password or has no e-mail"
        ));
    }
    println!("activation link queued; the running server sends it");
    Ok(())
}
