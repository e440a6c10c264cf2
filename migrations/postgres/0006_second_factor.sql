-- The second factor and fresh logins (see the SQLite step of the same name).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE sessions ADD COLUMN auth_time BIGINT;
CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT   NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE used_tokens (
    id         TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_tokens_by_expiry ON used_tokens (expires_at);
