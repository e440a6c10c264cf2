-- Users and logins (sessions). Times are Unix seconds (UTC).
CREATE TABLE users (
    -- An identity is never reused, so nothing keyed by an old user can reach a new one.
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- One row per login: every token minted from that login carries its id (`sid`),
-- so revoking the row ends the whole login at once.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    user_agent  TEXT,
    address     TEXT
);

CREATE INDEX sessions_by_user ON sessions (user_id);
