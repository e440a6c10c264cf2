-- Failed logins, counted in the database so that every process (and, on PostgreSQL, every
-- instance) counts the same ones. One row per failure and key (a username at an address, and
-- the address alone); rows older than the throttling window are pruned.
CREATE TABLE login_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, at);
CREATE INDEX login_failures_by_time ON login_failures (at);
