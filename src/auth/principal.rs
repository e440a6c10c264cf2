//! Who a caller is, and what authenticating them hands out.

use std::net::IpAddr;

use super::tokens::Minted;

/// The caller, once every check has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    /// Always true once every check has passed (a disabled user is refused); kept because
    /// `/api/auth/info` reports it, as the original example does.
    pub enabled: bool,
    pub is_admin: bool,
    /// The login all of this caller's tokens belong to.
    pub session_id: String,
    /// When the caller last entered their password (the access token's `auth_time`); `None`
    /// for a refresh token, or an access token from before the claim existed.
    pub auth_time: Option<u64>,
}

impl Principal {
    /// Whether the password was entered recently enough at `now` for a sensitive action:
    /// within `fresh_secs`, and not in the future.
    pub fn is_fresh(&self, now: u64, fresh_secs: u64) -> bool {
        self.auth_time
            .is_some_and(|at| at <= now.saturating_add(5) && now <= at.saturating_add(fresh_secs))
    }
}

/// Request details recorded with a login, for the user's own overview of their sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    /// The client address (the socket peer, or the configured proxy header), also the key of
    /// login throttling.
    pub ip: Option<IpAddr>,
}

/// A successful login: its tokens and who logged in.
#[derive(Debug, Clone)]
pub struct Login {
    pub access: Minted,
    pub refresh: Minted,
    pub principal: Principal,
}

/// Tokens minted from a refresh token: always an access token, and the family's next refresh
/// token when it rotated (or the same successor again, inside the grace window).
#[derive(Debug, Clone)]
pub struct Reissued {
    pub access: Minted,
    pub refresh: Option<Minted>,
    /// The access token's `auth_time`: the session's, never the time of the refresh.
    pub auth_time: u64,
}

/// A refresh token that passed every check: signature, claims, type, an active login, an
/// enabled user. Whether it is still the family's current token is decided when it is used.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub principal: Principal,
    /// The token's own id, which rotation tracks.
    pub jti: String,
}

/// A caller authenticated by cookies: who, and the tokens minted for them when the access
/// cookie they sent was missing, expired or about to expire.
#[derive(Debug, Clone)]
pub struct CookieCheck {
    pub principal: Principal,
    pub reissued: Option<Reissued>,
}

#[cfg(test)]
mod tests {
    use super::Principal;

    fn signed_in_at(auth_time: Option<u64>) -> Principal {
        Principal {
            user_id: 1,
            username: "alice".into(),
            enabled: true,
            is_admin: false,
            session_id: "s".into(),
            auth_time,
        }
    }

    #[test]
    fn fresh_means_recent_and_not_from_the_future() {
        assert!(signed_in_at(Some(1000)).is_fresh(1000, 300));
        assert!(signed_in_at(Some(1000)).is_fresh(1300, 300));
        assert!(!signed_in_at(Some(1000)).is_fresh(1301, 300));
        assert!(!signed_in_at(None).is_fresh(1000, 300));
        assert!(!signed_in_at(Some(2000)).is_fresh(1000, 300));
    }
}
