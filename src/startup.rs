//! The composition root: the checks every start makes (shared by `serve` and `jwtapp config`,
//! so both accept and refuse exactly the same configurations), opening the database, and
//! building the services the web layer serves.

use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;
use secrecy::SecretSlice;

use crate::auth::{
    Accounts, Auth, AuthError, Clock, EventLog, KeyError, KeyRing, PasswordError, Passwords,
    Sealer, TokenKeys, TokenType,
};
use crate::config::{AuthConfig, ConfigError, Layers};
use crate::metrics::Metrics;
use crate::store::{CachingStore, ChangeFeed, Location, PgStore, SqliteStore, Store, StoreError};
use crate::web;

/// Why the application cannot start, naming the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "auth.secret is required outside the debug profile: it {}",
        crate::config::secret_advice()
    )]
    NoSecret,
    #[error("auth.demo_users may only be enabled in the debug profile (this is the {0:?} profile)")]
    DemoUsers(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot sign or verify tokens")]
    Tokens(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("auth.database ({path})")]
    Database {
        path: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot prepare the accounts")]
    Accounts(#[source] AuthError),
    #[error("cannot set up password hashing")]
    Passwords(#[source] PasswordError),
    #[error(transparent)]
    Web(#[from] web::WebError),
    #[error("a start-up task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// A configuration that passed every check `serve` makes before it opens the database.
pub struct Checked {
    pub config: AuthConfig,
    pub layers: Layers,
    /// The effective HS256 secret and CSRF key: `auth.secret`, or in the debug profile a random one.
    pub secret: SecretSlice<u8>,
    /// True when `secret` was made up for this run (debug profile without `auth.secret`).
    pub random_secret: bool,
    pub keys: TokenKeys,
    /// The debug profile: demo accounts allowed, a random secret allowed.
    pub debug: bool,
    /// Things worth telling the operator that do not stop the start.
    pub warnings: Vec<String>,
}

/// Every check of the settings that `serve` makes before opening the database: Rocket's own
/// settings, the `auth` table, what the profile allows, and the keys (which must sign and verify
/// a token).
pub fn check(figment: &Figment, clock: &dyn Clock) -> Result<Checked, StartError> {
    crate::config::check_rocket_settings(figment)?;
    let loaded = AuthConfig::load(figment)?;
    let config = loaded.config;
    let mut warnings: Vec<String> = loaded
        .unknown_keys
        .iter()
        .map(|key| {
            format!(
                "Rocket.toml: unknown setting `{key}` is ignored (a typo, or a setting of a \
                 newer jwtapp?)"
            )
        })
        .collect();
    let profile = figment.profile();
    let debug = profile == rocket::Config::DEBUG_PROFILE;
    let (secret, random_secret): (SecretSlice<u8>, bool) = match &config.secret {
        Some(secret) => {
            use secrecy::ExposeSecret;
            (secret.expose_secret().as_bytes().to_vec().into(), false)
        }
        None if debug => {
            warnings.push(
                "auth.secret is not set: using a random signing secret for this run (debug \
                 profile only; tokens do not survive a restart)"
                    .into(),
            );
            let mut random = vec![0u8; 32];
            rand::fill(&mut random[..]);
            (random.into(), true)
        }
        None => return Err(StartError::NoSecret),
    };
    if config.demo_users && !debug {
        return Err(StartError::DemoUsers(profile.as_str().as_str().to_owned()));
    }
    let layers = config.layers(debug);
    let ring = KeyRing::load(&config.key_settings(secret.clone()))?;
    let keys = TokenKeys::new(&ring, layers.auth.tokens.clone())?;
    // Fail at start, not on the first request, if the JWT crypto backend or the key is unusable.
    let now = clock.now();
    let probe = keys
        .mint(TokenType::Access, "probe", "probe", "probe", now, u64::MAX)
        .map_err(|e| StartError::Tokens(Box::new(e)))?;
    keys.verify(&probe.token, TokenType::Access, now)
        .map_err(|e| StartError::Tokens(Box::new(e)))?;
    Ok(Checked {
        config,
        layers,
        secret,
        random_secret,
        keys,
        debug,
        warnings,
    })
}

/// What seals stored second-factor secrets: a key from the effective secret, and keys from the
/// retired HS256 secrets, which still open what they sealed.
fn sealer(config: &AuthConfig, secret: &SecretSlice<u8>) -> Sealer {
    use secrecy::ExposeSecret;
    let retired: Vec<&[u8]> = config
        .retired_keys
        .iter()
        .filter_map(|key| key.secret.as_ref())
        .map(|secret| secret.expose_secret().as_bytes())
        .collect();
    Sealer::new(secret.expose_secret(), &retired)
}

/// Opens the database the settings name (a SQLite file, created if needed, or PostgreSQL) and
/// brings its schema up to date.
pub async fn open_database(config: &AuthConfig) -> Result<Arc<dyn Store>, StartError> {
    Ok(open(config, None).await?.0)
}

/// Opens the database and, with `poll` (the SQLite poll interval), the feed of what other
/// processes and instances change.
async fn open(
    config: &AuthConfig,
    poll: Option<Duration>,
) -> Result<(Arc<dyn Store>, Option<ChangeFeed>), StartError> {
    let location = config.database.location();
    let failed = |source| StartError::Database {
        path: location.redacted(),
        source,
    };
    match &location {
        Location::Sqlite(path) => {
            let path = path.clone();
            let opened = tokio::task::spawn_blocking(move || {
                let sqlite = SqliteStore::open(&path)?;
                let feed = poll.map(|every| sqlite.watch_commits(every)).transpose()?;
                Ok::<_, StoreError>((sqlite, feed))
            })
            .await?;
            let (sqlite, feed) = opened.map_err(failed)?;
            Ok((Arc::new(sqlite), feed))
        }
        Location::Postgres(url) => {
            let pg = PgStore::open(url, config.database_max_connections)
                .await
                .map_err(failed)?;
            let feed = match poll {
                Some(_) => Some(pg.watch_commits().await.map_err(failed)?),
                None => None,
            };
            Ok((Arc::new(pg), feed))
        }
    }
}

/// The accounts service over `store`, as the CLI and the start use it.
pub fn accounts(
    checked_config: &AuthConfig,
    layers: &Layers,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    events: EventLog,
) -> Result<Accounts, StartError> {
    let passwords =
        Passwords::new(checked_config.argon2_params(), 1).map_err(StartError::Passwords)?;
    let limits = crate::store::SessionLimits {
        max_per_user: layers.auth.max_sessions_per_user,
        idle_secs: layers.auth.refresh_idle_secs as i64,
    };
    Ok(Accounts::new(
        store,
        passwords,
        clock,
        limits,
        events,
        layers.auth.fresh_secs,
    ))
}

/// Brings the database's accounts up to today's rules; returns warnings for the operator.
pub async fn prepare_accounts(accounts: &Accounts, debug: bool) -> Result<Vec<String>, StartError> {
    accounts.prepare(debug).await.map_err(StartError::Accounts)
}

/// Everything `serve` needs, checked and open: the settings, the database (with its cache and
/// change feed), the demo accounts where configured, and the services.
pub async fn serve(
    figment: &Figment,
    clock: Arc<dyn Clock>,
) -> Result<(Auth, web::Settings, SecretSlice<u8>), StartError> {
    let checked = check(figment, clock.as_ref())?;
    for warning in &checked.warnings {
        log::warn!("{warning}");
    }
    let keys = &checked.keys;
    log::info!(
        "signing tokens with key {} ({} key(s) verify)",
        keys.active_key_id(),
        keys.key_infos().len()
    );
    let poll = checked.layers.change_poll;
    let (database, feed) = open(&checked.config, Some(poll)).await?;
    let feed = feed.unwrap_or_else(ChangeFeed::manual);
    match checked.config.database.location() {
        Location::Sqlite(path) => log::info!(
            "database {}: other processes' commits are seen within {} ms",
            path.display(),
            poll.as_millis()
        ),
        Location::Postgres(url) => log::info!(
            "database {}: other instances' changes are heard through LISTEN/NOTIFY",
            crate::store::redact(&url)
        ),
    }
    let metrics = Metrics::new();
    let store = CachingStore::new(database, feed, Arc::clone(&metrics));
    let events = EventLog::start(
        Arc::clone(&store) as Arc<dyn Store>,
        Arc::clone(&clock),
        metrics,
    );
    let accounts = accounts(
        &checked.config,
        &checked.layers,
        Arc::clone(&store) as Arc<dyn Store>,
        Arc::clone(&clock),
        events.clone(),
    )?;
    for warning in prepare_accounts(&accounts, checked.debug).await? {
        log::warn!("{warning}");
    }
    if checked.config.demo_users
        && accounts
            .seed_demo_accounts()
            .await
            .map_err(StartError::Accounts)?
    {
        log::warn!(
            "created the demo accounts admin/admin (administrator) and user/user: for trying \
             jwtapp out only; they cannot log in outside the debug profile"
        );
    }
    let Layers { auth, web, .. } = checked.layers;
    if auth.reissue_threshold_secs < checked.config.reissue_threshold_secs {
        log::info!(
            "auth.reissue_threshold_secs: using {} s, half the access lifetime",
            auth.reissue_threshold_secs
        );
    }
    let sealer = sealer(&checked.config, &checked.secret);
    let service = Auth::new(auth, checked.keys, store, clock, events, sealer)
        .map_err(StartError::Passwords)?;
    Ok((service, web, checked.secret))
}
