-- The security audit trail (see the SQLite step of the same name).
CREATE TABLE security_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    user_id    BIGINT,
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
