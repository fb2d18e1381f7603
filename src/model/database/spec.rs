//! The `[database]` table once validated (`scenario::database` builds it): connection limits,
//! pools, the server, each version's queries, table sizes and migration rates, and the scenario's
//! long transactions, DDL steps and backfills.

use super::backfill::BackfillSpec;
use super::ddl::{DdlSpec, LongTxnSpec};
use super::kind::{Rates, TableSize};
use super::schema::SchemaSpec;
use crate::engine::SimDuration;
use crate::model::dist::Dist;

/// What a pod whose pool could open no connection does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnExhausted {
    /// Its readiness probe fails until it gets a connection (it receives no traffic).
    FailReadiness,
    /// It serves; every request that needs the database fails `db_connections_exhausted`.
    FailRequests,
}

/// How many queries a request makes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum QueryCount {
    /// Always this many.
    Fixed(u32),
    /// Uniform between the two, inclusive.
    Uniform {
        /// Fewest.
        min: u32,
        /// Most.
        max: u32,
    },
}

impl QueryCount {
    /// The mean count (reports, warnings).
    pub fn mean(self) -> f64 {
        match self {
            QueryCount::Fixed(n) => f64::from(n),
            QueryCount::Uniform { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
        }
    }

    /// Whether a request of this version never queries.
    pub fn is_zero(self) -> bool {
        matches!(
            self,
            QueryCount::Fixed(0) | QueryCount::Uniform { max: 0, .. }
        )
    }
}

/// One table's part of a version's queries.
#[derive(Clone, Debug, PartialEq)]
pub struct TableShare {
    /// The table (index into [`DatabaseSpec::tables`]).
    pub table: u16,
    /// Cumulative share of queries up to and including this table (the last one is 1).
    pub cumulative: f64,
    /// Share of this table's queries that are writes.
    pub writes: f64,
}

/// What one version's requests do at the database.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Queries per request.
    pub queries: QueryCount,
    /// Tables queried, with their shares.
    pub tables: Vec<TableShare>,
}

/// The `[database]` table, validated.
#[derive(Clone, Debug)]
pub struct DatabaseSpec {
    /// PostgreSQL `max_connections`.
    pub max_connections: u32,
    /// PostgreSQL `superuser_reserved_connections` (plus `reserved_connections`).
    pub superuser_reserved: u32,
    /// Connections each pod's pool opens (HikariCP `maximumPoolSize` = `minimumIdle`).
    pub pool_size: u32,
    /// HikariCP `connectionTimeout`.
    pub connection_timeout: SimDuration,
    /// What a pod without connections does.
    pub on_exhausted: OnExhausted,
    /// Queries executing at once.
    pub cores: u32,
    /// PostgreSQL `statement_timeout` (`None`: off).
    pub statement_timeout: Option<SimDuration>,
    /// Service time of a read.
    pub read_time: Dist,
    /// Service time of a write.
    pub write_time: Dist,
    /// Declared table names.
    pub tables: Vec<String>,
    /// Per variant (version id), its workload.
    pub workloads: Vec<Workload>,
    /// Long-running transactions (`[[database.transactions]]`).
    pub transactions: Vec<LongTxnSpec>,
    /// DDL steps (`[[database.ddl]]`).
    pub ddl: Vec<DdlSpec>,
    /// Each declared table's size (`rows`, `row_bytes`), in declaration order.
    pub table_sizes: Vec<TableSize>,
    /// The server's migration work rates (`rewrite_rate`, `scan_rate`, …).
    pub rates: Rates,
    /// Backfills (`[[database.backfills]]`).
    pub backfills: Vec<BackfillSpec>,
    /// Columns and what each version uses (`None`: no table declares columns; no checks).
    pub schema: Option<SchemaSpec>,
}

impl DatabaseSpec {
    /// Slots ordinary roles may use: `max_connections − superuser_reserved_connections`.
    pub fn usable(&self) -> u32 {
        self.max_connections.saturating_sub(self.superuser_reserved)
    }
}
