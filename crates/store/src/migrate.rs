//! Versioned schema migrations, embedded in the binary. Each migration runs once, in its own
//! transaction, and is recorded with a checksum in `cphar_migrations`; a database whose
//! recorded checksum differs from the binary's is refused rather than silently diverging.

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Sequential version, from 1.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// SQL (several statements).
    pub sql: &'static str,
}

/// SQLite migrations, in order.
pub const MIGRATIONS_SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "registry",
        sql: include_str!("../migrations/sqlite/0001_registry.sql"),
    },
    Migration {
        version: 2,
        name: "audit_chain",
        sql: include_str!("../migrations/sqlite/0002_audit_chain.sql"),
    },
    Migration {
        version: 3,
        name: "service",
        sql: include_str!("../migrations/sqlite/0003_service.sql"),
    },
    Migration {
        version: 4,
        name: "current_binding",
        sql: include_str!("../migrations/sqlite/0004_current_binding.sql"),
    },
    Migration {
        version: 5,
        name: "attestation",
        sql: include_str!("../migrations/sqlite/0005_attestation.sql"),
    },
    Migration {
        version: 6,
        name: "installation_settings",
        sql: include_str!("../migrations/sqlite/0006_installation_settings.sql"),
    },
    Migration {
        version: 7,
        name: "status_list",
        sql: include_str!("../migrations/sqlite/0007_status_list.sql"),
    },
    Migration {
        version: 8,
        name: "reserve_reports",
        sql: include_str!("../migrations/sqlite/0008_reserve_reports.sql"),
    },
    Migration {
        version: 9,
        name: "seal_batches",
        sql: include_str!("../migrations/sqlite/0009_seal_batches.sql"),
    },
];

/// PostgreSQL migrations, in order.
pub const MIGRATIONS_POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "registry",
        sql: include_str!("../migrations/postgres/0001_registry.sql"),
    },
    Migration {
        version: 2,
        name: "audit_chain",
        sql: include_str!("../migrations/postgres/0002_audit_chain.sql"),
    },
    Migration {
        version: 3,
        name: "service",
        sql: include_str!("../migrations/postgres/0003_service.sql"),
    },
    Migration {
        version: 4,
        name: "current_binding",
        sql: include_str!("../migrations/postgres/0004_current_binding.sql"),
    },
    Migration {
        version: 5,
        name: "attestation",
        sql: include_str!("../migrations/postgres/0005_attestation.sql"),
    },
    Migration {
        version: 6,
        name: "installation_settings",
        sql: include_str!("../migrations/postgres/0006_installation_settings.sql"),
    },
    Migration {
        version: 7,
        name: "status_list",
        sql: include_str!("../migrations/postgres/0007_status_list.sql"),
    },
    Migration {
        version: 8,
        name: "reserve_reports",
        sql: include_str!("../migrations/postgres/0008_reserve_reports.sql"),
    },
    Migration {
        version: 9,
        name: "seal_batches",
        sql: include_str!("../migrations/postgres/0009_seal_batches.sql"),
    },
];

/// SHA-256-free, stable checksum of the SQL text (FNV-1a 64): detects edits, not attacks.
pub(crate) fn checksum(sql: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}
