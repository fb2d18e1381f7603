//! The `[database]` table: PostgreSQL's connection limits, each pod's HikariCP-like pool, the
//! server's cores, timeouts, declared tables and each version's queries (see
//! `model::database`; defaults from `../shared/reference/state.md` §1.5, §1.8, §2.1).

use indexmap::IndexMap;

use super::problems::{child, closest, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::database::backfill::BackfillSpec;
use crate::model::database::ddl::{DdlKind, DdlSpec, LongTxnSpec};
use crate::model::database::kind::{Rates, TableSize, REFERENCE_ROW_BYTES};
use crate::model::database::locks::LockMode;
use crate::model::database::{DatabaseSpec, OnExhausted, QueryCount, TableShare, Workload};
use crate::model::Dist;

/// PostgreSQL's `max_connections` upper bound (`MAX_BACKENDS`, 2^18 − 1).
const MAX_BACKENDS: i64 = 262_143;

/// Resolves `[database]` for the versions `names`.
pub(super) fn database(
    pr: &mut Problems<'_>,
    raw: &RawDatabase,
    names: &[String],
) -> Option<DatabaseSpec> {
    let p: Path = vec!["database".into()];
    // PostgreSQL defaults: max_connections 100, superuser_reserved_connections 3.
    let max_connections = pr.count(
        &child(&p, "max_connections"),
        raw.max_connections,
        100,
        1,
        MAX_BACKENDS,
    );
    let superuser_reserved = pr.count(
        &child(&p, "superuser_reserved_connections"),
        raw.superuser_reserved_connections,
        3.min(max_connections - 1),
        0,
        i64::from(max_connections) - 1,
    );
    let usable = max_connections - superuser_reserved;
    // HikariCP's maximumPoolSize default: 10.
    let pool_size = pr.count(&child(&p, "pool_size"), raw.pool_size, 10, 1, MAX_BACKENDS);
    if pool_size > usable {
        pr.add(
            &child(&p, "pool_size"),
            format!("a pool of {pool_size} connections is larger than the {usable} slots ordinary roles get (max_connections {max_connections} − superuser_reserved_connections {superuser_reserved}): not even one pod could open its pool"),
            format!("lower pool_size to at most {usable}, or raise max_connections"),
        );
    }
    // HikariCP connectionTimeout: 30 000 ms by default, 250 ms at least.
    let connection_timeout = pr.opt_duration(
        &child(&p, "connection_timeout"),
        &raw.connection_timeout,
        SimDuration::from_secs(30),
    );
    if connection_timeout < SimDuration::from_millis(250) {
        pr.add(
            &child(&p, "connection_timeout"),
            "HikariCP's connectionTimeout is at least 250 ms",
            "e.g. connection_timeout = \"30s\" (HikariCP's default)",
        );
    }
    let on_exhausted = match raw.on_exhausted.as_deref() {
        None | Some("fail_readiness") => OnExhausted::FailReadiness,
        Some("fail_requests") => OnExhausted::FailRequests,
        Some(o) => {
            pr.add(
                &child(&p, "on_exhausted"),
                format!("unknown on_exhausted \"{o}\""),
                "use \"fail_readiness\" (a pod without connections is not Ready) or \"fail_requests\" (it serves, and its requests fail db_connections_exhausted)",
            );
            OnExhausted::FailReadiness
        }
    };
    let cores = pr.count(&child(&p, "cpu"), raw.cpu, 8, 1, 100_000);
    // PostgreSQL statement_timeout: 0 (off) by default.
    let statement_timeout = raw
        .statement_timeout
        .as_ref()
        .and_then(|d| pr.duration(&child(&p, "statement_timeout"), d))
        .filter(|d| !d.is_zero());
    let ms = |n| Dist::Constant(SimDuration::from_millis(n));
    let read_time = match &raw.read_time {
        None => Some(ms(1)),
        Some(d) => pr.dist(&child(&p, "read_time"), d, false),
    };
    let write_time = match &raw.write_time {
        None => Some(ms(3)),
        Some(d) => pr.dist(&child(&p, "write_time"), d, false),
    };
    let tables: Vec<String> = raw.tables.keys().cloned().collect();
    if tables.is_empty() {
        pr.add(
            &p,
            "the database declares no table",
            "declare the tables queries touch, e.g. [database.tables] users = { share = 0.8, writes = 0.1 }",
        );
    }
    let base_count = query_count(pr, &p, raw.queries, raw.queries_max, QueryCount::Fixed(1));
    let base_mix = mix(pr, &child(&p, "tables"), &raw.tables, &tables);
    let mut workloads: Vec<Workload> = names
        .iter()
        .map(|_| Workload {
            queries: base_count,
            tables: base_mix.clone(),
        })
        .collect();
    let vp = child(&p, "versions");
    for (name, w) in &raw.versions {
        let wp = child(&vp, name);
        let Some(v) = pr.version_ref(&wp, name, names) else {
            continue;
        };
        let queries = match (w.queries, w.queries_max) {
            (None, None) => base_count,
            (q, m) => query_count(pr, &wp, q.or(Some(1)), m, base_count),
        };
        let tables = match &w.tables {
            None => base_mix.clone(),
            Some(t) if t.is_empty() => {
                pr.add(
                    &child(&wp, "tables"),
                    format!("version {name} lists no table"),
                    "list the tables its queries touch, or leave `tables` out to use [database.tables]; `queries = 0` makes a version skip the database",
                );
                base_mix.clone()
            }
            Some(t) => {
                sizes_only_in_declarations(pr, &child(&wp, "tables"), t);
                mix(pr, &child(&wp, "tables"), t, &tables)
            }
        };
        workloads[v.index()] = Workload { queries, tables };
    }
    let table_sizes = table_sizes(pr, &p, &raw.tables);
    let rates = rates(pr, &p, raw);
    let sized = Sized {
        sizes: &table_sizes,
        rates,
    };
    let ddl = ddl_steps(pr, &p, raw, &tables, &sized);
    let schema = super::schema::schema(pr, &p, raw, &tables, names, &ddl);
    Some(DatabaseSpec {
        max_connections,
        superuser_reserved,
        pool_size,
        connection_timeout,
        on_exhausted,
        cores,
        statement_timeout,
        read_time: read_time?,
        write_time: write_time?,
        transactions: long_txns(pr, &p, &raw.transactions, &tables),
        ddl,
        backfills: backfills(pr, &p, &raw.backfills, &tables, &sized),
        table_sizes,
        rates,
        tables,
        workloads,
        schema,
    })
}

/// Lock bookkeeping keeps a request's tables in a 64-bit set.
const MAX_LOCKED_TABLES: usize = 64;

/// A table named by a long transaction or a DDL step.
fn table_ref(pr: &mut Problems<'_>, p: &Path, name: &str, declared: &[String]) -> Option<u16> {
    if let Some(i) = declared.iter().position(|d| d == name) {
        if i >= MAX_LOCKED_TABLES {
            pr.add(
                p,
                format!("table \"{name}\" is beyond the first {MAX_LOCKED_TABLES} declared tables, the most that table locks are tracked for"),
                format!("declare the tables that long transactions and DDL touch among the first {MAX_LOCKED_TABLES}"),
            );
            return None;
        }
        return Some(i as u16);
    }
    let help = match closest(name, declared) {
        Some(s) => format!(
            "did you mean \"{s}\"? Declared tables: {}",
            declared.join(", ")
        ),
        None => format!(
            "declare it under [database.tables], or use one of: {}",
            declared.join(", ")
        ),
    };
    pr.add(p, format!("table \"{name}\" is not declared"), help);
    None
}

/// `[[database.transactions]]`: long-running transactions (a report, a backup).
fn long_txns(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &[RawLongTxn],
    declared: &[String],
) -> Vec<LongTxnSpec> {
    let mut out = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let tp = child(&child(p, "transactions"), &i.to_string());
        let table = table_ref(pr, &child(&tp, "table"), &t.table, declared);
        let mode = match t.mode.as_deref() {
            None => Some(LockMode::AccessShare),
            Some(m) => LockMode::parse(m).or_else(|| {
                let names: Vec<&str> = LockMode::ALL.iter().map(|m| m.as_str()).collect();
                pr.add(
                    &child(&tp, "mode"),
                    format!("unknown lock mode \"{m}\""),
                    format!(
                        "use one of PostgreSQL's table lock modes: {}",
                        names.join(", ")
                    ),
                );
                None
            }),
        };
        let start = pr.duration(&child(&tp, "start"), &t.start);
        let duration = pr.duration(&child(&tp, "duration"), &t.duration);
        if let (Some(table), Some(mode), Some(start), Some(duration)) =
            (table, mode, start, duration)
        {
            out.push(LongTxnSpec {
                table,
                mode,
                start: SimTime::ZERO + start,
                duration,
            });
        }
    }
    out
}

/// `[[database.ddl]]`: DDL statements with `lock_timeout` and a retry schedule.
fn ddl_steps(
    pr: &mut Problems<'_>,
    p: &Path,
    db: &RawDatabase,
    declared: &[String],
    sized: &Sized<'_>,
) -> Vec<DdlSpec> {
    let mut out = Vec::new();
    for (i, d) in db.ddl.iter().enumerate() {
        let dp = child(&child(p, "ddl"), &i.to_string());
        let table = table_ref(pr, &child(&dp, "table"), &d.table, declared);
        let kind = DdlKind::parse(&d.kind).or_else(|| {
            let names: Vec<&str> = DdlKind::ALL.iter().map(|k| k.as_str()).collect();
            pr.add(
                &child(&dp, "kind"),
                format!("unknown DDL kind \"{}\"", d.kind),
                format!("use one of: {}", names.join(", ")),
            );
            None
        });
        // No `at`: a `migrate` step runs it (`steps.rs` checks that one does).
        let at = d.at.as_ref().map(|a| pr.duration(&child(&dp, "at"), a));
        let duration = ddl_duration(pr, &dp, d, table, kind, declared, sized);
        let effect = super::schema::ddl_effect(pr, &dp, d, table, &db.tables);
        // PostgreSQL lock_timeout: 0 (wait forever) by default.
        let lock_timeout = d
            .lock_timeout
            .as_ref()
            .and_then(|t| pr.duration(&child(&dp, "lock_timeout"), t))
            .filter(|t| !t.is_zero());
        let retries = pr.count(&child(&dp, "retries"), d.retries, 0, 0, 1_000_000);
        if retries > 0 && lock_timeout.is_none() {
            pr.add(
                &child(&dp, "retries"),
                "retries without lock_timeout: an attempt that waits forever never times out to be retried",
                "set lock_timeout, e.g. lock_timeout = \"2s\"",
            );
        }
        let retry_after = pr.opt_duration(
            &child(&dp, "retry_after"),
            &d.retry_after,
            SimDuration::from_secs(1),
        );
        if let (Some(table), Some(kind), Some(duration)) = (table, kind, duration) {
            let Some(at) = at.map_or(Some(None), |a| a.map(Some)) else {
                continue;
            };
            out.push(DdlSpec {
                name: d.name.clone(),
                at: at.map(|a| SimTime::ZERO + a),
                table,
                kind,
                duration,
                lock_timeout,
                retries,
                retry_after,
                effect,
            });
        }
    }
    out
}

/// `queries` (and `queries_max` for a uniform count).
fn query_count(
    pr: &mut Problems<'_>,
    p: &Path,
    queries: Option<i64>,
    max: Option<i64>,
    default: QueryCount,
) -> QueryCount {
    let Some(q) = queries else {
        if max.is_some() {
            pr.add(
                &child(p, "queries_max"),
                "queries_max without queries",
                "give the fewest queries a request makes as queries and the most as queries_max",
            );
        }
        return default;
    };
    let n = pr.count(&child(p, "queries"), Some(q), 1, 0, 10_000);
    match max {
        None => QueryCount::Fixed(n),
        Some(m) => {
            let m = pr.count(&child(p, "queries_max"), Some(m), n, i64::from(n), 10_000);
            QueryCount::Uniform { min: n, max: m }
        }
    }
}

/// A table → { share, writes } map: shares are relative weights, writes a fraction.
fn mix(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &IndexMap<String, RawDbTable>,
    declared: &[String],
) -> Vec<TableShare> {
    let mut out = Vec::new();
    let mut total = 0.0;
    for (name, t) in raw {
        let tp = child(p, name);
        let Some(i) = declared.iter().position(|d| d == name) else {
            let help = match closest(name, declared) {
                Some(s) => format!(
                    "did you mean \"{s}\"? Declared tables: {}",
                    declared.join(", ")
                ),
                None => format!(
                    "declare it under [database.tables], or use one of: {}",
                    declared.join(", ")
                ),
            };
            pr.add(&tp, format!("table \"{name}\" is not declared"), help);
            continue;
        };
        let share = t.share.unwrap_or(1.0);
        if !(share.is_finite() && share >= 0.0) {
            pr.add(
                &child(&tp, "share"),
                format!("`share` = {share} is not a non-negative weight"),
                "shares are relative weights of the tables' queries, e.g. 0.8 and 0.2",
            );
            continue;
        }
        let writes = pr.fraction(&child(&tp, "writes"), t.writes, 0.0);
        total += share;
        out.push(TableShare {
            table: i as u16,
            cumulative: total,
            writes,
        });
    }
    if !raw.is_empty() && total <= 0.0 {
        pr.add(
            p,
            "every table's share is zero",
            "give at least one table a share above zero",
        );
    }
    if total > 0.0 {
        for t in &mut out {
            t.cumulative /= total;
        }
    }
    out
}

/// What size-based durations are computed from: each declared table's size and the
/// database's migration rates.
struct Sized<'a> {
    sizes: &'a [TableSize],
    rates: Rates,
}

impl Sized<'_> {
    fn of(&self, table: u16) -> TableSize {
        self.sizes.get(table as usize).copied().unwrap_or_default()
    }
}

/// Widest average row accepted, bytes (PostgreSQL's 1 GB field limit).
const MAX_ROW_BYTES: i64 = 1 << 30;

/// Most rows a table or a backfill may declare (2^48: far beyond any real table, and small
/// enough that rows × 10^6 µs never overflows).
const MAX_ROWS: i64 = 1 << 48;

/// Each declared table's `rows` and `row_bytes` (for size-based DDL durations and backfills).
fn table_sizes(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &IndexMap<String, RawDbTable>,
) -> Vec<TableSize> {
    raw.iter()
        .map(|(name, t)| {
            let tp = child(&child(p, "tables"), name);
            let rows = t.rows.and_then(|n| {
                if (0..=MAX_ROWS).contains(&n) {
                    return Some(n as u64);
                }
                pr.add(
                    &child(&tp, "rows"),
                    format!("`rows` = {n} is not a table size"),
                    format!("give the number of rows in the table, 0 to {MAX_ROWS}"),
                );
                None
            });
            let row_bytes = match t.row_bytes {
                None => REFERENCE_ROW_BYTES,
                Some(n) if (1..=MAX_ROW_BYTES).contains(&n) => n as u64,
                Some(n) => {
                    pr.add(
                        &child(&tp, "row_bytes"),
                        format!("`row_bytes` = {n} is not a row width"),
                        format!("give the average row width in bytes, 1 to {MAX_ROW_BYTES} (default {REFERENCE_ROW_BYTES})"),
                    );
                    REFERENCE_ROW_BYTES
                }
            };
            TableSize { rows, row_bytes }
        })
        .collect()
}

/// A version's own table mix gives shares and writes only; a table's size is declared once.
fn sizes_only_in_declarations(pr: &mut Problems<'_>, p: &Path, raw: &IndexMap<String, RawDbTable>) {
    for (name, t) in raw {
        for (key, given) in [("rows", t.rows), ("row_bytes", t.row_bytes)] {
            if given.is_none() {
                continue;
            }
            pr.add(
                &child(&child(p, name), key),
                "a version's table mix cannot set a table's size",
                format!("move {key} to [database.tables] {name} = {{ {key} = … }}"),
            );
        }
    }
}

/// A rows-per-second rate of `[database]` (or of a backfill).
fn rate(pr: &mut Problems<'_>, p: &Path, v: Option<i64>, default: u64) -> u64 {
    match v {
        None => default,
        Some(n) if (1..=MAX_ROWS).contains(&n) => n as u64,
        Some(n) => {
            pr.add(
                p,
                format!("`{}` = {n} is not a rate", p.join(".")),
                format!("give rows per second, 1 to {MAX_ROWS} (default {default})"),
            );
            default
        }
    }
}

/// `rewrite_rate`, `scan_rate`, `index_build_rate`, `backfill_rate` (rows/s).
fn rates(pr: &mut Problems<'_>, p: &Path, raw: &RawDatabase) -> Rates {
    let d = Rates::default();
    Rates {
        rewrite: rate(pr, &child(p, "rewrite_rate"), raw.rewrite_rate, d.rewrite),
        scan: rate(pr, &child(p, "scan_rate"), raw.scan_rate, d.scan),
        index_build: rate(
            pr,
            &child(p, "index_build_rate"),
            raw.index_build_rate,
            d.index_build,
        ),
        backfill: rate(
            pr,
            &child(p, "backfill_rate"),
            raw.backfill_rate,
            d.backfill,
        ),
    }
}

/// A DDL step's work: its `duration` when given, else from its kind and its table's size.
fn ddl_duration(
    pr: &mut Problems<'_>,
    dp: &Path,
    d: &RawDdl,
    table: Option<u16>,
    kind: Option<DdlKind>,
    declared: &[String],
    sized: &Sized<'_>,
) -> Option<SimDuration> {
    if let Some(raw) = &d.duration {
        return pr.duration(&child(dp, "duration"), raw);
    }
    let (table, kind) = (table?, kind?);
    if let Some(duration) = kind.sized_duration(sized.of(table), &sized.rates) {
        return Some(duration);
    }
    let name = &declared[table as usize];
    if kind.work_kind().is_none() {
        pr.add(
            &child(dp, "kind"),
            "alter_table has no duration: its work depends on the form of ALTER TABLE",
            "give the step a duration, or use a kind that says what it does (add_column, alter_column_type, set_not_null, …)",
        );
    } else {
        pr.add(
            &child(dp, "kind"),
            format!(
                "{} takes its duration from the table's size, and table \"{name}\" declares no rows",
                kind.as_str()
            ),
            format!("give the table rows = … (e.g. [database.tables] {name} = {{ rows = 10_000_000 }}) or the step a duration"),
        );
    }
    None
}

/// `[[database.backfills]]`: batched background updates of a table.
fn backfills(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &[RawBackfill],
    declared: &[String],
    sized: &Sized<'_>,
) -> Vec<BackfillSpec> {
    let mut out = Vec::new();
    for (i, b) in raw.iter().enumerate() {
        let bp = child(&child(p, "backfills"), &i.to_string());
        let table = table_ref(pr, &child(&bp, "table"), &b.table, declared);
        // `None` when absent (a `backfill` step runs it); `Some(None)` when unreadable.
        let at = b.at.as_ref().map(|a| pr.duration(&child(&bp, "at"), a));
        let rows = match (b.rows, table) {
            (Some(n), _) if !(0..=MAX_ROWS).contains(&n) => {
                pr.add(
                    &child(&bp, "rows"),
                    format!("`rows` = {n} is not a number of rows"),
                    format!("give the rows to update, 0 to {MAX_ROWS}"),
                );
                None
            }
            (Some(n), _) => Some(n as u64),
            (None, Some(t)) => {
                let rows = sized.of(t).rows;
                if rows.is_none() {
                    let name = &declared[t as usize];
                    pr.add(
                        &child(&bp, "table"),
                        format!("the backfill of table \"{name}\" gives no rows, and the table declares none"),
                        format!("give the table rows = … (e.g. [database.tables] {name} = {{ rows = 10_000_000 }}) or the backfill rows = …"),
                    );
                }
                rows
            }
            (None, None) => None,
        };
        let batch_size = match b.batch_size {
            None => Some(1_000),
            Some(n) if (1..=MAX_ROWS).contains(&n) => Some(n as u64),
            Some(n) => {
                pr.add(
                    &child(&bp, "batch_size"),
                    format!("`batch_size` = {n}: a batch must update at least one row"),
                    "give the rows each batch updates, e.g. batch_size = 1000",
                );
                None
            }
        };
        let pause = pr.opt_duration(&child(&bp, "pause"), &b.pause, SimDuration::ZERO);
        let rate = rate(pr, &child(&bp, "rate"), b.rate, sized.rates.backfill);
        if let (Some(table), Some(rows), Some(batch_size), false) =
            (table, rows, batch_size, at == Some(None))
        {
            out.push(BackfillSpec {
                name: b.name.clone(),
                at: at.flatten().map(|d| SimTime::ZERO + d),
                table,
                rows,
                batch_size,
                pause,
                rate,
                row_bytes: sized.of(table).row_bytes,
            });
        }
    }
    out
}
