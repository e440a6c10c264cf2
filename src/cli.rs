//! User management from the command line, on the same database and settings as the server.
//!
//! Changes take effect on the running server at the next request: it notices every commit to
//! the database, whichever process made it.

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use rocket::figment::Figment;

use crate::auth::passwords::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::auth::{now, usernames};
use crate::config::{AuthConfig, SigningAlgorithm};
use crate::routes::minutes;
use crate::startup;
use crate::store::{NewUser, Session, SqliteStore, Store, StoreError, User, reason};

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
    /// Stop a user from logging in and end their sessions; their live tokens are refused from
    /// the next request on.
    Disable { name: String },
    /// Allow a disabled user to log in again.
    Enable { name: String },
    /// Make a user an administrator.
    GrantAdmin { name: String },
    /// Take a user's administrator rights away (effective on their next request).
    RemoveAdmin { name: String },
    /// End every session (login) of a user: all their tokens stop working.
    EndSessions { name: String },
    /// List a user's live sessions.
    Sessions { name: String },
    /// Delete a user and all of their sessions.
    Delete { name: String },
    /// Give a user a new name (ends their sessions: their tokens carry the old one).
    Rename { old: String, new: String },
    /// List users.
    List,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(String);

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// Runs exactly the checks `serve` runs before it serves (settings, profile rules, keys, the
/// database) and describes the result; warnings go to standard error.
pub fn check_config(figment: &Figment) -> Result<String, CliError> {
    let checked = startup::check(figment).map_err(CliError)?;
    let (_store, _passwords, warnings) = startup::open_store(&checked).map_err(CliError)?;
    for warning in checked.warnings.iter().chain(&warnings) {
        eprintln!("warning: {warning}");
    }
    Ok(format!(
        "profile: {}\n{:#?}",
        figment.profile(),
        checked.config
    ))
}

/// Checks the signing keys and lists them, then the public JWK Set the server publishes.
pub fn show_keys(figment: &Figment) -> Result<String, CliError> {
    let config = load_config(figment)?;
    let (keys, random_secret) = load_keys(&config)?;
    let mut out = String::new();
    for key in keys.key_infos() {
        out.push_str(&format!(
            "{:<8} {:<6} kid={}\n",
            if key.active { "active" } else { "retired" },
            format!("{:?}", key.algorithm),
            key.kid
        ));
    }
    // Only an HS256 active key comes from auth.secret; a retired one has its own.
    if random_secret && config.signing_algorithm() == Some(SigningAlgorithm::Hs256) {
        out.push_str(
            "(auth.secret is not set: the active kid belongs to a random secret, as the debug \
             profile makes at each start)\n",
        );
    }
    let jwks = serde_json::to_string_pretty(keys.jwks()).map_err(fail)?;
    out.push_str(&format!(
        "JWK Set served at /.well-known/jwks.json:\n{jwks}"
    ));
    Ok(out)
}

/// The key ring of `config`; without `auth.secret`, with a random one (and `true`), as the debug
/// profile does. Whether a secret is required is the server's start-up check.
fn load_keys(config: &AuthConfig) -> Result<(TokenKeys, bool), CliError> {
    match &config.secret {
        Some(secret) => Ok((
            TokenKeys::new(secret.as_bytes(), config).map_err(fail)?,
            false,
        )),
        None => {
            let mut random = [0u8; 32];
            rand::fill(&mut random[..]);
            Ok((TokenKeys::new(&random, config).map_err(fail)?, true))
        }
    }
}

/// The validated settings, with a warning on standard error for each unknown key. (The user and
/// key commands need no secret, so they run in any profile.)
fn load_config(figment: &Figment) -> Result<AuthConfig, CliError> {
    for key in AuthConfig::unknown_keys(figment) {
        eprintln!("warning: unknown setting `auth.{key}` is ignored");
    }
    AuthConfig::from_figment(figment).map_err(fail)
}

/// Runs one user command against the database named in `figment`; returns what to print.
pub fn run_user_command(command: UserCommand, figment: &Figment) -> Result<String, CliError> {
    let config = load_config(figment)?;
    let store = SqliteStore::open(&config.database).map_err(fail)?;
    let now = now() as i64;
    match command {
        UserCommand::Add { name, admin } => {
            usernames::validate(&name).map_err(fail)?;
            let canonical = usernames::canonical(&name);
            // Refused before the password is asked for; the insert checks again.
            if let Some(existing) = store
                .find_users_by_canonical(&canonical)
                .map_err(fail)?
                .first()
            {
                return Err(fail(StoreError::UsernameTaken {
                    existing: existing.username.clone(),
                }));
            }
            let hash = new_password_hash(&config)?;
            store
                .create_user(&NewUser {
                    username: name.clone(),
                    canonical,
                    password_hash: hash,
                    is_admin: admin,
                    is_demo: false,
                    now,
                })
                .map_err(fail)?;
            Ok(format!(
                "created {}{name}",
                if admin { "administrator " } else { "user " }
            ))
        }
        UserCommand::Rename { old, new } => {
            let user = existing_user(&store, &old)?;
            usernames::validate(&new).map_err(fail)?;
            let ended = store
                .rename_user(&user.username, &new, &usernames::canonical(&new), now)
                .map_err(fail)?;
            Ok(format!(
                "renamed {} to {new}; {ended} session(s) ended",
                user.username
            ))
        }
        UserCommand::Passwd { name } => {
            let name = existing_user(&store, &name)?.username;
            let hash = new_password_hash(&config)?;
            let ended = store
                .change_password(&name, &hash, None, now)
                .map_err(fail)?;
            Ok(format!(
                "password of {name} changed; {ended} session(s) ended"
            ))
        }
        UserCommand::Disable { name } => {
            let name = existing_user(&store, &name)?.username;
            store.set_enabled(&name, false, now).map_err(fail)?;
            Ok(format!("disabled {name} and ended their sessions"))
        }
        UserCommand::Enable { name } => {
            let name = existing_user(&store, &name)?.username;
            store.set_enabled(&name, true, now).map_err(fail)?;
            Ok(format!("enabled {name}"))
        }
        UserCommand::GrantAdmin { name } => {
            let name = existing_user(&store, &name)?.username;
            store.set_admin(&name, true, now).map_err(fail)?;
            Ok(format!("{name} is now an administrator"))
        }
        UserCommand::RemoveAdmin { name } => {
            let name = existing_user(&store, &name)?.username;
            store.set_admin(&name, false, now).map_err(fail)?;
            Ok(format!("{name} is no longer an administrator"))
        }
        UserCommand::EndSessions { name } => {
            let user = existing_user(&store, &name)?;
            let ended = store
                .revoke_user_sessions(user.id, None, now, reason::ADMIN)
                .map_err(fail)?;
            Ok(format!("ended {ended} session(s) of {name}"))
        }
        UserCommand::Sessions { name } => {
            let user = existing_user(&store, &name)?;
            let idle = config.refresh_idle_secs as i64;
            let limit = config.max_sessions_per_user;
            let sessions = store
                .live_sessions(user.id, now, idle, limit)
                .map_err(fail)?;
            Ok(format_sessions(&sessions))
        }
        UserCommand::Delete { name } => {
            let name = existing_user(&store, &name)?.username;
            store.delete_user(&name).map_err(fail)?;
            Ok(format!("deleted {name} and their sessions"))
        }
        UserCommand::List => Ok(format_users(&store.list_users().map_err(fail)?)),
    }
}

/// The user a command names: the one with exactly that spelling, or else the one with its
/// canonical form (`jwtapp user disable ALICE` finds `alice`). Several users of one canonical
/// form (a database from before the rule) must be named exactly.
fn existing_user(store: &SqliteStore, name: &str) -> Result<User, CliError> {
    if let Some(user) = store.find_user(name).map_err(fail)? {
        return Ok(user);
    }
    let mut found = store
        .find_users_by_canonical(&usernames::canonical(name))
        .map_err(fail)?;
    match found.len() {
        0 => Err(CliError(format!("no user named {name:?}"))),
        1 => Ok(found.remove(0)),
        _ => {
            let names: Vec<String> = found.iter().map(|u| format!("{:?}", u.username)).collect();
            Err(CliError(format!(
                "{name:?} matches several users ({}): name one exactly",
                names.join(", ")
            )))
        }
    }
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

fn format_users(users: &[User]) -> String {
    if users.is_empty() {
        return "no users".into();
    }
    let width = users
        .iter()
        .map(|u| u.username.chars().count())
        .max()
        .unwrap_or(0)
        .max("USERNAME".len());
    let mut out = format!(
        "{:<width$}  {:<5}  {:<8}  CREATED (UTC)",
        "USERNAME", "ADMIN", "ENABLED"
    );
    for user in users {
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

/// Reads a new password (twice at a terminal, without echo; one line from a pipe), checks the
/// policy and hashes it.
fn new_password_hash(config: &AuthConfig) -> Result<String, CliError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(fail)?;
        let second = rpassword::prompt_password("Repeat password: ").map_err(fail)?;
        if first != second {
            return Err(CliError("the passwords do not match".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(fail)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    Passwords::check_policy(&password).map_err(fail)?;
    let passwords = Passwords::new(config.argon2_params()).map_err(fail)?;
    passwords.hash(&password).map_err(fail)
}
