//! What administrators do to user accounts, from the admin pages and from the CLI alike: one
//! service, so both follow the same rules. Every change goes through the store in one
//! transaction and takes effect on the affected user's next request.

use std::collections::HashMap;
use std::sync::Arc;

use super::clock::Clock;
use super::error::AuthError;
use super::events::{By, EventKind, EventLog, SecurityEvent};
use super::passwords::Passwords;
use super::principal::{ClientInfo, Principal};
use super::usernames;
use crate::store::{NewUser, Session, SessionLimits, Store, User, reason};

/// The demo accounts of the original example, created in the debug profile on an empty database.
pub const DEMO_USERS: &[(&str, &str, bool)] = &[("admin", "admin", true), ("user", "user", false)];

/// A user as the administrators' list shows them.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: User,
    /// Active sessions (logins) of the user.
    pub sessions: u64,
}

/// Who makes a change: the rules differ a little (an administrator cannot lock themselves out
/// from a page; the command line can do anything).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An administrator, signed in, from this client (the trail records its address).
    Admin(&'a Principal, &'a ClientInfo),
    CommandLine,
}

impl Actor<'_> {
    /// An event about `user`, done by this actor.
    fn event(self, kind: EventKind, user: &User) -> SecurityEvent {
        let event = SecurityEvent::new(kind).user(user.id, &user.username);
        match self {
            Actor::Admin(admin, client) => event.client(client).by(By::Admin(&admin.username)),
            Actor::CommandLine => event.by(By::CommandLine),
        }
    }
}

/// What an administrator can do to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    Enable,
    /// Also ends all of the user's sessions.
    Disable,
    GrantAdmin,
    RemoveAdmin,
    EndSessions,
    /// Also deletes the user's sessions.
    Delete,
    /// Removes the user's second factor (a lost phone, no recovery codes left) and ends their
    /// sessions; they sign in with the password alone until they set it up again.
    ResetSecondFactor,
}

impl AdminAction {
    /// The action named by a form or command (`enable`, `disable`, `grant-admin`,
    /// `remove-admin`, `end-sessions`, `delete`).
    pub fn parse(name: &str) -> Option<AdminAction> {
        Some(match name {
            "enable" => AdminAction::Enable,
            "disable" => AdminAction::Disable,
            "grant-admin" => AdminAction::GrantAdmin,
            "remove-admin" => AdminAction::RemoveAdmin,
            "end-sessions" => AdminAction::EndSessions,
            "delete" => AdminAction::Delete,
            "reset-2fa" => AdminAction::ResetSecondFactor,
            _ => return None,
        })
    }

    /// What was done, as a sentence: "Disabled alice and ended their sessions."
    pub fn done(self, username: &str) -> String {
        match self {
            AdminAction::Enable => format!("Enabled {username}."),
            AdminAction::Disable => format!("Disabled {username} and ended their sessions."),
            AdminAction::GrantAdmin => format!("{username} is now an administrator."),
            AdminAction::RemoveAdmin => format!("{username} is no longer an administrator."),
            AdminAction::EndSessions => format!("Ended every session of {username}."),
            AdminAction::Delete => format!("Deleted {username} and their sessions."),
            AdminAction::ResetSecondFactor => {
                format!("Removed the second factor of {username} and ended their sessions.")
            }
        }
    }

    /// The event this action records.
    fn event_kind(self) -> EventKind {
        match self {
            AdminAction::Enable => EventKind::UserEnabled,
            AdminAction::Disable => EventKind::UserDisabled,
            AdminAction::GrantAdmin => EventKind::AdminGranted,
            AdminAction::RemoveAdmin => EventKind::AdminRemoved,
            AdminAction::EndSessions => EventKind::SessionsEndedAll,
            AdminAction::Delete => EventKind::UserDeleted,
            AdminAction::ResetSecondFactor => EventKind::MfaDisabled,
        }
    }

    /// Whether an administrator may do this to their own account from a page: not what would
    /// lock them out mid-request.
    fn locks_out(self) -> bool {
        matches!(
            self,
            AdminAction::Disable
                | AdminAction::RemoveAdmin
                | AdminAction::Delete
                | AdminAction::ResetSecondFactor
        )
    }
}

/// What an action did: to whom (the name as stored), and how many sessions it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub username: String,
    pub ended: usize,
}

/// The accounts service.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    passwords: Passwords,
    clock: Arc<dyn Clock>,
    limits: SessionLimits,
    events: EventLog,
    /// An administrator's change needs a password entered within this many seconds.
    fresh_secs: u64,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        passwords: Passwords,
        clock: Arc<dyn Clock>,
        limits: SessionLimits,
        events: EventLog,
        fresh_secs: u64,
    ) -> Accounts {
        Accounts {
            store,
            passwords,
            clock,
            limits,
            events,
            fresh_secs,
        }
    }

    /// The security event log the accounts service records to.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// Refuses an administrator whose password was not entered recently (the command line is
    /// trusted: it has the database).
    fn require_fresh(&self, actor: Actor<'_>) -> Result<(), AuthError> {
        match actor {
            Actor::Admin(admin, _) if !admin.is_fresh(self.clock.now(), self.fresh_secs) => {
                Err(AuthError::FreshLoginRequired)
            }
            _ => Ok(()),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now() as i64
    }

    /// The user a command or form names: the one with exactly that spelling, or else the one
    /// with its canonical form (`ALICE` finds `alice`). Several users of one canonical form (a
    /// database from before the rule) must be named exactly.
    pub async fn find(&self, name: &str) -> Result<User, AuthError> {
        if let Some(user) = self.store.find_user(name).await? {
            return Ok(user);
        }
        let mut found = self
            .store
            .find_users_by_canonical(&usernames::canonical(name))
            .await?;
        match found.len() {
            0 => Err(AuthError::NotFound(format!("no user named {name:?}"))),
            1 => Ok(found.remove(0)),
            _ => {
                let names: Vec<String> =
                    found.iter().map(|u| format!("{:?}", u.username)).collect();
                Err(AuthError::NotFound(format!(
                    "{name:?} matches several users ({}): name one exactly",
                    names.join(", ")
                )))
            }
        }
    }

    /// Refuses a new username that cannot be used, or whose canonical form is taken: checked
    /// before anyone is asked for a password (the store checks again when it writes).
    pub async fn check_new_username(&self, name: &str) -> Result<(), AuthError> {
        usernames::validate(name)?;
        let canonical = usernames::canonical(name);
        match self
            .store
            .find_users_by_canonical(&canonical)
            .await?
            .first()
        {
            Some(existing) => Err(AuthError::UsernameTaken {
                existing: existing.username.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Creates a user with a new password.
    pub async fn create(
        &self,
        actor: Actor<'_>,
        name: &str,
        password: &str,
        admin: bool,
    ) -> Result<User, AuthError> {
        self.require_fresh(actor)?;
        usernames::validate(name)?;
        Passwords::check_policy(password)?;
        let password_hash = self.hash(password).await?;
        let user = self
            .store
            .create_user(NewUser {
                username: name.to_owned(),
                canonical: usernames::canonical(name),
                password_hash,
                is_admin: admin,
                is_demo: false,
                now: self.now(),
            })
            .await?;
        let role = if admin { "an administrator" } else { "a user" };
        self.events
            .record(actor.event(EventKind::UserCreated, &user).detail(role));
        Ok(user)
    }

    /// Gives a user a new name; their sessions end (their tokens carry the old one). Returns
    /// the old name and how many sessions ended.
    pub async fn rename(
        &self,
        actor: Actor<'_>,
        name: &str,
        new_name: &str,
    ) -> Result<(String, usize), AuthError> {
        self.require_fresh(actor)?;
        let user = self.find(name).await?;
        usernames::validate(new_name)?;
        let ended = self
            .store
            .rename_user(
                &user.username,
                new_name,
                &usernames::canonical(new_name),
                self.now(),
            )
            .await?;
        let renamed = User {
            username: new_name.to_owned(),
            ..user.clone()
        };
        self.events.record(
            actor
                .event(EventKind::UserRenamed, &renamed)
                .detail(format!(
                    "from {:?}; {} session(s) ended",
                    user.username,
                    ended.len()
                )),
        );
        Ok((user.username, ended.len()))
    }

    /// Sets a new password (an administrator's reset); every session of the user ends. Returns
    /// the user's name and how many sessions ended.
    pub async fn set_password(
        &self,
        actor: Actor<'_>,
        name: &str,
        password: &str,
    ) -> Result<(String, usize), AuthError> {
        self.require_fresh(actor)?;
        let user = self.find(name).await?;
        Passwords::check_policy(password)?;
        let hash = self.hash(password).await?;
        let ended = self
            .store
            .change_password(&user.username, &hash, None, self.now())
            .await?;
        self.events.record(
            actor
                .event(EventKind::PasswordChanged, &user)
                .detail(format!("reset; {} session(s) ended", ended.len())),
        );
        Ok((user.username, ended.len()))
    }

    /// Carries out `action` on the user `name` for `actor`.
    pub async fn apply(
        &self,
        actor: Actor<'_>,
        name: &str,
        action: AdminAction,
    ) -> Result<Applied, AuthError> {
        self.require_fresh(actor)?;
        let user = self.find(name).await?;
        if let Actor::Admin(admin, _) = actor
            && admin.user_id == user.id
            && action.locks_out()
        {
            return Err(AuthError::NotAllowed(
                "you cannot disable, demote, delete yourself or reset your own second factor \
                 here; another administrator or the command line can (your own second factor is \
                 on the Two-step sign-in page)",
            ));
        }
        let (now, username) = (self.now(), user.username.as_str());
        let ended = match action {
            AdminAction::Enable => self.store.set_enabled(username, true, now).await?,
            AdminAction::Disable => self.store.set_enabled(username, false, now).await?,
            AdminAction::GrantAdmin => {
                self.store.set_admin(username, true, now).await?;
                Vec::new()
            }
            AdminAction::RemoveAdmin => {
                self.store.set_admin(username, false, now).await?;
                Vec::new()
            }
            AdminAction::EndSessions => {
                self.store
                    .revoke_user_sessions(user.id, None, now, reason::ADMIN)
                    .await?
            }
            AdminAction::Delete => self.store.delete_user(username).await?,
            AdminAction::ResetSecondFactor => {
                let (was_on, ended) = self.store.disable_totp(user.id, true, now).await?;
                if !was_on {
                    return Err(AuthError::NotAllowed(
                        "this user has no second factor to remove",
                    ));
                }
                ended
            }
        };
        let mut event = actor.event(action.event_kind(), &user);
        if !ended.is_empty() || action == AdminAction::EndSessions {
            event = event.detail(format!("{} session(s) ended", ended.len()));
        }
        self.events.record(event);
        Ok(Applied {
            username: user.username.clone(),
            ended: ended.len(),
        })
    }

    /// Every user, with how many active sessions each has.
    pub async fn list(&self) -> Result<Vec<UserSummary>, AuthError> {
        let now = self.now();
        let users = self.store.list_users().await?;
        let counts = self
            .store
            .active_session_counts(now, self.limits.idle_secs)
            .await?;
        Ok(users
            .into_iter()
            .map(|user| UserSummary {
                sessions: counts.get(&user.id).copied().unwrap_or(0),
                user,
            })
            .collect())
    }

    /// A user's active sessions, most recently used first.
    pub async fn sessions_of(&self, name: &str) -> Result<Vec<Session>, AuthError> {
        let user = self.find(name).await?;
        Ok(self
            .store
            .active_sessions(
                user.id,
                self.now(),
                self.limits.idle_secs,
                self.limits.max_per_user,
            )
            .await?)
    }

    /// Recomputes every stored canonical form (see [`Store::refresh_canonical`]), so that the
    /// uniqueness checks of every write compare today's forms. Before any command changes users.
    pub async fn refresh_canonical(&self) -> Result<(), AuthError> {
        let changed = self.store.refresh_canonical(usernames::canonical).await?;
        if changed > 0 {
            log::info!("recomputed the canonical username of {changed} user(s)");
        }
        Ok(())
    }

    /// Brings the accounts of an existing database up to today's rules, once at start: the
    /// canonical forms, the session cap (lowered since the last start?), and the demo accounts
    /// an older
    /// jwtapp made without marking them (an account named like one whose password is still the
    /// published one; one password check each, skipped once marked). Returns warnings for the
    /// operator: users of one canonical form, and (when `demo_allowed` is false) demo accounts.
    pub async fn prepare(&self, demo_allowed: bool) -> Result<Vec<String>, AuthError> {
        self.refresh_canonical().await?;
        for (username, password, _) in DEMO_USERS {
            if let Some(user) = self.store.find_user(username).await?
                && !user.is_demo
                && self.verify(password, &user.password_hash).await?
            {
                self.store.mark_demo(username).await?;
            }
        }
        let mut warnings = Vec::new();
        let capped = self
            .store
            .enforce_session_cap(self.limits, self.now())
            .await?;
        // The store answers with session ids: whose they were is looked up, so each user sees
        // their own sessions end (a start that ends any is rare: one read per session is fine).
        let names: HashMap<i64, String> = if capped.is_empty() {
            HashMap::new()
        } else {
            let users = self.store.list_users().await?;
            users.into_iter().map(|u| (u.id, u.username)).collect()
        };
        for session in &capped {
            let mut event = SecurityEvent::new(EventKind::SessionEnded).session(session);
            if let Some(owner) = self.store.find_session(session).await?
                && let Some(name) = names.get(&owner.user_id)
            {
                event = event.user(owner.user_id, name);
            }
            self.events.record(event.by(By::System).detail(format!(
                "past max_sessions_per_user = {}, at start",
                self.limits.max_per_user
            )));
        }
        if !capped.is_empty() {
            warnings.push(format!(
                "ended {} session(s) beyond max_sessions_per_user = {} (the least recently used \
                 of each user)",
                capped.len(),
                self.limits.max_per_user
            ));
        }
        for names in self.store.canonical_clashes().await? {
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
        if !demo_allowed {
            let demo: Vec<String> = self
                .store
                .list_users()
                .await?
                .into_iter()
                .filter(|user| user.is_demo)
                .map(|user| user.username)
                .collect();
            if !demo.is_empty() {
                let removals: Vec<String> = demo
                    .iter()
                    .map(|name| format!("`jwtapp user delete {name}`"))
                    .collect();
                warnings.push(format!(
                    "the database holds the demo account(s) {} of a debug run, whose passwords \
                     are public: they cannot log in outside the debug profile. Remove them with {}",
                    demo.join(", "),
                    removals.join(" and ")
                ));
            }
        }
        Ok(warnings)
    }

    /// Creates the demo accounts, marked as such, when the database has no users (the debug
    /// profile's `demo_users`). Returns whether it did.
    pub async fn seed_demo_accounts(&self) -> Result<bool, AuthError> {
        if self.store.count_users().await? > 0 {
            return Ok(false);
        }
        for (username, password, is_admin) in DEMO_USERS {
            let password_hash = self.hash(password).await?;
            let user = self
                .store
                .create_user(NewUser {
                    username: (*username).to_owned(),
                    canonical: usernames::canonical(username),
                    password_hash,
                    is_admin: *is_admin,
                    is_demo: true,
                    now: self.now(),
                })
                .await?;
            self.events.record(
                SecurityEvent::new(EventKind::UserCreated)
                    .user(user.id, &user.username)
                    .by(By::System)
                    .detail("a demo account (debug profile)"),
            );
        }
        Ok(true)
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool, AuthError> {
        let (passwords, password, hash) =
            (self.passwords.clone(), password.to_owned(), hash.to_owned());
        Ok(
            tokio::task::spawn_blocking(move || passwords.verify(&password, Some(&hash)))
                .await
                .map_err(crate::store::StoreError::from)?,
        )
    }

    async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let (passwords, password) = (self.passwords.clone(), password.to_owned());
        Ok(
            tokio::task::spawn_blocking(move || passwords.hash(&password))
                .await
                .map_err(crate::store::StoreError::from)??,
        )
    }
}
