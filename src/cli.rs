//! The command line: user management and configuration checks, on the same database and
//! settings as the server, through the same accounts service as the admin pages.
//!
//! Changes reach a running server within moments, with no restart: it notices every commit to
//! the database, whichever process made it (within `change_poll_ms` on SQLite, by notification
//! on PostgreSQL).

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use rocket::figment::Figment;

use crate::auth::{
    Accounts, Actor, AdminAction, AuthError, EventLog, Passwords, SigningAlgorithm, SystemClock,
    UserSummary, minutes,
};
use crate::config::AuthConfig;
use crate::error_chain::chain;
use crate::metrics::Metrics;
use crate::startup::{self, StartError};
use crate::store::{Session, Store, schema_version};

/// jwtapp: JSON Web Token authentication for Rocket.
#[derive(Debug, Parser)]
#[command(name = "jwtapp", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the application (the default). Settings come from Rocket.toml and ROCKET_* variables.
    Serve,
    /// Manage users in the configured database.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the settings of the selected profile and print them (the secret redacted).
    Config,
    /// Check the signing keys and print their kids and the JWK Set of /.well-known/jwks.json.
    Keys,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is prompted for (or read from standard input when piped).
    Add {
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a new password (prompted, or read from standard input when piped); ends all of the
    /// user's sessions.
    Passwd { name: String },
    /// Stop a user from logging in and end their sessions; their live tokens are refused as soon
    /// as the server sees the change (within moments).
    Disable { name: String },
    /// Allow a disabled user to log in again.
    Enable { name: String },
    /// Make a user an administrator.
    GrantAdmin { name: String },
    /// Take a user's administrator rights away (the server sees it within moments).
    RemoveAdmin { name: String },
    /// End every session (login) of a user: all their tokens stop working.
    EndSessions { name: String },
    /// Remove a user's second factor (a lost phone, no recovery codes left) and end their
    /// sessions: they sign in with their password alone until they set it up again.
    #[command(name = "reset-2fa")]
    ResetSecondFactor { name: String },
    /// List a user's live sessions.
    Sessions { name: String },
    /// Delete a user and all of their sessions.
    Delete { name: String },
    /// Give a user a new name (ends their sessions: their tokens carry the old one).
    Rename { old: String, new: String },
    /// List users.
    List,
}

/// A command that failed, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the passwords do not match")]
    PasswordsDiffer,
    #[error("cannot read the password")]
    ReadPassword(#[source] std::io::Error),
    #[error("cannot start the command's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot print the JWK Set")]
    Json(#[source] serde_json::Error),
}

impl CliError {
    /// The error and its causes, on one line.
    pub fn describe(&self) -> String {
        chain(self)
    }
}

/// Runs a command other than `serve`; returns what to print.
pub fn run(command: Command, figment: &Figment) -> Result<String, CliError> {
    match command {
        Command::Serve => Ok(String::new()),
        Command::Config => check_config(figment),
        Command::Keys => show_keys(figment),
        Command::User(command) => run_user_command(command, figment),
    }
}

/// A runtime for the async services, on this thread.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// Makes exactly the checks `serve` makes before it serves (settings, profile rules, keys, the
/// database and its accounts) and describes the result; warnings go to standard error.
fn check_config(figment: &Figment) -> Result<String, CliError> {
    let checked = startup::check(figment, &SystemClock)?;
    let (version, warnings) = runtime()?.block_on(async {
        let store = startup::open_database(&checked.config).await?;
        let version = store
            .schema_version()
            .await
            .map_err(|source| StartError::Database {
                path: checked.config.database.location().redacted(),
                source,
            })?;
        let accounts = startup::accounts(
            &checked.config,
            &checked.layers,
            Arc::clone(&store),
            Arc::new(SystemClock),
            event_log(&store),
        )?;
        let warnings = startup::prepare_accounts(&accounts, checked.debug).await;
        accounts.events().flush().await;
        Ok::<_, CliError>((version, warnings?))
    })?;
    for warning in checked.warnings.iter().chain(&warnings) {
        eprintln!("warning: {warning}");
    }
    Ok(format!(
        "profile: {}\ndatabase: {}\nschema version: {version} (this build's: {})\n{:#?}",
        figment.profile(),
        checked.config.database.location().redacted(),
        schema_version(),
        checked.config
    ))
}

/// Checks the signing keys the way `serve` does and lists their kids (compare them between
/// instances: every instance must have the same keys), then the public JWK Set.
fn show_keys(figment: &Figment) -> Result<String, CliError> {
    let checked = startup::check(figment, &SystemClock)?;
    for warning in &checked.warnings {
        eprintln!("warning: {warning}");
    }
    let mut out = String::new();
    let infos = checked.keys.key_infos();
    for key in infos {
        out.push_str(&format!(
            "{:<8} {:<6} kid={}\n",
            if key.active { "active" } else { "retired" },
            format!("{:?}", key.algorithm),
            key.kid
        ));
    }
    // Only an HS256 active key comes from auth.secret; a retired one has its own.
    if checked.random_secret && checked.config.signing_algorithm() == Some(SigningAlgorithm::Hs256)
    {
        out.push_str(
            "(auth.secret is not set: the active kid belongs to a random secret, as the debug \
             profile makes at each start)\n",
        );
    }
    // One line to compare between instances: they must all sign with the same key and verify
    // with the same ones.
    let kids: Vec<&str> = infos.iter().map(|key| key.kid.as_str()).collect();
    out.push_str(&format!(
        "key set: active {} of {} (compare this line between instances)\n",
        infos
            .iter()
            .find(|key| key.active)
            .map_or("none", |key| key.kid.as_str()),
        kids.join(",")
    ));
    let jwks = serde_json::to_string_pretty(checked.keys.jwks()).map_err(CliError::Json)?;
    out.push_str(&format!(
        "JWK Set served at /.well-known/jwks.json:\n{jwks}"
    ));
    Ok(out)
}

/// Runs one user command against the database the configuration names; returns what to print.
/// The user commands need no secret, so they run in any profile.
fn run_user_command(command: UserCommand, figment: &Figment) -> Result<String, CliError> {
    let loaded = AuthConfig::load(figment).map_err(StartError::from)?;
    for key in &loaded.unknown_keys {
        eprintln!("warning: unknown setting `{key}` is ignored");
    }
    let config = loaded.config;
    let layers = config.layers(figment.profile() == rocket::Config::DEBUG_PROFILE);
    runtime()?.block_on(async {
        let store = startup::open_database(&config).await?;
        let events = event_log(&store);
        let accounts = startup::accounts(
            &config,
            &layers,
            store,
            Arc::new(SystemClock),
            events.clone(),
        )?;
        // A database an older jwtapp wrote may hold no (or stale) canonical forms: every check
        // of a new name compares today's.
        accounts.refresh_canonical().await?;
        let done = user_command(&accounts, command).await;
        // The trail gets what the command did before the process ends.
        events.flush().await;
        done
    })
}

/// The security event log of one command: its events go to the same trail as the server's.
fn event_log(store: &Arc<dyn Store>) -> EventLog {
    EventLog::start(Arc::clone(store), Arc::new(SystemClock), Metrics::new())
}

async fn user_command(accounts: &Accounts, command: UserCommand) -> Result<String, CliError> {
    let apply = |name: String, action: AdminAction| async move {
        accounts.apply(Actor::CommandLine, &name, action).await
    };
    Ok(match command {
        UserCommand::Add { name, admin } => {
            // Refused before the password is asked for; the insert checks again.
            accounts.check_new_username(&name).await?;
            let password = read_new_password()?;
            accounts
                .create(Actor::CommandLine, &name, &password, admin)
                .await?;
            let kind = if admin { "administrator" } else { "user" };
            format!("created {kind} {name}")
        }
        UserCommand::Passwd { name } => {
            let name = accounts.find(&name).await?.username;
            let password = read_new_password()?;
            let (name, ended) = accounts
                .set_password(Actor::CommandLine, &name, &password)
                .await?;
            format!("password of {name} changed; {ended} session(s) ended")
        }
        UserCommand::Rename { old, new } => {
            let (old, ended) = accounts.rename(Actor::CommandLine, &old, &new).await?;
            format!("renamed {old} to {new}; {ended} session(s) ended")
        }
        UserCommand::Disable { name } => {
            let done = apply(name, AdminAction::Disable).await?;
            format!(
                "disabled {} and ended their sessions ({})",
                done.username, done.ended
            )
        }
        UserCommand::Enable { name } => {
            format!(
                "enabled {}",
                apply(name, AdminAction::Enable).await?.username
            )
        }
        UserCommand::GrantAdmin { name } => format!(
            "{} is now an administrator",
            apply(name, AdminAction::GrantAdmin).await?.username
        ),
        UserCommand::RemoveAdmin { name } => format!(
            "{} is no longer an administrator",
            apply(name, AdminAction::RemoveAdmin).await?.username
        ),
        UserCommand::ResetSecondFactor { name } => {
            let done = apply(name, AdminAction::ResetSecondFactor).await?;
            format!(
                "removed the second factor of {} and ended their sessions ({})",
                done.username, done.ended
            )
        }
        UserCommand::EndSessions { name } => {
            let done = apply(name, AdminAction::EndSessions).await?;
            format!("ended {} session(s) of {}", done.ended, done.username)
        }
        UserCommand::Delete { name } => {
            let done = apply(name, AdminAction::Delete).await?;
            format!(
                "deleted {} and their sessions ({})",
                done.username, done.ended
            )
        }
        UserCommand::Sessions { name } => format_sessions(&accounts.sessions_of(&name).await?),
        UserCommand::List => format_users(&accounts.list().await?),
    })
}

fn format_sessions(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "no live sessions".into();
    }
    let mut out = format!(
        "{:<22}  {:<16}  {:<16}  {:<39}  USER AGENT",
        "SESSION", "SIGNED IN (UTC)", "LAST USED (UTC)", "ADDRESS"
    );
    for s in sessions {
        out.push_str(&format!(
            "\n{:<22}  {:<16}  {:<16}  {:<39}  {}",
            s.id,
            minutes(s.created_at),
            minutes(s.last_used_at),
            s.address.as_deref().unwrap_or("-"),
            s.user_agent.as_deref().unwrap_or("-"),
        ));
    }
    out
}

fn format_users(users: &[UserSummary]) -> String {
    if users.is_empty() {
        return "no users".into();
    }
    let width = users
        .iter()
        .map(|u| u.user.username.chars().count())
        .max()
        .unwrap_or(0)
        .max("USERNAME".len());
    let mut out = format!(
        "{:<width$}  {:<5}  {:<8}  CREATED (UTC)",
        "USERNAME", "ADMIN", "ENABLED"
    );
    for UserSummary { user, .. } in users {
        let created = minutes(user.created_at);
        out.push_str(&format!(
            "\n{:<width$}  {:<5}  {:<8}  {created}",
            user.username,
            if user.is_admin { "yes" } else { "no" },
            if user.enabled { "yes" } else { "no" },
        ));
    }
    out
}

/// Reads a new password: twice at a terminal, without echo; one line from a pipe. The accounts
/// service checks the policy.
fn read_new_password() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(CliError::ReadPassword)?;
        let second =
            rpassword::prompt_password("Repeat password: ").map_err(CliError::ReadPassword)?;
        if first != second {
            return Err(CliError::PasswordsDiffer);
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::ReadPassword)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    // Checked here too, so a refused password is reported before anything else happens.
    Passwords::check_policy(&password).map_err(AuthError::from)?;
    Ok(password)
}
