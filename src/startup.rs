//! The checks a start makes, shared by `serve` and `jwtapp config` so that both accept and
//! refuse exactly the same configurations, and the opening of the database.

use std::sync::Arc;

use rocket::figment::Figment;

use crate::auth::now;
use crate::auth::passwords::Passwords;
use crate::auth::tokens::{TokenKeys, TokenType};
use crate::auth::usernames;
use crate::config::{AuthConfig, secret_advice};
use crate::store::{NewUser, SqliteStore, Store};

/// The demo accounts of the original example, created in the debug profile on an empty database.
pub const DEMO_USERS: &[(&str, &str, bool)] = &[("admin", "admin", true), ("user", "user", false)];

/// A configuration that passed every check `serve` makes before it opens the database.
pub struct Checked {
    pub config: AuthConfig,
    /// The effective HS256 secret and CSRF key: `auth.secret`, or in the debug profile a random one.
    pub secret: Vec<u8>,
    /// True when `secret` was made up for this run (debug profile without `auth.secret`).
    pub random_secret: bool,
    pub keys: TokenKeys,
    /// The debug profile: demo accounts allowed, a random secret allowed.
    pub debug: bool,
    /// Things worth telling the operator that do not stop the start.
    pub warnings: Vec<String>,
}

/// Every check of the settings that `serve` makes before opening the database: the `auth` table,
/// what the profile allows, and the keys (which must sign and verify a token). The error is one
/// line naming the setting.
pub fn check(figment: &Figment) -> Result<Checked, String> {
    let mut warnings: Vec<String> = AuthConfig::unknown_keys(figment)
        .into_iter()
        .map(|key| {
            format!(
                "Rocket.toml: unknown setting `auth.{key}` is ignored (a typo, or a setting of a \
                 newer jwtapp?)"
            )
        })
        .collect();
    let config = AuthConfig::from_figment(figment).map_err(|e| e.to_string())?;
    let debug = figment.profile() == rocket::Config::DEBUG_PROFILE;
    let (secret, random_secret) = match &config.secret {
        Some(secret) => (secret.as_bytes().to_vec(), false),
        None if debug => {
            warnings.push(
                "auth.secret is not set: using a random signing secret for this run (debug \
                 profile only; tokens do not survive a restart)"
                    .into(),
            );
            let mut random = vec![0u8; 32];
            rand::fill(&mut random[..]);
            (random, true)
        }
        None => {
            return Err(format!(
                "auth.secret is required outside the debug profile: it {}",
                secret_advice()
            ));
        }
    };
    if config.demo_users && !debug {
        return Err(format!(
            "auth.demo_users may only be enabled in the debug profile (this is the {:?} profile)",
            figment.profile().as_str().as_str()
        ));
    }
    let keys = TokenKeys::new(&secret, &config).map_err(|e| e.to_string())?;
    // Fail at start, not on the first request, if the JWT crypto backend or the key is unusable.
    let probe = keys
        .mint(
            TokenType::Access,
            "probe",
            "probe",
            "probe",
            now(),
            u64::MAX,
        )
        .map_err(|e| format!("cannot sign tokens: {e}"))?;
    keys.verify(&probe.token, TokenType::Access, now())
        .map_err(|e| format!("cannot verify tokens: {e}"))?;
    Ok(Checked {
        config,
        secret,
        random_secret,
        keys,
        debug,
        warnings,
    })
}

/// The database, open and up to date: the schema migrated, canonical usernames filled in, and
/// the demo accounts of an older jwtapp recognised. Returns warnings about accounts that cannot
/// log in (look-alike usernames, demo accounts outside the debug profile). Blocking.
pub fn open_store(checked: &Checked) -> Result<(SqliteStore, Passwords, Vec<String>), String> {
    let config = &checked.config;
    let store = SqliteStore::open(&config.database)
        .map_err(|e| format!("auth.database ({}): {e}", config.database.display()))?;
    let passwords = Passwords::new(config.argon2_params()).map_err(|e| e.to_string())?;
    store
        .fill_canonical(&usernames::canonical)
        .map_err(|e| e.to_string())?;
    recognise_old_demo_accounts(&store, &passwords).map_err(|e| e.to_string())?;
    let mut warnings = Vec::new();
    for names in store.canonical_clashes().map_err(|e| e.to_string())? {
        let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
        warnings.push(format!(
            "users {} have the same username once letter case and look-alike characters are \
             ignored: none of them can log in until an administrator renames or deletes all \
             but one (`jwtapp user rename {} NEW_NAME` or `jwtapp user delete {}`)",
            quoted.join(" and "),
            names[0],
            names[0]
        ));
    }
    if !checked.debug {
        let demo: Vec<String> = store
            .list_users()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|user| user.is_demo)
            .map(|user| user.username)
            .collect();
        if !demo.is_empty() {
            warnings.push(format!(
                "the database holds the demo account(s) {} of a debug run, whose passwords are \
                 public: they cannot log in outside the debug profile. Remove them with {}",
                demo.join(", "),
                demo.iter()
                    .map(|name| format!("`jwtapp user delete {name}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
    }
    Ok((store, passwords, warnings))
}

/// Marks the demo accounts an older jwtapp made without marking them: an account named like
/// one whose password is still the published one. Costs one password check per such account,
/// once (a marked account is skipped).
fn recognise_old_demo_accounts(
    store: &SqliteStore,
    passwords: &Passwords,
) -> Result<(), crate::store::StoreError> {
    for (username, password, _) in DEMO_USERS {
        if let Some(user) = store.find_user(username)?
            && !user.is_demo
            && passwords.verify(password, Some(&user.password_hash))
        {
            store.mark_demo(username)?;
        }
    }
    Ok(())
}

/// Creates the demo accounts, marked as such, when the database has no users (debug profile).
/// Returns whether it did.
pub fn seed_demo_users(store: &dyn Store, passwords: &Passwords) -> Result<bool, String> {
    if store.count_users().map_err(|e| e.to_string())? > 0 {
        return Ok(false);
    }
    for (username, password, is_admin) in DEMO_USERS {
        let hash = passwords.hash(password).map_err(|e| e.to_string())?;
        store
            .create_user(&NewUser {
                username: (*username).to_owned(),
                canonical: usernames::canonical(username),
                password_hash: hash,
                is_admin: *is_admin,
                is_demo: true,
                now: now() as i64,
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(true)
}

/// The store as the services share it.
pub fn shared(store: SqliteStore) -> Arc<dyn Store> {
    Arc::new(store)
}
