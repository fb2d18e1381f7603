//! Schema compatibility: which columns each table has now, which columns each application
//! version reads and writes, and whether a query of a version on a table still works.
//!
//! A table that declares `columns` is checked; one that does not is never checked (every
//! scenario without schema data behaves exactly as before). A version that declares no reads
//! and writes is compatible with any schema. A query of version V on table T fails
//! `schema_error` when
//!
//! * it is a read and V reads a column of T that does not exist now, or
//! * it is a write and V writes a column of T that does not exist now, or V writes T without
//!   writing a column that is `NOT NULL` (without a default) now — every write is taken to be
//!   able to insert, so a version unaware of the column fails its inserts.
//!
//! This is what PostgreSQL answers: a statement naming a column that is not there fails in
//! parse analysis, `ERROR: column "email" does not exist` (SQLSTATE 42703,
//! `undefined_column`, raised by `errorMissingColumn` in `parser/parse_relation.c`); an
//! `INSERT` leaving a `NOT NULL` column without a default null fails `ERROR: null value in
//! column "x" … violates not-null constraint` (SQLSTATE 23502, `ExecConstraints` in
//! `executor/execMain.c`). Parse analysis opens the table with the statement's lock
//! (`parserOpenTable`, `setTargetTable`) before it resolves the columns, so a failing query
//! still takes — and waits for — its table lock; the parse and plan themselves take a small
//! fraction of a millisecond, so the failing statement is modelled as taking no core time.
//!
//! DDL changes the schema when it commits (its catalog change becomes visible then):
//! `ADD COLUMN`, `DROP COLUMN`, `RENAME COLUMN`, `SET NOT NULL` (PostgreSQL `ALTER TABLE`,
//! `../shared/reference/state.md` §1.6, §1.9). Expand–contract keeps every running version
//! compatible at every step; a one-shot rename or drop breaks the version still reading the old
//! name until its last pod is gone.
//!
//! The request path asks one byte per (version, table), recomputed only when the schema
//! changes: no allocation, no hashing, no string compared while a query runs.

/// A column of a checked table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// `NOT NULL` without a default: an insert must write it.
    pub not_null: bool,
}

/// What a DDL step does to the schema when it commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaEffect {
    /// `ALTER TABLE … ADD COLUMN` (nullable, or with a default).
    AddColumn {
        /// The table.
        table: u16,
        /// The new column.
        column: String,
    },
    /// `ALTER TABLE … DROP COLUMN`.
    DropColumn {
        /// The table.
        table: u16,
        /// The column dropped.
        column: String,
    },
    /// `ALTER TABLE … RENAME COLUMN from TO to`.
    RenameColumn {
        /// The table.
        table: u16,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE … ALTER COLUMN … SET NOT NULL`.
    SetNotNull {
        /// The table.
        table: u16,
        /// The column.
        column: String,
    },
}

impl SchemaEffect {
    /// The table it changes.
    pub fn table(&self) -> u16 {
        match self {
            SchemaEffect::AddColumn { table, .. }
            | SchemaEffect::DropColumn { table, .. }
            | SchemaEffect::RenameColumn { table, .. }
            | SchemaEffect::SetNotNull { table, .. } => *table,
        }
    }

    /// The column name it brings into existence, if any (an added column, a rename's new
    /// name): what a version may name although no table declares it.
    pub fn creates(&self) -> Option<&str> {
        match self {
            SchemaEffect::AddColumn { column, .. } => Some(column),
            SchemaEffect::RenameColumn { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// A problem in a schema effect as written: what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectProblem {
    /// The key it concerns (`column` or `rename_to`).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
    /// The fix.
    pub help: String,
}

/// The schema effect of a DDL step of kind `kind` (its name in files) on `table`, from its
/// `column` and `rename_to` keys. `Ok(None)`: the kind changes no column (an index, a type
/// change, a constraint). Derived from the kind's name so that new kinds need no change here
/// unless they add, drop, rename or constrain a column.
pub fn schema_effect(
    kind: &str,
    table: u16,
    column: Option<&str>,
    rename_to: Option<&str>,
) -> Result<Option<SchemaEffect>, EffectProblem> {
    let needs_column = |what: &str| {
        EffectProblem {
        key: "column",
        message: format!("a {kind} step needs the column it {what}"),
        help: "add column = \"…\" (a name listed in the table's `columns`, or added by an earlier step)".into(),
    }
    };
    if rename_to.is_some() && kind != "rename_column" {
        return Err(EffectProblem {
            key: "rename_to",
            message: format!("rename_to belongs to a rename_column step, not {kind}"),
            help: "remove rename_to, or use kind = \"rename_column\"".into(),
        });
    }
    let column = column.map(str::to_string);
    Ok(Some(match kind {
        "add_column" | "add_column_volatile_default" => SchemaEffect::AddColumn {
            table,
            column: column.ok_or_else(|| needs_column("adds"))?,
        },
        "drop_column" => SchemaEffect::DropColumn {
            table,
            column: column.ok_or_else(|| needs_column("drops"))?,
        },
        "set_not_null" => SchemaEffect::SetNotNull {
            table,
            column: column.ok_or_else(|| needs_column("constrains"))?,
        },
        "rename_column" => SchemaEffect::RenameColumn {
            table,
            from: column.ok_or_else(|| needs_column("renames"))?,
            to: rename_to.map(str::to_string).ok_or_else(|| EffectProblem {
                key: "rename_to",
                message: "a rename_column step needs the new name".into(),
                help: "add rename_to = \"…\"".into(),
            })?,
        },
        _ => return Ok(None),
    }))
}

/// A column a version reads or writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnUse {
    /// The table.
    pub table: u16,
    /// The column's name.
    pub column: String,
}

/// What one version's code reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionNeeds {
    /// Columns its queries read.
    pub reads: Vec<ColumnUse>,
    /// Columns its writes set (and, for the `NOT NULL` rule, the only ones its inserts set).
    pub writes: Vec<ColumnUse>,
}

/// The schema as the scenario declares it before the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaSpec {
    /// Per declared table: its columns (`None`: the table is not checked).
    pub tables: Vec<Option<Vec<Column>>>,
    /// Per variant (version id): what it reads and writes (`None`: compatible with anything).
    pub versions: Vec<Option<VersionNeeds>>,
}

/// A read query of the version fails on the table.
const READ_BAD: u8 = 1;
/// A write query of the version fails on the table.
const WRITE_BAD: u8 = 2;

/// The schema during a run, with its compatibility matrix.
#[derive(Clone, Debug)]
pub struct Schema {
    tables: Vec<Option<Vec<Column>>>,
    versions: Vec<Option<VersionNeeds>>,
    /// `[variant × tables + table]`: `READ_BAD | WRITE_BAD` bits.
    bad: Vec<u8>,
}

impl Schema {
    /// The schema at the start of the run.
    pub fn new(spec: &SchemaSpec) -> Self {
        let mut s = Schema {
            tables: spec.tables.clone(),
            versions: spec.versions.clone(),
            bad: Vec::new(),
        };
        s.recompute();
        s
    }

    /// Whether a query of `variant` on `table` fails now (`write`: a write query). The hot
    /// path: one indexed byte.
    #[inline]
    pub fn fails(&self, variant: usize, table: u16, write: bool) -> bool {
        let bit = if write { WRITE_BAD } else { READ_BAD };
        self.bad
            .get(variant * self.tables.len() + table as usize)
            .is_some_and(|b| b & bit != 0)
    }

    /// The columns `table` has now (`None`: not checked).
    pub fn columns(&self, table: u16) -> Option<&[Column]> {
        self.tables.get(table as usize)?.as_deref()
    }

    /// A DDL step committed: its effect applies and the matrix is recomputed. An effect on a
    /// column that is not there (or an added one that already is) changes nothing, as the
    /// real statement would have failed; the error says why.
    pub fn apply(&mut self, effect: &SchemaEffect) -> Result<(), String> {
        let r = apply_to(&mut self.tables, effect);
        if r.is_ok() {
            self.recompute();
        }
        r
    }

    fn recompute(&mut self) {
        let n = self.tables.len();
        self.bad = vec![0; self.versions.len() * n];
        for (v, needs) in self.versions.iter().enumerate() {
            let Some(needs) = needs else { continue };
            for (t, cols) in self.tables.iter().enumerate() {
                let Some(cols) = cols else { continue };
                let has = |c: &str| cols.iter().any(|x| x.name == c);
                let on_t = |u: &&ColumnUse| u.table as usize == t;
                let mut b = 0;
                if needs.reads.iter().filter(on_t).any(|u| !has(&u.column)) {
                    b |= READ_BAD;
                }
                let mut writes = needs.writes.iter().filter(on_t).peekable();
                if writes.peek().is_some() {
                    let written: Vec<&str> = writes.map(|u| u.column.as_str()).collect();
                    let missing = written.iter().any(|c| !has(c));
                    let unset = cols
                        .iter()
                        .any(|c| c.not_null && !written.contains(&c.name.as_str()));
                    if missing || unset {
                        b |= WRITE_BAD;
                    }
                }
                self.bad[v * n + t] = b;
            }
        }
    }
}

/// Applies `effect` to `tables` (also used before the run, to check a migration sequence).
/// `Err`: the effect names a column that is not there, or adds one that is.
pub fn apply_to(tables: &mut [Option<Vec<Column>>], effect: &SchemaEffect) -> Result<(), String> {
    let Some(Some(cols)) = tables.get_mut(effect.table() as usize) else {
        return Err("the table declares no `columns`".into());
    };
    let find = |cols: &[Column], c: &str| cols.iter().position(|x| x.name == c);
    let absent = |c: &str| format!("column \"{c}\" does not exist at that point");
    match effect {
        SchemaEffect::AddColumn { column, .. } => {
            if find(cols, column).is_some() {
                return Err(format!("column \"{column}\" already exists at that point"));
            }
            cols.push(Column {
                name: column.clone(),
                not_null: false,
            });
        }
        SchemaEffect::DropColumn { column, .. } => {
            let i = find(cols, column).ok_or_else(|| absent(column))?;
            cols.remove(i);
        }
        SchemaEffect::RenameColumn { from, to, .. } => {
            if find(cols, to).is_some() {
                return Err(format!("column \"{to}\" already exists at that point"));
            }
            let i = find(cols, from).ok_or_else(|| absent(from))?;
            cols[i].name = to.clone();
        }
        SchemaEffect::SetNotNull { column, .. } => {
            let i = find(cols, column).ok_or_else(|| absent(column))?;
            cols[i].not_null = true;
        }
    }
    Ok(())
}

impl super::Database {
    /// DDL step `k` committed: its schema effect, if any, applies.
    pub(super) fn schema_commit(&mut self, k: u16) {
        let effect = self.spec.ddl[k as usize].effect.as_ref();
        if let (Some(schema), Some(effect)) = (self.schema.as_mut(), effect) {
            // A rename or drop of a column already gone would have failed; nothing changes.
            let _ = schema.apply(effect);
        }
    }

    /// The schema as it stands (`None`: no table declares columns).
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            not_null: false,
        }
    }

    fn uses(cols: &[&str]) -> Vec<ColumnUse> {
        cols.iter()
            .map(|c| ColumnUse {
                table: 0,
                column: (*c).into(),
            })
            .collect()
    }

    /// users(id, email); v1 reads and writes email; v2 reads email_address and writes both;
    /// v3 has no entry; table 1 is not checked.
    fn spec() -> SchemaSpec {
        SchemaSpec {
            tables: vec![Some(vec![col("id"), col("email")]), None],
            versions: vec![
                Some(VersionNeeds {
                    reads: uses(&["id", "email"]),
                    writes: uses(&["email"]),
                }),
                Some(VersionNeeds {
                    reads: uses(&["email_address"]),
                    writes: uses(&["email", "email_address"]),
                }),
                None,
            ],
        }
    }

    #[test]
    fn the_matrix_follows_the_columns_each_version_uses() {
        let s = Schema::new(&spec());
        assert!(!s.fails(0, 0, false) && !s.fails(0, 0, true));
        assert!(s.fails(1, 0, false), "v2 reads a column not added yet");
        assert!(s.fails(1, 0, true), "and writes it");
        assert!(
            !s.fails(2, 0, false) && !s.fails(2, 0, true),
            "no entry: anything"
        );
        for v in 0..3 {
            assert!(
                !s.fails(v, 1, false) && !s.fails(v, 1, true),
                "unchecked table"
            );
        }
    }

    #[test]
    fn expand_then_contract_keeps_each_step_compatible_with_its_versions() {
        let mut s = Schema::new(&spec());
        let add = SchemaEffect::AddColumn {
            table: 0,
            column: "email_address".into(),
        };
        s.apply(&add).unwrap();
        for v in 0..2 {
            assert!(
                !s.fails(v, 0, false) && !s.fails(v, 0, true),
                "v{v} after expand"
            );
        }
        let drop = SchemaEffect::DropColumn {
            table: 0,
            column: "email".into(),
        };
        s.apply(&drop).unwrap();
        assert!(
            s.fails(0, 0, false) && s.fails(0, 0, true),
            "v1 after contract"
        );
        assert!(!s.fails(1, 0, false), "v2 reads only the new column");
        assert!(s.fails(1, 0, true), "v2 still writes the dropped one");
    }

    #[test]
    fn a_rename_breaks_the_old_name_and_a_not_null_column_breaks_writers_unaware_of_it() {
        let mut s = Schema::new(&spec());
        s.apply(&SchemaEffect::RenameColumn {
            table: 0,
            from: "email".into(),
            to: "email_address".into(),
        })
        .unwrap();
        assert!(s.fails(0, 0, false) && s.fails(0, 0, true));
        let mut s = Schema::new(&spec());
        s.apply(&SchemaEffect::SetNotNull {
            table: 0,
            column: "id".into(),
        })
        .unwrap();
        assert!(!s.fails(0, 0, false), "reads are unaffected");
        assert!(s.fails(0, 0, true), "v1's inserts leave id null");
    }

    #[test]
    fn an_effect_on_a_missing_column_changes_nothing_and_says_why() {
        let mut s = Schema::new(&spec());
        let e = s.apply(&SchemaEffect::DropColumn {
            table: 0,
            column: "nope".into(),
        });
        assert_eq!(
            e.unwrap_err(),
            "column \"nope\" does not exist at that point"
        );
        assert_eq!(s.columns(0).unwrap().len(), 2);
        let e = s.apply(&SchemaEffect::AddColumn {
            table: 0,
            column: "id".into(),
        });
        assert!(e.unwrap_err().contains("already exists"));
        let e = s.apply(&SchemaEffect::AddColumn {
            table: 1,
            column: "x".into(),
        });
        assert!(e.unwrap_err().contains("no `columns`"));
    }

    #[test]
    fn effects_come_from_the_kinds_name() {
        let e = schema_effect("rename_column", 0, Some("a"), Some("b")).unwrap();
        assert_eq!(
            e,
            Some(SchemaEffect::RenameColumn {
                table: 0,
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(schema_effect("create_index", 0, Some("a"), None), Ok(None));
        assert_eq!(
            schema_effect("alter_column_type", 0, Some("a"), None),
            Ok(None)
        );
        let e = schema_effect("add_column_volatile_default", 2, Some("c"), None).unwrap();
        assert_eq!(e.unwrap().creates(), Some("c"));
        assert_eq!(
            schema_effect("drop_column", 0, None, None).unwrap_err().key,
            "column"
        );
        assert_eq!(
            schema_effect("rename_column", 0, Some("a"), None)
                .unwrap_err()
                .key,
            "rename_to"
        );
        assert_eq!(
            schema_effect("add_column", 0, Some("a"), Some("b"))
                .unwrap_err()
                .key,
            "rename_to"
        );
    }
}
