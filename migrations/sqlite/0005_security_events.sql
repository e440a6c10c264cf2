-- The security audit trail: one row per event (a login, a failure, a session ended, an
-- administrator's change). Rows outlive their user: `username` keeps the name as it was (or as it
-- was typed, for a failed login), and `user_id` is kept without a foreign key.
CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    user_id    INTEGER,
    username   TEXT,
    session_id TEXT,
    address    TEXT,
    user_agent TEXT,
    actor      TEXT,
    detail     TEXT
);
CREATE INDEX security_events_by_user ON security_events (user_id, id);
CREATE INDEX security_events_by_kind ON security_events (kind, id);
CREATE INDEX security_events_by_time ON security_events (at);
