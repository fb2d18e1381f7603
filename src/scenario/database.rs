//! The `[database]` table: PostgreSQL's connection limits, each pod's HikariCP-like pool, the
//! server's cores, timeouts, declared tables and each version's queries (see
//! `model::database`; defaults from `../shared/reference/state.md` §1.5, §1.8, §2.1).

use indexmap::IndexMap;

use super::problems::{child, closest, Path, Problems};
use super::raw::*;
use crate::engine::SimDuration;
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
        tables,
        workloads,
    })
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
