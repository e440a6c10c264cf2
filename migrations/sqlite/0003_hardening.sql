-- One canonical form per username (Unicode NFKC, then lower case), so look-alike spellings are one
-- account. It is filled in by jwtapp at start (SQL cannot normalize Unicode) and kept unique by the
-- writes that create and rename users. It is not a UNIQUE index: a database that already holds
-- two users of one canonical form must still open, so that an administrator can rename one.
ALTER TABLE users ADD COLUMN canonical TEXT;
CREATE INDEX users_by_canonical ON users (canonical);

-- Accounts made by `demo_users` (debug profile only). Outside the debug profile they cannot log in.
ALTER TABLE users ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1));

-- The session cap ends a user's least recently used logins. Times are whole seconds, so logins
-- of one second are told apart by the order they were made in (`seq`, per user).
ALTER TABLE sessions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_by_user_last_used ON sessions (user_id, last_used_at, seq);
