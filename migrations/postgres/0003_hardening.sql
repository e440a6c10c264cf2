-- Canonical usernames (unique, kept so by the writes that create and rename users, under an
-- advisory lock), demo accounts, and the order of logins made within one second.
ALTER TABLE users
    ADD COLUMN canonical TEXT,
    ADD COLUMN is_demo   BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX users_by_canonical ON users (canonical);

ALTER TABLE sessions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_by_user_last_used ON sessions (user_id, last_used_at, seq);
