//! The schema part of `[database]`: the columns a table declares (`columns`, `not_null`), what
//! each version reads and writes (`[database.versions.<name>] reads / writes`), and what a DDL
//! step does to the columns (`column`, `rename_to`). See `model::database::schema`.

use indexmap::IndexMap;

use super::problems::{child, closest, Path, Problems};
use super::raw::*;
use crate::model::database::ddl::DdlSpec;
use crate::model::database::schema::{
    apply_to, schema_effect, Column, ColumnUse, SchemaEffect, SchemaSpec, VersionNeeds,
};

/// Whether the table `name` declares `columns` in `[database.tables]`.
fn has_columns(raw: &IndexMap<String, RawDbTable>, name: &str) -> bool {
    raw.get(name).is_some_and(|t| t.columns.is_some())
}

/// The schema effect of DDL step `d` (kind `kind`) on `table`, at `dp` (`database.ddl.<i>`).
pub(super) fn ddl_effect(
    pr: &mut Problems<'_>,
    dp: &Path,
    d: &RawDdl,
    table: Option<u16>,
    tables: &IndexMap<String, RawDbTable>,
) -> Option<SchemaEffect> {
    let table = table?;
    if !has_columns(tables, &d.table) {
        for (key, set) in [
            ("column", d.column.is_some()),
            ("rename_to", d.rename_to.is_some()),
        ] {
            if set {
                pr.add(
                    &child(dp, key),
                    format!("table \"{}\" declares no columns, so a column change on it cannot be checked", d.table),
                    format!("list its columns, e.g. [database.tables] {} = {{ share = 1.0, columns = [\"id\", \"email\"] }}, or remove `{key}`", d.table),
                );
            }
        }
        return None;
    }
    match schema_effect(
        d.kind.trim(),
        table,
        d.column.as_deref(),
        d.rename_to.as_deref(),
    ) {
        Ok(e) => e,
        Err(problem) => {
            pr.add(&child(dp, problem.key), problem.message, problem.help);
            None
        }
    }
}

/// The declared columns and each version's reads and writes (`None`: no table declares
/// columns, so nothing is checked).
pub(super) fn schema(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &RawDatabase,
    declared: &[String],
    names: &[String],
    ddl: &[DdlSpec],
) -> Option<SchemaSpec> {
    let tp = child(p, "tables");
    let mut tables: Vec<Option<Vec<Column>>> = Vec::new();
    for (name, t) in &raw.tables {
        let p = child(&tp, name);
        tables.push(table_columns(pr, &p, name, t));
    }
    let vp = child(p, "versions");
    for (vname, w) in &raw.versions {
        for (tname, t) in w.tables.iter().flatten() {
            for (key, set) in [
                ("columns", t.columns.is_some()),
                ("not_null", t.not_null.is_some()),
            ] {
                if set {
                    pr.add(
                        &child(&child(&child(&child(&vp, vname), "tables"), tname), key),
                        format!("`{key}` describes the table itself, not one version's queries"),
                        format!("move it to [database.tables] {tname}; say what this version uses with reads = [...] and writes = [...] under [database.versions.{vname}]"),
                    );
                }
            }
        }
    }
    let checked = tables.iter().any(Option::is_some);
    // Column names each table may have at some point: declared, or brought by a DDL step.
    let mut known: Vec<Vec<String>> = tables
        .iter()
        .map(|t| t.iter().flatten().map(|c| c.name.clone()).collect())
        .collect();
    for e in ddl.iter().filter_map(|d| d.effect.as_ref()) {
        if let (Some(k), Some(c)) = (known.get_mut(e.table() as usize), e.creates()) {
            if !k.iter().any(|x| x == c) {
                k.push(c.to_string());
            }
        }
    }
    let mut versions: Vec<Option<VersionNeeds>> = vec![None; names.len()];
    for (vname, w) in &raw.versions {
        if w.reads.is_none() && w.writes.is_none() {
            continue;
        }
        let wp = child(&vp, vname);
        let Some(v) = names.iter().position(|n| n == vname) else {
            continue; // reported with the version's query mix
        };
        if !checked {
            pr.add(
                &wp,
                "a version's reads and writes need tables that declare their columns",
                "list each table's columns, e.g. [database.tables] users = { share = 1.0, columns = [\"id\", \"email\"] }",
            );
            continue;
        }
        let mut needs = VersionNeeds::default();
        for (key, list, out) in [
            ("reads", &w.reads, &mut needs.reads),
            ("writes", &w.writes, &mut needs.writes),
        ] {
            for (i, element) in list.iter().flatten().enumerate() {
                let ep = child(&child(&wp, key), &i.to_string());
                if let Some(u) = element_ref(pr, &ep, element, declared, &known, &tables) {
                    out.push(u);
                }
            }
        }
        versions[v] = Some(needs);
    }
    checked.then_some(SchemaSpec { tables, versions })
}

/// One table's `columns` and `not_null`.
fn table_columns(
    pr: &mut Problems<'_>,
    p: &Path,
    name: &str,
    t: &RawDbTable,
) -> Option<Vec<Column>> {
    let Some(cols) = &t.columns else {
        if t.not_null.is_some() {
            pr.add(
                &child(p, "not_null"),
                format!("table \"{name}\" lists NOT NULL columns but no `columns`"),
                "list every column, e.g. columns = [\"id\", \"email\"], not_null = [\"id\"]",
            );
        }
        return None;
    };
    let mut out: Vec<Column> = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        if c.is_empty() || c.contains('.') {
            pr.add(
                &child(&child(p, "columns"), &i.to_string()),
                format!("\"{c}\" is not a column name"),
                "name the column alone, without its table, e.g. \"email\"",
            );
        } else if out.iter().any(|x| &x.name == c) {
            pr.add(
                &child(&child(p, "columns"), &i.to_string()),
                format!("column \"{c}\" is listed twice"),
                "list each column once",
            );
        } else {
            out.push(Column {
                name: c.clone(),
                not_null: false,
            });
        }
    }
    for (i, c) in t.not_null.iter().flatten().enumerate() {
        match out.iter_mut().find(|x| &x.name == c) {
            Some(col) => col.not_null = true,
            None => pr.add(
                &child(&child(p, "not_null"), &i.to_string()),
                format!("NOT NULL column \"{c}\" is not among the table's columns"),
                format!("add it to columns, or use one of: {}", cols.join(", ")),
            ),
        }
    }
    Some(out)
}

/// A `"table.column"` a version reads or writes: the table declared with columns, the column
/// declared or brought by some DDL step.
fn element_ref(
    pr: &mut Problems<'_>,
    p: &Path,
    element: &str,
    declared: &[String],
    known: &[Vec<String>],
    tables: &[Option<Vec<Column>>],
) -> Option<ColumnUse> {
    let Some((tname, column)) = element.split_once('.') else {
        pr.add(
            p,
            format!("\"{element}\" does not name a table's column"),
            "write \"table.column\", e.g. \"users.email\"",
        );
        return None;
    };
    let Some(t) = declared.iter().position(|d| d == tname) else {
        let help = match closest(tname, declared) {
            Some(s) => format!(
                "did you mean \"{s}.{column}\"? Declared tables: {}",
                declared.join(", ")
            ),
            None => format!(
                "declare it under [database.tables], or use one of: {}",
                declared.join(", ")
            ),
        };
        pr.add(
            p,
            format!("{element} — table \"{tname}\" is not declared"),
            help,
        );
        return None;
    };
    if tables[t].is_none() {
        pr.add(
            p,
            format!("{element} — table \"{tname}\" declares no columns, so its use cannot be checked"),
            format!("list its columns: [database.tables] {tname} = {{ …, columns = [\"id\", \"{column}\"] }}"),
        );
        return None;
    }
    if !known[t].iter().any(|c| c == column) {
        let help = match closest(column, &known[t]) {
            Some(s) => format!("did you mean {tname}.{s}? Columns of {tname}: {}", known[t].join(", ")),
            None => format!("add it to the table's columns, or add a migration that adds it (kind = \"add_column\", column = \"{column}\"); columns of {tname}: {}", known[t].join(", ")),
        };
        pr.add(
            p,
            format!("{element} — no table declares it and no migration adds it"),
            help,
        );
        return None;
    }
    Some(ColumnUse {
        table: t as u16,
        column: column.to_string(),
    })
}

/// Plays the DDL steps' schema effects in the order they will run (`order`: indices into
/// `ddl`) from the declared columns, and reports a step whose column is not there at that
/// point (a rename or drop of a column already gone, an add of one already there). Indices
/// are the file's when every step resolved (otherwise the file has other errors anyway).
pub(super) fn check_sequence(
    pr: &mut Problems<'_>,
    spec: &SchemaSpec,
    ddl: &[DdlSpec],
    order: &[usize],
) {
    let mut tables = spec.tables.clone();
    for &k in order {
        let Some(effect) = ddl[k].effect.as_ref() else {
            continue;
        };
        if let Err(why) = apply_to(&mut tables, effect) {
            let p: Path = ["database", "ddl", &k.to_string(), "column"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let cols: Vec<&str> = tables[effect.table() as usize]
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            pr.add(
                &p,
                format!("{} on this table: {why}", ddl[k].kind.as_str()),
                format!("steps run in order (timed ones by `at`, then [[steps]]); the table's columns then are: {}", cols.join(", ")),
            );
        }
    }
}
