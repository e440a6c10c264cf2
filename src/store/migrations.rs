//! The schema, step by step, for both backends: one list, each step with its SQL for SQLite and
//! for PostgreSQL. Each step is applied once, in order, inside the transaction that records how
//! many have run.

/// One schema step.
pub struct Migration {
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($name:literal) => {
        Migration {
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every step, oldest first. Append only: a released step never changes.
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001_initial"),
    migration!("0002_refresh_rotation"),
    migration!("0003_hardening"),
    migration!("0004_shared_throttling"),
    migration!("0005_security_events"),
    migration!("0006_second_factor"),
];

/// The schema version this build writes and expects.
pub fn current_version() -> usize {
    MIGRATIONS.len()
}
