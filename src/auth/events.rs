//! Security events: what happened to whose account, when, from where, done by whom. Every event
//! is logged at warning level under the target `jwtapp::security` (so the release profile keeps
//! it), counted in the metrics, and written to the audit trail in the database.
//!
//! Writing never fails or slows the request that caused the event: events go to a background
//! task that writes them in batches, after the response. Reading the trail first waits for what
//! is pending, so a user sees their own latest events.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::clock::Clock;
use super::principal::{ClientInfo, Principal};
use crate::metrics::Metrics;
use crate::store::{Event, EventFilter, NewEvent, Store};

/// What happened. The names are stable (snake_case) and documented: dashboards and log
/// shippers match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    LoginSucceeded,
    /// Detail: unknown user, wrong password, disabled, ...
    LoginFailed,
    LoginThrottled,
    Logout,
    /// One session ended before its time (detail: by whom).
    SessionEnded,
    /// Every session of a user, or every other one, ended at once.
    SessionsEndedAll,
    RefreshReuseDetected,
    PasswordChanged,
    UserCreated,
    UserRenamed,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    AdminGranted,
    AdminRemoved,
    /// A second factor was turned on.
    MfaEnabled,
    /// A second factor was turned off, by its user or reset by an administrator.
    MfaDisabled,
    /// A wrong (or replayed) code: at a login, a re-entry, or when turning the factor on.
    MfaFailed,
    /// A recovery code was used instead of a TOTP code (detail: how many are left).
    RecoveryCodeUsed,
    /// New recovery codes replaced the old ones.
    RecoveryCodesReplaced,
    /// The password (and code) were entered again for a sensitive action.
    ReauthSucceeded,
    /// A wrong password at a re-entry.
    ReauthFailed,
}

impl EventKind {
    pub const ALL: [EventKind; 22] = [
        EventKind::LoginSucceeded,
        EventKind::LoginFailed,
        EventKind::LoginThrottled,
        EventKind::Logout,
        EventKind::SessionEnded,
        EventKind::SessionsEndedAll,
        EventKind::RefreshReuseDetected,
        EventKind::PasswordChanged,
        EventKind::UserCreated,
        EventKind::UserRenamed,
        EventKind::UserDisabled,
        EventKind::UserEnabled,
        EventKind::UserDeleted,
        EventKind::AdminGranted,
        EventKind::AdminRemoved,
        EventKind::MfaEnabled,
        EventKind::MfaDisabled,
        EventKind::MfaFailed,
        EventKind::RecoveryCodeUsed,
        EventKind::RecoveryCodesReplaced,
        EventKind::ReauthSucceeded,
        EventKind::ReauthFailed,
    ];

    /// The stable name: `login_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LoginSucceeded => "login_succeeded",
            EventKind::LoginFailed => "login_failed",
            EventKind::LoginThrottled => "login_throttled",
            EventKind::Logout => "logout",
            EventKind::SessionEnded => "session_ended",
            EventKind::SessionsEndedAll => "sessions_ended_all",
            EventKind::RefreshReuseDetected => "refresh_reuse_detected",
            EventKind::PasswordChanged => "password_changed",
            EventKind::UserCreated => "user_created",
            EventKind::UserRenamed => "user_renamed",
            EventKind::UserDisabled => "user_disabled",
            EventKind::UserEnabled => "user_enabled",
            EventKind::UserDeleted => "user_deleted",
            EventKind::AdminGranted => "admin_granted",
            EventKind::AdminRemoved => "admin_removed",
            EventKind::MfaEnabled => "mfa_enabled",
            EventKind::MfaDisabled => "mfa_disabled",
            EventKind::MfaFailed => "mfa_failed",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::RecoveryCodesReplaced => "recovery_codes_replaced",
            EventKind::ReauthSucceeded => "reauth_succeeded",
            EventKind::ReauthFailed => "reauth_failed",
        }
    }

    /// The kind a stable name names.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The kind in words, for people: "Failed sign-in".
    pub fn words(self) -> &'static str {
        match self {
            EventKind::LoginSucceeded => "Signed in",
            EventKind::LoginFailed => "Failed sign-in",
            EventKind::LoginThrottled => "Sign-in refused: too many failures",
            EventKind::Logout => "Signed out",
            EventKind::SessionEnded => "Session ended",
            EventKind::SessionsEndedAll => "Sessions ended",
            EventKind::RefreshReuseDetected => "Stolen session suspected and ended",
            EventKind::PasswordChanged => "Password changed",
            EventKind::UserCreated => "Account created",
            EventKind::UserRenamed => "Account renamed",
            EventKind::UserDisabled => "Account disabled",
            EventKind::UserEnabled => "Account enabled",
            EventKind::UserDeleted => "Account deleted",
            EventKind::AdminGranted => "Administrator rights granted",
            EventKind::AdminRemoved => "Administrator rights removed",
            EventKind::MfaEnabled => "Two-step sign-in turned on",
            EventKind::MfaDisabled => "Two-step sign-in turned off",
            EventKind::MfaFailed => "Wrong sign-in code",
            EventKind::RecoveryCodeUsed => "Recovery code used",
            EventKind::RecoveryCodesReplaced => "New recovery codes made",
            EventKind::ReauthSucceeded => "Password entered again",
            EventKind::ReauthFailed => "Wrong password when entering it again",
        }
    }
}

/// Who caused an event, as the trail names them.
pub enum By<'a> {
    /// The user the event is about.
    TheUser,
    Admin(&'a str),
    CommandLine,
    /// jwtapp itself (the session limit, the demo accounts).
    System,
}

impl By<'_> {
    fn name(&self, subject: Option<&str>) -> Option<String> {
        match self {
            By::TheUser => subject.map(str::to_owned),
            By::Admin(name) => Some(format!("administrator {name}")),
            By::CommandLine => Some("command line".into()),
            By::System => Some("jwtapp".into()),
        }
    }
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    kind: EventKind,
    record: NewEvent,
}

impl SecurityEvent {
    pub fn new(kind: EventKind) -> SecurityEvent {
        SecurityEvent {
            kind,
            record: NewEvent {
                kind: kind.as_str().to_owned(),
                ..NewEvent::default()
            },
        }
    }

    /// About this account.
    pub fn user(mut self, id: i64, username: &str) -> Self {
        self.record.user_id = Some(id);
        self.record.username = Some(username.to_owned());
        self
    }

    /// About whatever `principal` is signed in as, in this session.
    pub fn principal(self, principal: &Principal) -> Self {
        self.user(principal.user_id, &principal.username)
            .session(&principal.session_id)
    }

    /// About a name that matched no account (a failed login).
    pub fn typed_username(mut self, username: &str) -> Self {
        // Bounded: whatever was typed, the trail keeps a name's worth of it.
        self.record.username = Some(username.chars().take(128).collect());
        self
    }

    pub fn session(mut self, id: &str) -> Self {
        self.record.session_id = Some(id.to_owned());
        self
    }

    /// From this client (its address and user agent).
    pub fn client(mut self, client: &ClientInfo) -> Self {
        self.record.address = client.ip.map(|ip| ip.to_string());
        self.record.user_agent = client.user_agent.clone();
        self
    }

    pub fn by(mut self, by: By<'_>) -> Self {
        self.record.actor = by.name(self.record.username.as_deref());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.record.detail = Some(detail.into());
        self
    }
}

/// An event's fields as the log's JSON carries them.
#[derive(Serialize)]
struct Logged<'a> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

enum Message {
    Event(NewEvent),
    /// Answered once every event sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// Events waiting to be written, at most: past it, new events are still logged and counted,
/// and the log says that some were not written.
const BACKLOG: usize = 10_000;
/// Events written per transaction, at most.
const BATCH: usize = 200;

/// Records security events. Cheap to clone; clones share the writer.
#[derive(Clone)]
pub struct EventLog {
    sender: mpsc::Sender<Message>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog").finish_non_exhaustive()
    }
}

impl EventLog {
    /// The event log over `store`; its writer runs on the current Tokio runtime until the last
    /// clone is dropped.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> EventLog {
        let (sender, receiver) = mpsc::channel(BACKLOG);
        tokio::spawn(write(Arc::clone(&store), receiver));
        // Every kind from the start, so a dashboard sees zeros rather than nothing.
        for kind in EventKind::ALL {
            metrics.security_events.with_label_values(&[kind.as_str()]);
        }
        EventLog {
            sender,
            store,
            clock,
            metrics,
        }
    }

    /// The metrics events are counted in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Logs, counts and queues `event`. Never fails and never waits.
    pub fn record(&self, event: SecurityEvent) {
        let mut record = event.record;
        record.at = self.clock.now() as i64;
        self.metrics
            .security_events
            .with_label_values(&[event.kind.as_str()])
            .inc();
        log_event(&record);
        if let Err(e) = self.sender.try_send(Message::Event(record)) {
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "too many are waiting",
                mpsc::error::TrySendError::Closed(_) => "the writer has stopped",
            };
            log::warn!(
                target: "jwtapp::security",
                "a security event was logged but not written to the audit trail: {why}"
            );
        }
    }

    /// Waits until every event recorded so far is written (or failed to be).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Events matching `filter`, newest first, once every event recorded so far is written.
    pub async fn read(&self, filter: EventFilter) -> Result<Vec<Event>, crate::store::StoreError> {
        self.flush().await;
        self.store.events(filter).await
    }
}

/// One warning per event under `jwtapp::security`: readable text, and the fields as JSON in the
/// `event` key for the JSON log format.
fn log_event(e: &NewEvent) {
    let fields = Logged {
        kind: &e.kind,
        username: e.username.as_deref(),
        user_id: e.user_id,
        session_id: e.session_id.as_deref(),
        address: e.address.as_deref(),
        user_agent: e.user_agent.as_deref(),
        actor: e.actor.as_deref(),
        detail: e.detail.as_deref(),
    };
    let json = serde_json::to_string(&fields).unwrap_or_default();
    let mut text = format!("security: {}", e.kind);
    for (name, value) in [
        ("user", e.username.as_deref()),
        ("session", e.session_id.as_deref()),
        ("address", e.address.as_deref()),
        ("actor", e.actor.as_deref()),
        ("detail", e.detail.as_deref()),
    ] {
        if let Some(value) = value {
            text.push_str(&format!(" {name}={value:?}"));
        }
    }
    log::warn!(target: "jwtapp::security", event = json.as_str(); "{text}");
}

/// The writer: events in batches, each batch one transaction. A batch that cannot be written is
/// reported (the events themselves are in the log already).
async fn write(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<Message>) {
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(event) => batch.push(event),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let count = batch.len();
            if let Err(e) = store.record_events(std::mem::take(&mut batch)).await {
                log::warn!(
                    target: "jwtapp::security",
                    "{count} security event(s) could not be written to the audit trail \
                     (they are in this log): {}",
                    crate::error_chain::chain(&e)
                );
            }
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
