-- Refresh-token rotation with reuse detection. A session row is a token family: it remembers
-- the refresh token that is live now (`refresh_jti`, minted at `refresh_issued_at`) and the one
-- it replaced (`previous_jti`), which is honoured only for a short grace window after the
-- rotation. Any older token of the family coming back means it was copied: the family is revoked.
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
ALTER TABLE sessions ADD COLUMN refresh_jti TEXT;
ALTER TABLE sessions ADD COLUMN refresh_issued_at INTEGER;
ALTER TABLE sessions ADD COLUMN previous_jti TEXT;
-- Why the family ended: logout, reuse, password, admin, disabled, ...
ALTER TABLE sessions ADD COLUMN revoked_reason TEXT;

-- Sessions of an older jwtapp: their refresh token is adopted as the live one on first use.
UPDATE sessions SET last_used_at = created_at;
