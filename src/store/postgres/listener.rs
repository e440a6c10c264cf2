//! Hearing what other instances (and the CLI) change: a task `LISTEN`s on the notification
//! channel on a connection of its own and hands each change to the [`ChangeFeed`].
//!
//! When that connection is lost, this instance cannot know what it missed: the feed is marked
//! unknown at once (every request then reads the database) until the listener is connected again,
//! and then advanced (everything cached before is stale). A heartbeat, a notification every
//! second from each instance, tells a connection that died silently from a quiet one.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::notify::{self, CHANNEL};
use crate::store::changes::{ChangeFeed, WeakFeed};

/// The channel of the heartbeats.
const HEARTBEAT: &str = "jwtapp_heartbeat";
/// How often each instance sends one.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How long the listener waits for any notification before it takes the connection for dead.
const SILENCE: Duration = Duration::from_secs(3);
/// The longest wait between attempts to connect again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Starts the listener and the heartbeat, for as long as the feed lives. Connects once before
/// returning, so the feed starts out current.
pub async fn start(url: &str, pool: &PgPool, feed: &ChangeFeed) -> Result<(), sqlx::Error> {
    let listener = connect(url).await?;
    let (url, weak) = (url.to_owned(), feed.downgrade());
    tokio::spawn(listen(url, weak.clone(), Some(listener)));
    tokio::spawn(beat(pool.clone(), weak));
    Ok(())
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    // A pool of its own (one connection), so listening never takes a connection from requests.
    let mut listener = PgListener::connect(url).await?;
    // A lost connection is reported, not silently replaced: we must know what we missed.
    listener.eager_reconnect(false);
    listener.listen_all([CHANNEL, HEARTBEAT]).await?;
    Ok(listener)
}

async fn listen(url: String, weak: WeakFeed, mut listener: Option<PgListener>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let connected = match listener.take() {
            Some(listener) => Ok(listener),
            None => connect(&url).await,
        };
        let Some(feed) = weak.upgrade() else {
            return;
        };
        match connected {
            Ok(listener) => {
                // Whatever was committed while nobody listened: nothing cached before now counts.
                feed.advance();
                backoff = Duration::from_millis(50);
                drop(feed);
                if let Err(why) = hear(listener, &weak).await {
                    log::warn!(
                        "stopped hearing other instances' changes ({why}): every request reads \
                         the database until the listener is back"
                    );
                }
                match weak.upgrade() {
                    Some(feed) => feed.mark_unknown(),
                    None => return,
                }
            }
            Err(e) => {
                feed.mark_unknown();
                log::debug!("cannot listen for other instances' changes yet: {e}");
                drop(feed);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Hands notifications to the feed until the connection is lost; why it stopped.
async fn hear(mut listener: PgListener, weak: &WeakFeed) -> Result<(), String> {
    loop {
        let notification = match tokio::time::timeout(SILENCE, listener.try_recv()).await {
            Err(_) => return Err(format!("no heartbeat for {SILENCE:?}")),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(None)) => return Err("the connection was lost".into()),
            Ok(Ok(Some(notification))) => notification,
        };
        let Some(feed) = weak.upgrade() else {
            return Ok(());
        };
        if notification.channel() == CHANNEL
            && let Some(change) = notify::parse(notification.payload())
        {
            feed.publish(&change);
        }
    }
}

/// Sends a heartbeat every second while the feed lives. Failures are the listener's business.
async fn beat(pool: PgPool, weak: WeakFeed) {
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        if weak.upgrade().is_none() {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, '')")
            .bind(HEARTBEAT)
            .execute(&pool);
        let _ = tokio::time::timeout(HEARTBEAT_EVERY, sent).await;
    }
}
