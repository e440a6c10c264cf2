//! The schema, step by step. Each step is applied once, in order, inside the transaction that
//! records how many have run.

/// One schema step.
pub struct Migration {
    pub name: &'static str,
    pub sqlite: &'static str,
}

/// Every step, oldest first. Append only: a released step never changes.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_initial",
        sqlite: include_str!("../../migrations/0001_initial.sql"),
    },
    Migration {
        name: "0002_refresh_rotation",
        sqlite: include_str!("../../migrations/0002_refresh_rotation.sql"),
    },
    Migration {
        name: "0003_hardening",
        sqlite: include_str!("../../migrations/0003_hardening.sql"),
    },
];

/// The schema version this build writes and expects.
pub fn current_version() -> usize {
    MIGRATIONS.len()
}
