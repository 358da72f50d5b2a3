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

/// Participants read per page by `--all-pending`.
const PAGE: u64 = 500;

/// `sesame user invite NUMBER`: the activation link of DESIGN §1 journey 4.
pub async fn run(config_file: Option<&Path>, number: &str) -> anyhow::Result<()> {
    let number =
        CohortNumber::parse(number).map_err(|_| anyhow!("the number must have 8 digits"))?;
    let (store, provider) = open(config_file).await?;
    let found = store
        .by_number(&number)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    let participant = found.ok_or_else(|| anyhow!("no participant has this number"))?;
    let sent = invite(&provider, &participant).await?;
    if !sent {
        return Err(anyhow!(
            "nothing sent: the participant already has a password or has no e-mail"
        ));
    }
    println!("activation link queued; the running server sends it");
    Ok(())
}

/// `sesame user invite --all-pending`: a link to every participant without a password who
/// has an e-mail address, page by page; a new link replaces one sent before.
pub async fn all_pending(config_file: Option<&Path>) -> anyhow::Result<()> {
    let (store, provider) = open(config_file).await?;
    let (mut sent, mut skipped) = (0_u64, 0_u64);
    let mut after: Option<CohortNumber> = None;
    loop {
        let page = store
            .without_password(after.as_ref(), PAGE)
            .await
            .map_err(|e| anyhow!("database: {e}"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.number.clone());
        for participant in &page {
            if invite(&provider, participant).await? {
                sent += 1;
            } else {
                skipped += 1;
            }
        }
    }
    println!(
        "{sent} activation links queued, {skipped} participants without an e-mail skipped; \
         the running server sends them"
    );
    Ok(())
}

async fn invite(
    provider: &sesame_core::service::Provider,
    participant: &sesame_core::participant::Participant,
) -> anyhow::Result<bool> {
    let lang = participant.profile.locale.as_deref().unwrap_or("fr");
    provider
        .invite(participant, lang)
        .await
        .map_err(|e| anyhow!("{e}"))
}

/// The store and a provider whose messages wait in the outbox for the running server.
async fn open(
    config_file: Option<&Path>,
) -> anyhow::Result<(
    std::sync::Arc<sesame_store::SeaStore>,
    std::sync::Arc<sesame_core::service::Provider>,
)> {
    let config = config::load(config_file).map_err(|e| anyhow!("{e}"))?;
    let store = crate::app::open_store(&config.database_url).await?;
    let themes = crate::app::theme_set(&config)?;
    let provider =
        crate::app::provider(&config, &store, &themes, std::sync::Arc::new(Queued)).await?;
    Ok((store, provider))
}
