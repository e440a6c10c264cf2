//! Reading the audit trail: a user's own events, and every user's for administrators.

use super::error::AuthError;
use super::events::EventKind;
use super::principal::Principal;
use super::service::Auth;
use crate::store::{Event, EventFilter};

/// Events a reader gets when they name no number.
pub const DEFAULT_EVENT_LIMIT: u32 = 50;
/// The most events one read returns; asking for more gets this many.
pub const MAX_EVENT_LIMIT: u32 = 500;

/// What an administrator asks of the trail.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Events of this user: of the account with this name (whatever it was called when the event
    /// happened), and any recorded under this exact name (a deleted account, failed logins with
    /// a name that matches no account).
    pub user: Option<String>,
    pub kind: Option<EventKind>,
    pub limit: u32,
}

impl Auth {
    /// The caller's own events, newest first: everything recorded against their account,
    /// including failed logins with its name. Events of an older account of the same name are
    /// not theirs and are not shown.
    pub async fn own_events(
        &self,
        principal: &Principal,
        limit: u32,
    ) -> Result<Vec<Event>, AuthError> {
        let filter = EventFilter {
            user_id: Some(principal.user_id),
            username: None,
            kind: None,
            limit,
        };
        Ok(self.events.read(filter).await?)
    }

    /// Every user's events matching `query`, newest first.
    pub async fn all_events(&self, query: EventQuery) -> Result<Vec<Event>, AuthError> {
        let user_id = match &query.user {
            Some(name) => match self.accounts().find(name).await {
                Ok(user) => Some(user.id),
                Err(AuthError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let filter = EventFilter {
            user_id,
            username: query.user,
            kind: query.kind.map(|kind| kind.as_str().to_owned()),
            limit: query.limit,
        };
        Ok(self.events.read(filter).await?)
    }
}
