-- Refresh-token rotation with reuse detection (see the SQLite step of the same name).
ALTER TABLE sessions
    ADD COLUMN last_used_at      BIGINT,
    ADD COLUMN refresh_jti       TEXT,
    ADD COLUMN refresh_issued_at BIGINT,
    ADD COLUMN previous_jti      TEXT,
    ADD COLUMN revoked_reason    TEXT;

UPDATE sessions SET last_used_at = created_at;
