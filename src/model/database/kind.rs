//! What each kind of DDL step does to a table: the lock PostgreSQL takes for it and how long
//! its work lasts, from the table's size (`../shared/reference/state.md` §1.6, §1.7).
//!
//! The rules, from the PostgreSQL `ALTER TABLE` reference page, section "Notes", and the
//! `CREATE INDEX` page, section "Building Indexes Concurrently":
//!
//! * **Catalog only** — `ADD COLUMN` without a default or with a non-volatile one: since
//!   **PostgreSQL 11** the default is evaluated once and stored in the catalog
//!   (`pg_attribute.attmissingval`, commit 16828d5c; PostgreSQL 11 release notes: "allow
//!   `ALTER TABLE` to add a column with a non-null default without doing a table rewrite").
//!   `DROP COLUMN` ("simply makes it invisible … the space will be reclaimed over time"),
//!   `RENAME COLUMN`, `ADD CONSTRAINT … NOT VALID` (the Notes: the potentially-lengthy scan is
//!   skipped; new writes are checked at once). All take ACCESS EXCLUSIVE for the few
//!   milliseconds of a catalog update ([`CATALOG_UPDATE`]).
//! * **Table rewrite** — "adding a column with a volatile `DEFAULT` (e.g. `clock_timestamp()`)
//!   … will cause the entire table and its indexes to be rewritten, as will changing the type
//!   of an existing column" (the Notes; a binary-coercible type change is the exception, and is
//!   catalog only: use `alter_table` with a `duration` for it). ACCESS EXCLUSIVE for the whole
//!   rewrite: `rows / rewrite_rate`.
//! * **Validating scan** — `SET NOT NULL` and `ADD CONSTRAINT` of a `CHECK` "will require the
//!   table to be scanned to verify that existing rows meet the constraint" (the Notes), under
//!   ACCESS EXCLUSIVE: `rows / scan_rate`. (A foreign key takes SHARE ROW EXCLUSIVE instead;
//!   modelled as a `CHECK`.)
//! * **`VALIDATE CONSTRAINT`** does the same scan under SHARE UPDATE EXCLUSIVE: reads and
//!   writes go on ("Validation acquires only a SHARE UPDATE EXCLUSIVE lock on the table being
//!   altered").
//! * **`CREATE INDEX`** takes SHARE (reads go on, writes wait) for `rows / index_build_rate`;
//!   **`CREATE INDEX CONCURRENTLY`** takes SHARE UPDATE EXCLUSIVE and scans the table twice, so
//!   it works twice as long ([`DdlKind::work`]).
//!
//! Work is proportional to the table's bytes: the rates are rows per second of
//! [`REFERENCE_ROW_BYTES`]-byte rows, and a table's `row_bytes` scales them (a simplification
//! for index builds, whose sort depends on the key's width). An explicit `duration` on the
//! step always wins over the size-based one.

use super::locks::LockMode;
use crate::engine::SimDuration;

/// How long a catalog-only `ALTER TABLE` holds its lock once granted: a catalog update and a
/// commit, milliseconds (derived; the 8 ms of `scenarios/migration-lock-queue.toml`).
pub const CATALOG_UPDATE: SimDuration = SimDuration::from_millis(8);

/// Rows per second of the server's migration work, one backend on one core (`[database]`
/// keys `rewrite_rate`, `scan_rate`, `index_build_rate`, `backfill_rate`). The defaults are
/// order-of-magnitude figures for narrow rows on current hardware (derived, not from an
/// upstream source): measure your own table with `\timing` and set them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    /// A table rewrite (heap and indexes): rows/s.
    pub rewrite: u64,
    /// A validating sequential scan: rows/s.
    pub scan: u64,
    /// One index build pass (scan and sort): rows/s.
    pub index_build: u64,
    /// A backfill's `UPDATE`s (heap, WAL and index maintenance): rows/s.
    pub backfill: u64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            rewrite: 100_000,
            scan: 1_000_000,
            index_build: 250_000,
            backfill: 20_000,
        }
    }
}

/// The row width the rates are given for, bytes (`row_bytes`' default).
pub const REFERENCE_ROW_BYTES: u64 = 100;

/// A declared table's size (`[database.tables]` `rows`, `row_bytes`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TableSize {
    /// Rows (`None`: not given; size-based work then needs an explicit `duration`).
    pub rows: Option<u64>,
    /// Average row width, bytes.
    pub row_bytes: u64,
}

impl Default for TableSize {
    fn default() -> Self {
        TableSize {
            rows: None,
            row_bytes: REFERENCE_ROW_BYTES,
        }
    }
}

/// `rows` at `rate` rows/s, rounded up to the microsecond.
pub fn at_rate(rows: u64, rate: u64) -> SimDuration {
    at_rate_sized(rows, REFERENCE_ROW_BYTES, rate)
}

/// `rows` of `row_bytes` each at `rate` rows/s of [`REFERENCE_ROW_BYTES`]: rewrites, scans and
/// updates move pages, so their time grows with the bytes, not the row count (rows twice as
/// wide take twice as long). Rounded up to the microsecond.
pub fn at_rate_sized(rows: u64, row_bytes: u64, rate: u64) -> SimDuration {
    let per_s = u128::from(rate.max(1)) * u128::from(REFERENCE_ROW_BYTES);
    let us = (u128::from(rows) * u128::from(row_bytes) * 1_000_000).div_ceil(per_s);
    SimDuration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

/// The work a kind does on existing rows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// A catalog update only ([`CATALOG_UPDATE`]).
    Catalog,
    /// The table and its indexes rewritten (`rewrite_rate`).
    Rewrite,
    /// A full validating scan (`scan_rate`).
    Scan,
    /// An index build pass (`index_build_rate`).
    IndexBuild,
}

/// What a DDL step does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DdlKind {
    /// `ALTER TABLE` (any form; its `duration` is given): ACCESS EXCLUSIVE.
    AlterTable,
    /// `CREATE INDEX`: SHARE.
    CreateIndex,
    /// `CREATE INDEX CONCURRENTLY`: SHARE UPDATE EXCLUSIVE, two table scans.
    CreateIndexConcurrently,
    /// `ADD COLUMN`, nullable or with a constant default: catalog only since PostgreSQL 11.
    AddColumn,
    /// `ADD COLUMN … DEFAULT clock_timestamp()` (a volatile default): a table rewrite.
    AddColumnVolatileDefault,
    /// `ALTER COLUMN … TYPE` (not binary-coercible): a table rewrite.
    AlterColumnType,
    /// `ALTER COLUMN … SET NOT NULL`: a validating scan under ACCESS EXCLUSIVE.
    SetNotNull,
    /// `ADD CONSTRAINT … CHECK (…)`, validated at once: a scan under ACCESS EXCLUSIVE.
    AddConstraint,
    /// `ADD CONSTRAINT … NOT VALID`: catalog only.
    AddConstraintNotValid,
    /// `VALIDATE CONSTRAINT`: the scan, under SHARE UPDATE EXCLUSIVE.
    ValidateConstraint,
    /// `RENAME COLUMN`: catalog only.
    RenameColumn,
    /// `DROP COLUMN`: catalog only.
    DropColumn,
}

impl DdlKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [DdlKind; 12] = [
        DdlKind::AlterTable,
        DdlKind::CreateIndex,
        DdlKind::CreateIndexConcurrently,
        DdlKind::AddColumn,
        DdlKind::AddColumnVolatileDefault,
        DdlKind::AlterColumnType,
        DdlKind::SetNotNull,
        DdlKind::AddConstraint,
        DdlKind::AddConstraintNotValid,
        DdlKind::ValidateConstraint,
        DdlKind::RenameColumn,
        DdlKind::DropColumn,
    ];

    /// Its name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            DdlKind::AlterTable => "alter_table",
            DdlKind::CreateIndex => "create_index",
            DdlKind::CreateIndexConcurrently => "create_index_concurrently",
            DdlKind::AddColumn => "add_column",
            DdlKind::AddColumnVolatileDefault => "add_column_volatile_default",
            DdlKind::AlterColumnType => "alter_column_type",
            DdlKind::SetNotNull => "set_not_null",
            DdlKind::AddConstraint => "add_constraint",
            DdlKind::AddConstraintNotValid => "add_constraint_not_valid",
            DdlKind::ValidateConstraint => "validate_constraint",
            DdlKind::RenameColumn => "rename_column",
            DdlKind::DropColumn => "drop_column",
        }
    }

    /// Parses a file's name (as [`DdlKind::as_str`]).
    pub fn parse(s: &str) -> Option<DdlKind> {
        let s = s.trim();
        DdlKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The table lock PostgreSQL takes for it.
    pub fn mode(self) -> LockMode {
        match self {
            DdlKind::CreateIndex => LockMode::Share,
            DdlKind::CreateIndexConcurrently | DdlKind::ValidateConstraint => {
                LockMode::ShareUpdateExclusive
            }
            _ => LockMode::AccessExclusive,
        }
    }

    /// The work it does on existing rows (`None`: `alter_table`, whose `duration` is given).
    pub fn work_kind(self) -> Option<Work> {
        Some(match self {
            DdlKind::AlterTable => return None,
            DdlKind::AddColumn
            | DdlKind::AddConstraintNotValid
            | DdlKind::RenameColumn
            | DdlKind::DropColumn => Work::Catalog,
            DdlKind::AddColumnVolatileDefault | DdlKind::AlterColumnType => Work::Rewrite,
            DdlKind::SetNotNull | DdlKind::AddConstraint | DdlKind::ValidateConstraint => {
                Work::Scan
            }
            DdlKind::CreateIndex | DdlKind::CreateIndexConcurrently => Work::IndexBuild,
        })
    }

    /// Its `duration` when the step gives none: from the table's size and the rates.
    /// `None` when it needs a size the table does not give (or is `alter_table`).
    pub fn sized_duration(self, size: TableSize, rates: &Rates) -> Option<SimDuration> {
        let rate = match self.work_kind()? {
            Work::Catalog => return Some(CATALOG_UPDATE),
            Work::Rewrite => rates.rewrite,
            Work::Scan => rates.scan,
            Work::IndexBuild => rates.index_build,
        };
        Some(at_rate_sized(size.rows?, size.row_bytes, rate))
    }

    /// How long the work takes once the lock is held, for a step of `duration`.
    pub fn work(self, duration: SimDuration) -> SimDuration {
        match self {
            DdlKind::CreateIndexConcurrently => duration + duration,
            _ => duration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockMode::*;

    /// The kind → (lock mode, duration) table for a table of 10 M rows at the default rates.
    #[test]
    fn kinds_take_postgresqls_lock_for_their_sized_work() {
        let r = Rates::default();
        let rows = TableSize {
            rows: Some(10_000_000),
            ..TableSize::default()
        };
        let s = SimDuration::from_secs;
        let table = [
            (DdlKind::AddColumn, AccessExclusive, CATALOG_UPDATE),
            (DdlKind::AddColumnVolatileDefault, AccessExclusive, s(100)),
            (DdlKind::AlterColumnType, AccessExclusive, s(100)),
            (DdlKind::SetNotNull, AccessExclusive, s(10)),
            (DdlKind::AddConstraint, AccessExclusive, s(10)),
            (
                DdlKind::AddConstraintNotValid,
                AccessExclusive,
                CATALOG_UPDATE,
            ),
            (DdlKind::ValidateConstraint, ShareUpdateExclusive, s(10)),
            (DdlKind::CreateIndex, Share, s(40)),
            (
                DdlKind::CreateIndexConcurrently,
                ShareUpdateExclusive,
                s(40),
            ),
            (DdlKind::RenameColumn, AccessExclusive, CATALOG_UPDATE),
            (DdlKind::DropColumn, AccessExclusive, CATALOG_UPDATE),
        ];
        for (k, mode, d) in table {
            assert_eq!(k.mode(), mode, "{}", k.as_str());
            assert_eq!(k.sized_duration(rows, &r), Some(d), "{}", k.as_str());
        }
        // Two scans for the concurrent build.
        assert_eq!(DdlKind::CreateIndexConcurrently.work(s(40)), s(80));
        assert_eq!(DdlKind::AlterColumnType.work(s(100)), s(100));
        assert_eq!(DdlKind::AlterTable.mode(), AccessExclusive);
        assert_eq!(DdlKind::AlterTable.sized_duration(rows, &r), None);
        // Rows four times as wide: four times the pages to rewrite.
        let wide = TableSize {
            row_bytes: 400,
            ..rows
        };
        assert_eq!(
            DdlKind::AlterColumnType.sized_duration(wide, &r),
            Some(s(400))
        );
        assert_eq!(
            DdlKind::AddColumn.sized_duration(wide, &r),
            Some(CATALOG_UPDATE)
        );
    }

    #[test]
    fn size_based_kinds_need_rows_and_catalog_ones_do_not() {
        let (r, none) = (Rates::default(), TableSize::default());
        assert_eq!(DdlKind::AlterColumnType.sized_duration(none, &r), None);
        assert_eq!(DdlKind::CreateIndex.sized_duration(none, &r), None);
        assert_eq!(
            DdlKind::AddColumn.sized_duration(none, &r),
            Some(CATALOG_UPDATE)
        );
    }

    #[test]
    fn names_round_trip_and_rates_round_up() {
        for k in DdlKind::ALL {
            assert_eq!(DdlKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DdlKind::parse("vacuum_full"), None);
        assert_eq!(at_rate(1, 3), SimDuration::from_micros(333_334));
        assert_eq!(at_rate(0, 3), SimDuration::ZERO);
        assert_eq!(at_rate(5_000, 20_000), SimDuration::from_millis(250));
        assert_eq!(
            at_rate_sized(5_000, 50, 20_000),
            SimDuration::from_millis(125)
        );
    }
}
