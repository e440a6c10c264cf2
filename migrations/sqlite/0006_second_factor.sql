-- The second factor and fresh logins.
-- users: the TOTP secret (sealed: encrypted with a key derived from auth.secret, never in the
-- clear), the one waiting for its first code, when it was turned on, and the last time step a
-- code was accepted for (each code works once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- sessions: when the user last typed their password in this session (a login or a re-entry):
-- the `auth_time` of every access token the session mints. Older rows: their login.
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
-- Recovery codes: hashed, each used once.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
-- Single-use tokens already used (the second step of a login), kept until they expire.
CREATE TABLE used_tokens (
    id         TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_tokens_by_expiry ON used_tokens (expires_at);
