//! The command line (DESIGN §3 "Binary").

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sesame, the OpenID Connect provider of the cohort.
#[derive(Debug, Parser)]
#[command(name = "sesame", version, about)]
pub struct Cli {
    /// The configuration file (also SESAME_CONFIG).
    #[arg(long, global = true, env = "SESAME_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the provider.
    Serve,
    /// Run the provider on embedded defaults beside a demo questionnaire site.
    Demo {
        /// Where the demo keeps its database and secrets.
        #[arg(long, default_value = "./sesame-demo", value_name = "DIR")]
        data: PathBuf,
        /// The provider's port; the demo site takes the next one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Manage participants.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage relying parties stored in the database.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Prepare a run of the OpenID conformance suite.
    #[command(subcommand)]
    Certification(CertificationCommand),
}

/// `sesame certification …`
#[derive(Debug, Subcommand)]
pub enum CertificationCommand {
    /// Print the suite's JSON configuration for this deployment ([certification] must be on).
    SuiteConfig {
        /// The suite's second client (refresh-token binding test).
        #[arg(long, value_name = "ID")]
        client2: String,
        /// The client that authenticates with client_secret_post.
        #[arg(long, value_name = "ID")]
        post_client: String,
        /// A file holding the test participant's password (else a placeholder).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// `sesame user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Import participants from a JSON Lines file.
    Import {
        /// The file, one participant a line.
        file: PathBuf,
        /// Also replace the passwords of participants that exist.
        #[arg(long)]
        replace_passwords: bool,
    },
    /// Send an activation link to a participant imported without a password.
    Invite {
        /// The participant's cohort number.
        #[arg(
            required_unless_present = "all_pending",
            conflicts_with = "all_pending"
        )]
        number: Option<String>,
        /// Every participant who has no password yet and an e-mail address.
        #[arg(long)]
        all_pending: bool,
    },
    /// Require an action (update-password, register-phone, verify-email, accept-terms) of
    /// one participant or of all.
    Require {
        /// The action.
        action: String,
        /// The participant's cohort number.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        number: Option<String>,
        /// Every participant (a security-upgrade campaign).
        #[arg(long)]
        all: bool,
    },
}

/// `sesame client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List the clients stored in the database.
    List,
    /// Create a client; a confidential client's secret is printed once.
    Add(ClientAdd),
    /// Delete a client.
    Remove {
        /// The client id.
        id: String,
    },
}

/// The fields of a new client.
#[derive(Debug, Args)]
pub struct ClientAdd {
    /// The client id.
    #[arg(long)]
    pub id: String,
    /// A display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri", required = true)]
    pub redirect_uris: Vec<String>,
    /// A URI allowed after logout (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE required).
    #[arg(long)]
    pub public: bool,
    /// Send the secret in the body (client_secret_post) rather than the header.
    #[arg(long, conflicts_with = "public")]
    pub secret_post: bool,
    /// A native application (any loopback port).
    #[arg(long)]
    pub native: bool,
    /// A scope the client may ask for besides openid (repeat for several).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Sign id_tokens with ES256 rather than RS256.
    #[arg(long)]
    pub es256: bool,
    /// Issue refresh tokens to this client.
    #[arg(long)]
    pub refresh_tokens: bool,
}

/// `sesame audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest events, newest first, one line each.
    List(AuditList),
}

/// What `sesame audit list` reads and how it prints it. The values are checked by the
/// command rather than here, so that a bad one gives one line on stderr.
///
/// TIME is RFC 3339 (2026-12-04T17:00:00Z), a date (2026-12-04, midnight UTC) or a
/// duration ago (90s, 10m, 24h, 7d).
#[derive(Debug, Args)]
pub struct AuditList {
    /// Only the events of the participant with this cohort number.
    #[arg(long, value_name = "NUMBER")]
    pub participant: Option<String>,
    /// Only the events at or after TIME.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only the events before TIME.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only the events of this kind, like login_succeeded (repeat for several).
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// How many events at most, the newest.
    #[arg(long, default_value = "50", value_name = "N")]
    pub limit: String,
    /// `lines` (readable) or `json` (one JSON object a line).
    #[arg(long, default_value = "lines", value_name = "FORMAT")]
    pub format: String,
}
