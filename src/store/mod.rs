//! The database behind one narrow interface, [`Store`].
//!
//! Nothing here knows about tokens, HTTP or the rules of authentication: the store keeps users
//! and sessions and applies the changes it is asked to, each in one transaction.
//!
//! - [`SqliteStore`]: the embedded database.
//! - [`PgStore`]: PostgreSQL, for several instances behind a load balancer.
//! - [`CachingStore`]: a decorator implementing the same trait in front of another store. It keeps
//!   the few facts every request needs in memory, forgets what this process changes at once, and
//!   learns what other processes committed from a [`ChangeFeed`].

mod cache;
mod changes;
mod contract;
mod error;
mod location;
mod migrations;
mod postgres;
mod sqlite;
mod types;

pub use cache::CachingStore;
pub use changes::{Change, ChangeFeed, ChangeSink, FeedState};
pub use contract::Store;
pub use error::StoreError;
pub use location::{Location, redact};
pub use migrations::current_version as schema_version;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::{
    Ended, Event, EventFilter, FamilyDecision, FamilyUpdate, NewEvent, NewSession, NewUser, Pruned,
    SecondFactor, Session, SessionLimits, SessionStatus, User, UserStatus, reason,
};
