//! What signed-in users do to their own account (sessions, password) and what administrators
//! do to everyone's. Every change is written to the store and the live cache is dropped, so it
//! takes effect on the affected user's very next request.

use std::collections::HashMap;
use std::sync::Arc;

use super::live::blocking;
use super::passwords::Passwords;
use super::{Auth, AuthError, ClientInfo, Principal, now};
use crate::store::{Session, User, reason};

/// A user as the administrators' list shows them.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: User,
    /// Live sessions (logins) of the user.
    pub sessions: u64,
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
}

impl AdminAction {
    /// The action named by a form or command (`enable`, `disable`, `grant-admin`,
    /// `remove-admin`, `end-sessions`).
    pub fn parse(name: &str) -> Option<AdminAction> {
        Some(match name {
            "enable" => AdminAction::Enable,
            "disable" => AdminAction::Disable,
            "grant-admin" => AdminAction::GrantAdmin,
            "remove-admin" => AdminAction::RemoveAdmin,
            "end-sessions" => AdminAction::EndSessions,
            _ => return None,
        })
    }

    /// What was done, for the page: "disabled alice".
    pub fn done(self, username: &str) -> String {
        match self {
            AdminAction::Enable => format!("Enabled {username}."),
            AdminAction::Disable => format!("Disabled {username} and ended their sessions."),
            AdminAction::GrantAdmin => format!("{username} is now an administrator."),
            AdminAction::RemoveAdmin => format!("{username} is no longer an administrator."),
            AdminAction::EndSessions => format!("Ended every session of {username}."),
        }
    }
}

impl Auth {
    /// The caller's live logins, most recently used first.
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<Session>, AuthError> {
        let store = Arc::clone(&self.store);
        let user_id = principal.user_id;
        let idle = self.rotation.idle_secs;
        let limit = self.max_sessions;
        let now = now() as i64;
        Ok(blocking(move || store.live_sessions(user_id, now, idle, limit)).await?)
    }

    /// Ends one of the caller's own sessions; any other id is "not found" (even another user's,
    /// so ids cannot be probed).
    pub async fn end_session(&self, principal: &Principal, id: &str) -> Result<(), AuthError> {
        let store = Arc::clone(&self.store);
        let user_id = principal.user_id;
        let idle = self.rotation.idle_secs;
        let id = id.to_owned();
        let now = now() as i64;
        let ended = blocking(move || match store.find_session(&id)? {
            Some(session) if session.user_id == user_id && session.is_live(now, idle) => {
                store.revoke_session(&id, now, reason::USER)
            }
            _ => Ok(false),
        })
        .await?;
        self.live.invalidate();
        if ended {
            Ok(())
        } else {
            Err(AuthError::NotFound(
                "no such session among yours (it may have ended already)".into(),
            ))
        }
    }

    /// Ends every session of the caller: all of them, or all but the one making the request.
    /// Returns how many ended.
    pub async fn end_sessions(
        &self,
        principal: &Principal,
        keep_current: bool,
    ) -> Result<u64, AuthError> {
        let store = Arc::clone(&self.store);
        let user_id = principal.user_id;
        let keep = keep_current.then(|| principal.session_id.clone());
        let why = if keep_current {
            reason::USER
        } else {
            reason::LOGOUT
        };
        let now = now() as i64;
        let ended =
            blocking(move || store.revoke_user_sessions(user_id, keep.as_deref(), now, why))
                .await?;
        self.live.invalidate();
        Ok(ended)
    }

    /// Changes the caller's password after checking the current one, and ends every other
    /// session of theirs. Wrong guesses of the current password are throttled like logins.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        Passwords::check_policy(new).map_err(|e| AuthError::Refused(e.to_string()))?;
        let attempt = self
            .throttle
            .begin(
                &super::usernames::canonical(&principal.username),
                client.ip,
                now(),
            )
            .await
            .map_err(|t| AuthError::Throttled {
                retry_after: t.retry_after,
            })?;
        let store = Arc::clone(&self.store);
        let passwords = self.passwords.clone();
        let username = principal.username.clone();
        let keep = principal.session_id.clone();
        let (current, new) = (current.to_owned(), new.to_owned());
        let now = now() as i64;
        let _permit = self.hashing_permit().await?;
        // The outer error is the store's; the inner one is the answer to the caller.
        let changed: Result<u64, AuthError> = blocking(move || {
            let user = store.find_user(&username)?;
            let stored = user.as_ref().map(|u| u.password_hash.as_str());
            if !passwords.verify(&current, stored) {
                return Ok(Err(AuthError::WrongPassword));
            }
            let hash = match passwords.hash(&new) {
                Ok(hash) => hash,
                Err(e) => return Ok(Err(AuthError::Internal(e.to_string()))),
            };
            Ok(Ok(store.change_password(
                &username,
                &hash,
                Some(&keep),
                now,
            )?))
        })
        .await?;
        self.live.invalidate();
        let ended = match changed {
            Ok(ended) => ended,
            Err(e @ AuthError::WrongPassword) => {
                attempt.failed();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        attempt.succeeded();
        log::info!(
            target: "jwtapp::security",
            "user {:?} changed their password; {ended} other session(s) ended",
            principal.username
        );
        Ok(ended)
    }

    /// Every user, with how many live sessions each has.
    pub async fn users(&self) -> Result<Vec<UserSummary>, AuthError> {
        let store = Arc::clone(&self.store);
        let idle = self.rotation.idle_secs;
        let now = now() as i64;
        let (users, counts): (Vec<User>, HashMap<i64, u64>) =
            blocking(move || Ok((store.list_users()?, store.live_session_counts(now, idle)?)))
                .await?;
        Ok(users
            .into_iter()
            .map(|user| UserSummary {
                sessions: counts.get(&user.id).copied().unwrap_or(0),
                user,
            })
            .collect())
    }

    /// Carries out an administrator's action on `username`. An administrator cannot disable
    /// themselves or remove their own rights here (that would lock them out mid-request); the
    /// CLI or another administrator can.
    pub async fn administer(
        &self,
        actor: &Principal,
        username: &str,
        action: AdminAction,
    ) -> Result<String, AuthError> {
        if username == actor.username
            && matches!(action, AdminAction::Disable | AdminAction::RemoveAdmin)
        {
            return Err(AuthError::Refused(
                "you cannot disable yourself or remove your own administrator rights; \
                 another administrator or the command line can"
                    .into(),
            ));
        }
        let store = Arc::clone(&self.store);
        let name = username.to_owned();
        let now = now() as i64;
        blocking(move || match action {
            AdminAction::Enable => store.set_enabled(&name, true, now),
            AdminAction::Disable => store.set_enabled(&name, false, now),
            AdminAction::GrantAdmin => store.set_admin(&name, true, now),
            AdminAction::RemoveAdmin => store.set_admin(&name, false, now),
            AdminAction::EndSessions => match store.find_user(&name)? {
                Some(user) => store
                    .revoke_user_sessions(user.id, None, now, reason::ADMIN)
                    .map(|_| ()),
                None => Err(crate::store::StoreError::NoSuchUser(name)),
            },
        })
        .await?;
        self.live.invalidate();
        log::info!(
            target: "jwtapp::security",
            "administrator {:?}: {action:?} on user {username:?}",
            actor.username
        );
        Ok(action.done(username))
    }
}
