//! The `[database]` table: PostgreSQL's connection limits, each pod's HikariCP-like pool, the
//! server's cores, timeouts, declared tables and each version's queries (see
//! `model::database`; defaults from `../shared/reference/state.md` §1.5, §1.8, §2.1).

use indexmap::IndexMap;

use super::problems::{child, closest, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::database::ddl::{DdlKind, DdlSpec, LongTxnSpec};
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
            Some(t) => mix(pr, &child(&wp, "tables"), t, &tables),
        };
        workloads[v.index()] = Workload { queries, tables };
    }
    let ddl = ddl_steps(pr, &p, raw, &tables);
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
) -> Vec<DdlSpec> {
    let mut out = Vec::new();
    for (i, d) in db.ddl.iter().enumerate() {
        let dp = child(&child(p, "ddl"), &i.to_string());
        let table = table_ref(pr, &child(&dp, "table"), &d.table, declared);
        let kind = DdlKind::ALL
            .into_iter()
            .find(|k| k.as_str() == d.kind.trim())
            .or_else(|| {
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
        let duration = pr.duration(&child(&dp, "duration"), &d.duration);
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
