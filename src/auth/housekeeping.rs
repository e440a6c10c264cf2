//! Background housekeeping: ended sessions, old failed logins, expired single-use tokens and
//! security events past their retention are deleted, so the database does not grow without
//! bound.

use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use crate::store::{Pruned, Store, StoreError};

/// Deletes ended sessions and forgets old throttling state, every `prune_interval_secs`.
pub struct Housekeeping {
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) idle_secs: i64,
    /// Failed logins older than this many seconds no longer count.
    pub(super) throttle_window_secs: u64,
    pub(super) interval: Duration,
    /// Security events older than this are deleted.
    pub(super) event_retention: Duration,
}

impl Housekeeping {
    /// Prunes every `prune_interval_secs`, for as long as the server runs.
    pub async fn run(self) {
        loop {
            tokio::time::sleep(self.interval).await;
            match self.prune().await {
                Ok(pruned) if pruned.sessions > 0 => {
                    log::info!("pruned {} ended session(s)", pruned.sessions)
                }
                Ok(_) => {}
                Err(e) => log::warn!("pruning ended sessions failed: {e}"),
            }
        }
    }

    /// One pass. Revoked sessions go at once: a token of a missing session is refused exactly
    /// like one of a revoked session. Safe to run on several instances at once: every delete is
    /// of rows that can never count again.
    pub async fn prune(&self) -> Result<Pruned, StoreError> {
        let now = self.clock.now() as i64;
        self.store
            .prune_failures(now.saturating_sub(self.throttle_window_secs as i64))
            .await?;
        // A used step token is remembered until it would have expired anyway.
        self.store.prune_used_tokens(now).await?;
        let retention = i64::try_from(self.event_retention.as_secs()).unwrap_or(i64::MAX);
        self.store
            .prune_events(now.saturating_sub(retention))
            .await?;
        let idle_before = now.saturating_sub(self.idle_secs);
        self.store
            .prune_sessions(now, idle_before, now.saturating_add(1))
            .await
    }
}
