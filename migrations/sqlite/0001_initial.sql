-- Users and logins (sessions). Times are Unix seconds (UTC).
CREATE TABLE users (
    -- AUTOINCREMENT: an id is never reused, so nothing keyed by an old user can reach a new one.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One row per login: every token minted from that login carries its id (`sid`),
-- so revoking the row ends the whole login at once.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    user_agent  TEXT,
    address     TEXT
) WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions (user_id);
