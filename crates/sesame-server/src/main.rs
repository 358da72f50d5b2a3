//! `sesame`: see `sesame --help`.

use std::process::ExitCode;

use clap::Parser;
use sesame_server::cli::{
    AuditCommand, CertificationCommand, Cli, ClientCommand, Command, UserCommand,
};
use sesame_server::{app, commands, config, demo, invite};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::anyhow!("cannot start the runtime: {error}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    let text = format!("{error:#}");
    eprintln!(
        "sesame: {}",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<bool> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve => serve(file).await.map(|()| true),
        Command::Certification(CertificationCommand::SuiteConfig {
            client2,
            post_client,
            password_file,
        }) => sesame_server::certification::print(
            file,
            &client2,
            &post_client,
            password_file.as_deref(),
        )
        .map(|()| true),
        Command::Demo { data, port } => demo::run(&data, port, file).await.map(|()| true),
        Command::Migrate => commands::migrate(file).await.map(|()| true),
        Command::User(UserCommand::Import {
            file: input,
            replace_passwords,
        }) => commands::import(file, &input, replace_passwords).await,
        Command::User(UserCommand::Require {
            action,
            number,
            all: _,
        }) => commands::require(file, &action, number.as_deref())
            .await
            .map(|()| true),
        Command::User(UserCommand::Invite {
            number,
            all_pending,
        }) => match number {
            Some(number) if !all_pending => invite::run(file, &number).await.map(|()| true),
            _ => invite::all_pending(file).await.map(|()| true),
        },
        Command::Client(ClientCommand::List) => commands::client_list(file).await.map(|()| true),
        Command::Client(ClientCommand::Add(args)) => {
            commands::client_add(file, args).await.map(|()| true)
        }
        Command::Client(ClientCommand::Remove { id }) => {
            commands::client_remove(file, &id).await.map(|()| true)
        }
        Command::Audit(AuditCommand::List(args)) => {
            commands::audit_list(file, &args).await.map(|()| true)
        }
    }
}

async fn serve(file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = config::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = app::bind(&config.listen).await?;
    let built = app::build(&config).await?;
    if let Some(profile) = &config.policy.conformance {
        let warning = format!(
            "WARNING: [certification] insecure_no_captcha_no_code_for_conformance_suite is on: \
             the participant of [certification] logs in to client {} with a password alone, \
             no anti-robot check and no code. Turn it off once the conformance run is over.",
            profile.client_id
        );
        tracing::warn!("{warning}");
        eprintln!("{warning}");
    }
    tracing::info!(issuer = %config.issuer, listen = %config.listen, "sesame is serving");
    app::serve(built, listener, app::shutdown_signal()).await
}
