//! Bulk import: rows validated like any create, written many per statement
//! in one transaction, with errors reported per line.

use std::collections::{BTreeSet, HashMap};

use rapport_meta::{ObjectDef, RelationKind};
use rapport_query::{Scalar, Sql, field_columns};
use serde_json::{Value, json};

use crate::bulk_txn::{BulkTxn, push_copy_text};
use crate::change::RecordChange;
use crate::db::{StatementCounter, execute};
use crate::error::StoreError;
use crate::metadata::{is_unique_violation, numbered_fields};
use crate::records::{Actor, Record, RecordStore, now_value, unique_conflict};

/// Why one line of an import was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

/// An import in progress: one transaction, fed chunk by chunk.
pub struct Import<'a> {
    store: &'a RecordStore,
    txn: BulkTxn,
    counter: &'a StatementCounter,
    actor: Actor,
    obj: &'a ObjectDef,
    skip_invalid: bool,
    /// When the import's records are created (all of them, one instant).
    now: Value,
    pub imported: u64,
    /// Lines refused (all of them; `errors` keeps the first [`MAX_ERRORS`]).
    pub refused: usize,
    pub errors: Vec<LineError>,
}

/// At most this many errors are kept; the count of refused lines is exact.
const MAX_ERRORS: usize = 1000;

/// Lines validated at a time, ahead of the writes of the slice before.
const SLICE: usize = 500;

/// A slice of lines made ready without the database.
#[derive(Default)]
struct Prepared {
    lines: Vec<PreparedLine>,
    refused: Vec<(usize, StoreError)>,
    /// Every column some line sets.
    columns: BTreeSet<String>,
}

struct PreparedLine {
    line: usize,
    input: Record,
    id: String,
    /// The row as `insert_rows` takes it.
    row: Row,
    /// Its history entry.
    history: RecordChange,
}

/// What a slice's write did: lines written, and lines refused for their links.
struct SliceWritten {
    imported: u64,
    refused: Vec<(usize, StoreError)>,
}

/// A row to insert, its values in the order of the import's columns.
#[derive(Clone)]
enum Row {
    /// PostgreSQL: a line of COPY's text format (without its line end).
    Copy(String),
    /// SQLite: the values bound as a create binds them.
    Values(Vec<sea_query::Value>),
}

impl Row {
    /// Appends a drawn auto-number as the row's last value.
    fn push_number(&mut self, number: String) {
        match self {
            Row::Copy(line) => {
                line.push('\t');
                push_copy_text(line, &number);
            }
            Row::Values(values) => values.push(sea_query::Value::String(Some(number))),
        }
    }
}

/// SQLite: parameters per INSERT, well under its limit of 32,766. The
/// parameters are anonymous (`?`): SQLite finds a numbered one's name by a
/// scan of all of them, so binding thousands would cost the square.
const PARAMS_PER_INSERT: usize = 10_000;

/// Imports of at least this many records may refresh the table's
/// statistics (see `refresh_statistics`).
const ANALYZE_AFTER: u64 = 1000;

/// Writes `rows` into `obj`'s table, `columns` in the order the rows give
/// them. PostgreSQL takes them by `COPY … FROM STDIN` (half the statement
/// time of the same rows parsed from JSON, docs/performance.md); SQLite by
/// multi-row `INSERT … VALUES` with a parameter per value (reading the rows
/// from JSON instead spent a third of its time in the JSON functions).
async fn insert_rows(
    store: &RecordStore,
    txn: &BulkTxn,
    counter: &StatementCounter,
    obj: &ObjectDef,
    columns: &[&str],
    rows: Vec<Row>,
) -> Result<(), StoreError> {
    let backend = store.db.backend;
    // `table (column, …)`, for either statement.
    let mut target = Sql::new(backend);
    target.push(&store.layout().table(&obj.name)).push(" (");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            target.push(", ");
        }
        target.ident(c);
    }
    target.push(")");
    let target = target.text;
    let mixed = || StoreError::Internal("an import row of the other database".into());
    match txn {
        BulkTxn::Pg(pg) => {
            let statement = format!("COPY {target} FROM STDIN");
            let mut data = Vec::new();
            for row in rows {
                let Row::Copy(line) = row else {
                    return Err(mixed());
                };
                data.extend_from_slice(line.as_bytes());
                data.push(b'\n');
            }
            counter.bump();
            tracing::trace!(sql = %statement, "copy");
            pg.copy_in(&statement, data).await?;
        }
        BulkTxn::Orm(_) => {
            let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
            let per_insert = (PARAMS_PER_INSERT / columns.len().max(1)).max(1);
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let mut sql = Sql::new(backend);
                sql.push("INSERT INTO ").push(&target).push(" VALUES ");
                for (i, row) in rows.by_ref().take(per_insert).enumerate() {
                    let Row::Values(values) = row else {
                        return Err(mixed());
                    };
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.push(&tuple);
                    sql.params.extend(values);
                }
                execute(txn, counter, store.tagged(sql)).await?;
            }
        }
    }
    Ok(())
}

/// One row as a line of COPY's text format (without its line end): the
/// values of `columns` in order, tab-separated, `\N` for null; JSON columns
/// as JSON text, other values as the text their column type reads. `values`
/// are sorted by column, as `columns` are.
fn copy_line(
    values: Vec<(String, sea_query::Value)>,
    columns: &BTreeSet<String>,
    scalars: &HashMap<String, rapport_query::Column>,
) -> Result<String, StoreError> {
    let mut line = String::with_capacity(columns.len() * 16);
    let mut values = values.into_iter().peekable();
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            line.push('\t');
        }
        let value = values
            .next_if(|(c, _)| c == column)
            .map(|(_, v)| json_of(v))
            .transpose()?;
        let json = scalars.get(column).map(|c| c.scalar) == Some(Scalar::Json);
        match value {
            None | Some(Value::Null) => line.push_str("\\N"),
            Some(v) if json => push_copy_text(&mut line, &v.to_string()),
            Some(Value::String(s)) => push_copy_text(&mut line, &s),
            Some(v) => push_copy_text(&mut line, &v.to_string()),
        }
    }
    Ok(line)
}

/// A row's values in the order of `columns`, null where it sets none.
/// `values` are sorted by column, as `columns` are.
fn bound_values(
    values: Vec<(String, sea_query::Value)>,
    columns: &BTreeSet<String>,
) -> Vec<sea_query::Value> {
    let mut values = values.into_iter().peekable();
    columns
        .iter()
        .map(|column| {
            values
                .next_if(|(c, _)| c == column)
                .map_or(sea_query::Value::String(None), |(_, v)| v)
        })
        .collect()
}

/// A record as the store would read it back after writing `set` (decimals
/// normalised, composites whole), without the database.
fn stored_record(
    columns: &HashMap<String, rapport_query::Column>,
    set: &rapport_query::WriteSet,
) -> Result<Record, StoreError> {
    let mut out = Record::with_capacity(set.values.len());
    for (name, value) in &set.values {
        let Some(column) = columns.get(name) else {
            continue;
        };
        let mut v = json_of(value.clone())?;
        if column.scalar == Scalar::Decimal
            && let Some(d) = v
                .as_str()
                .and_then(|t| t.parse::<rust_decimal::Decimal>().ok())
        {
            v = Value::String(d.normalize().to_string());
        }
        // SQLite binds JSON as its text.
        if column.scalar == Scalar::Json
            && let Some(parsed) = v.as_str().and_then(|t| serde_json::from_str(t).ok())
        {
            v = parsed;
        }
        crate::decode::place(&mut out, column, v);
    }
    crate::decode::close_composites(&mut out);
    Ok(out)
}

/// A bound value as the JSON the database reads it back from: each kind
/// in the text its column type's input takes.
fn json_of(v: sea_query::Value) -> Result<Value, StoreError> {
    use sea_query::Value as V;
    Ok(match v {
        V::String(s) => s.map(|s| Value::String(s.to_string())).unwrap_or_default(),
        V::BigInt(n) => n.map(Value::from).unwrap_or_default(),
        V::Bool(b) => b.map(Value::Bool).unwrap_or_default(),
        V::Double(f) => f
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_default(),
        V::Decimal(d) => d.map(|d| Value::String(d.to_string())).unwrap_or_default(),
        V::ChronoDate(d) => d
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .unwrap_or_default(),
        V::ChronoDateTimeUtc(d) => d
            .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
            .unwrap_or_default(),
        V::Json(j) => j.map(|j| *j).unwrap_or_default(),
        V::Uuid(u) => u.map(|u| Value::String(u.to_string())).unwrap_or_default(),
        other => {
            return Err(StoreError::Internal(format!(
                "an import cannot carry {other:?}"
            )));
        }
    })
}

impl RecordStore {
    /// Starts an import into `object`. Without `skip_invalid`, any invalid
    /// line means nothing is imported.
    pub async fn begin_import<'a>(
        &'a self,
        counter: &'a StatementCounter,
        actor: &Actor,
        object: &str,
        skip_invalid: bool,
    ) -> Result<Import<'a>, StoreError> {
        Ok(Import {
            store: self,
            txn: BulkTxn::begin(&self.db).await?,
            counter,
            actor: actor.clone(),
            obj: self.object(object)?,
            skip_invalid,
            now: now_value(),
            imported: 0,
            refused: 0,
            errors: Vec::new(),
        })
    }
}

impl Import<'_> {
    /// Refuses a line the caller could not even read as a record.
    pub fn reject(&mut self, line: usize, reason: impl Into<String>) {
        let _ = self.refuse(line, StoreError::bad("", reason));
    }

    /// Refuses a line for one of its fields.
    pub fn reject_field(&mut self, line: usize, field: &str, reason: impl Into<String>) {
        let _ = self.refuse(line, StoreError::bad(field, reason));
    }

    fn refuse(&mut self, line: usize, e: StoreError) -> Result<(), StoreError> {
        match e {
            StoreError::BadInput { field, reason } => {
                self.refused += 1;
                if self.errors.len() < MAX_ERRORS {
                    self.errors.push(LineError {
                        line,
                        field,
                        reason,
                    });
                }
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Validates and writes a chunk of `(line number, record)`. Lines are
    /// validated on the blocking pool one slice ahead of the writes, so the
    /// server checks a slice while the database stores the one before.
    pub async fn push(&mut self, rows: Vec<(usize, Record)>) -> Result<(), StoreError> {
        let mut slices = Vec::with_capacity(rows.len() / SLICE + 1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            slices.push(rows.by_ref().take(SLICE).collect::<Vec<_>>());
        }
        let mut slices = slices.into_iter();
        let mut next = slices.next().map(|slice| self.prepare(slice));
        while let Some(job) = next.take() {
            let prepared = job
                .await
                .map_err(|e| StoreError::Internal(format!("import validation stopped: {e}")))??;
            next = slices.next().map(|slice| self.prepare(slice));
            self.write(prepared).await?;
        }
        Ok(())
    }

    /// What needs no database: each line's values checked and encoded, its
    /// id, its row and its history entry written as JSON.
    fn prepare(
        &self,
        rows: Vec<(usize, Record)>,
    ) -> tokio::task::JoinHandle<Result<Prepared, StoreError>> {
        let store = self.store.clone();
        let object = self.obj.name.clone();
        let now = self.now.clone();
        let created_by = format!("{}:{}", self.actor.kind, self.actor.name);
        tokio::task::spawn_blocking(move || {
            let obj = store.object(&object)?;
            let columns: HashMap<String, rapport_query::Column> =
                rapport_query::record_columns(obj)
                    .into_iter()
                    .map(|c| (c.name.clone(), c))
                    .collect();
            let stamp = store.encode(Scalar::DateTime, &now, "createdAt")?;
            // Numbers are drawn when the slice is written; a null given for
            // one (read-only) must not name its column twice.
            let numbered: Vec<&str> = numbered_fields(&store.meta.field_ids, obj)?
                .iter()
                .map(|f| f.name)
                .collect();
            let mut out = Prepared::default();
            let mut sets = Vec::with_capacity(rows.len());
            for (line, input) in rows {
                let mut set = match store.write_set(obj, &input, true, "") {
                    Ok(set) => set,
                    Err(e) => {
                        out.refused.push((line, e));
                        continue;
                    }
                };
                // An id in the file is kept, so exported objects that point
                // at each other import with their references intact.
                let id = match input.get("id").and_then(Value::as_str) {
                    Some(given) => match uuid::Uuid::parse_str(given) {
                        Ok(u) => u.to_string(),
                        Err(_) => {
                            let e = StoreError::bad("id", format!("`{given}` is not a UUID"));
                            out.refused.push((line, e));
                            continue;
                        }
                    },
                    None => uuid::Uuid::now_v7().to_string(),
                };
                // As a create's history: the values as stored, not as sent.
                let mut stored = stored_record(&columns, &set)?;
                stored.insert("id".into(), Value::String(id.clone()));
                let history = RecordChange::between(obj, None, &stored);
                // The system columns, bound as a create binds them.
                set.values
                    .retain(|(column, _)| !numbered.contains(&column.as_str()));
                set.set(
                    "id",
                    store.encode(Scalar::Uuid, &Value::String(id.clone()), "id")?,
                );
                set.set("createdAt", stamp.clone());
                set.set("updatedAt", stamp.clone());
                set.set("version", sea_query::Value::BigInt(Some(1)));
                set.set(
                    "createdBy",
                    sea_query::Value::String(Some(created_by.clone())),
                );
                set.values.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                for (column, _) in &set.values {
                    if !out.columns.contains(column) {
                        out.columns.insert(column.clone());
                    }
                }
                out.lines.push(PreparedLine {
                    line,
                    input,
                    id,
                    row: Row::Values(Vec::new()),
                    history,
                });
                sets.push(set.values);
            }
            // Every line's columns are known now: each row gives them all.
            for (prepared, values) in out.lines.iter_mut().zip(sets) {
                prepared.row = match store.db.backend {
                    rapport_query::Backend::Postgres => {
                        Row::Copy(copy_line(values, &out.columns, &columns)?)
                    }
                    rapport_query::Backend::Sqlite => {
                        Row::Values(bound_values(values, &out.columns))
                    }
                };
            }
            Ok(out)
        })
    }

    /// Writes prepared lines: references checked, rows inserted many per
    /// statement, history entries added.
    async fn write(&mut self, prepared: Prepared) -> Result<(), StoreError> {
        let (store, obj) = (self.store, self.obj);
        for (line, e) in prepared.refused {
            self.refuse(line, e)?;
        }
        let mut valid = prepared.lines;
        // References in one look-up per relation for the whole slice; per
        // line only when something is missing, to say which.
        let inputs: Vec<&Record> = valid.iter().map(|p| &p.input).collect();
        if let Err(e) = store
            .check_references(&self.txn, self.counter, obj, &inputs)
            .await
        {
            if !matches!(e, StoreError::BadInput { .. }) {
                return Err(e);
            }
            let mut kept = Vec::with_capacity(valid.len());
            for p in valid {
                match store
                    .check_references(&self.txn, self.counter, obj, std::slice::from_ref(&p.input))
                    .await
                {
                    Ok(()) => kept.push(p),
                    Err(e) => self.refuse(p.line, e)?,
                }
            }
            valid = kept;
        }
        if self.refused > 0 && !self.skip_invalid {
            return Ok(()); // nothing will be written; keep collecting errors
        }
        store.touched(obj);
        let columns: Vec<String> = prepared.columns.into_iter().collect();
        // A unique value another record holds (or an earlier line of this
        // import) fails the slice's insert. The slice then goes again without
        // the lines that hold one, each refused by name; a savepoint keeps
        // the rest of the import.
        use sea_orm::ConnectionTrait;
        self.txn
            .execute_unprepared("SAVEPOINT import_slice")
            .await?;
        let first = self.write_slice(&valid, &columns).await;
        let written = match first {
            Err(StoreError::Database(db)) if is_unique_violation(&db) => {
                self.txn
                    .execute_unprepared("ROLLBACK TO SAVEPOINT import_slice")
                    .await?;
                let taken = self.lines_holding_taken_values(&valid).await?;
                if taken.is_empty() {
                    return Err(unique_conflict(StoreError::Database(db), obj));
                }
                let mut kept = Vec::with_capacity(valid.len());
                for p in valid {
                    match taken.iter().find(|(line, _)| *line == p.line) {
                        Some((line, field)) => self.refuse(
                            *line,
                            StoreError::bad(
                                field.as_str(),
                                format!("another {} has the same `{field}`", obj.name),
                            ),
                        )?,
                        None => kept.push(p),
                    }
                }
                if self.refused > 0 && !self.skip_invalid {
                    self.txn
                        .execute_unprepared("RELEASE SAVEPOINT import_slice")
                        .await?;
                    return Ok(());
                }
                self.write_slice(&kept, &columns)
                    .await
                    .map_err(|e| unique_conflict(e, obj))?
            }
            other => other?,
        };
        self.txn
            .execute_unprepared("RELEASE SAVEPOINT import_slice")
            .await?;
        for (line, e) in written.refused {
            self.refuse(line, e)?;
        }
        self.imported += written.imported;
        Ok(())
    }

    /// Writes a slice's lines: their auto-numbers drawn, links, rows and
    /// history entries. Lines whose links fail are left out and returned,
    /// to be refused once the slice stands.
    async fn write_slice(
        &self,
        valid: &[PreparedLine],
        columns: &[String],
    ) -> Result<SliceWritten, StoreError> {
        let (store, obj) = (self.store, self.obj);
        // COPY reads a row's values in the order of its column list: the
        // prepared columns, then the numbers, as each row gets them.
        let mut columns: Vec<String> = columns.to_vec();
        // Numbers are drawn in the transaction, one statement per field for
        // the whole slice, and handed out in line order.
        let mut numbers = Vec::new();
        for field in numbered_fields(&store.meta.field_ids, obj)? {
            columns.push(field.name.to_string());
            let drawn = field.draw(&self.txn, store.layout(), valid.len()).await?;
            numbers.push((field.name, drawn.into_iter()));
        }
        let has_links = obj
            .fields
            .iter()
            .any(|f| f.relation_kind() == Some(RelationKind::ManyToMany));
        let mut rows: Vec<Row> = Vec::with_capacity(valid.len());
        let mut history = Vec::with_capacity(valid.len());
        let mut refused = Vec::new();
        for p in valid {
            let mut row = p.row.clone();
            // The row gets its numbers as its last values.
            for (_, drawn) in &mut numbers {
                let number = drawn
                    .next()
                    .ok_or_else(|| StoreError::Internal("too few numbers drawn".into()))?;
                row.push_number(number);
            }
            // Links are written before their record; a refused line must not
            // leave any, so links go through a savepoint of their own.
            if has_links {
                use sea_orm::ConnectionTrait;
                self.txn
                    .execute_unprepared("SAVEPOINT import_links")
                    .await?;
                match store
                    .write_links(&self.txn, self.counter, obj, &p.id, &p.input)
                    .await
                {
                    Ok(()) => {
                        self.txn
                            .execute_unprepared("RELEASE SAVEPOINT import_links")
                            .await?;
                    }
                    Err(e) => {
                        self.txn
                            .execute_unprepared("ROLLBACK TO SAVEPOINT import_links")
                            .await?;
                        self.txn
                            .execute_unprepared("RELEASE SAVEPOINT import_links")
                            .await?;
                        refused.push((p.line, e));
                        continue;
                    }
                }
            }
            rows.push(row);
            history.push(&p.history);
        }
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        insert_rows(store, &self.txn, self.counter, obj, &columns, rows).await?;
        store
            .changed(&self.txn, self.counter, &self.actor, &history)
            .await?;
        Ok(SliceWritten {
            imported: history.len() as u64,
            refused,
        })
    }

    /// The lines of a slice whose unique values another record holds
    /// (deleted ones included: their values stay taken), or an earlier line
    /// of the slice: (line, field). Text is compared as the database does.
    async fn lines_holding_taken_values(
        &self,
        valid: &[PreparedLine],
    ) -> Result<Vec<(usize, String)>, StoreError> {
        let (store, obj) = (self.store, self.obj);
        let mut out: Vec<(usize, String)> = Vec::new();
        let unique = obj
            .stored_fields()
            .filter(|f| f.unique && f.relation.is_none() && f.field_type.composite().is_none())
            .map(|f| (f.name.clone(), field_columns(f).remove(0)))
            .chain(std::iter::once((
                "id".to_string(),
                rapport_query::record_columns(obj).remove(0),
            )));
        for (field, column) in unique {
            let text_of = |p: &PreparedLine| -> Option<String> {
                if field == "id" {
                    return p.input.contains_key("id").then(|| p.id.clone());
                }
                match p.input.get(&field)? {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                }
            };
            let values: Vec<String> = valid.iter().filter_map(text_of).collect();
            if values.is_empty() {
                continue;
            }
            let taken = store
                .taken_values(&self.txn, self.counter, obj, &column, &values)
                .await?;
            let mut seen = std::collections::HashSet::new();
            for p in valid {
                let Some(v) = text_of(p) else { continue };
                if (taken.contains(&v) || !seen.insert(v))
                    && !out.iter().any(|(line, _)| *line == p.line)
                {
                    out.push((p.line, field.clone()));
                }
            }
        }
        Ok(out)
    }

    /// PostgreSQL plans from statistics that a bulk load leaves stale until
    /// autovacuum's next round; meanwhile a look-up by ids can take the
    /// deleted-at index and scan the whole table per statement (seen: 57 ms
    /// instead of 2 ms for 500 ids among 10,000). So an import that is large
    /// for its table (as autovacuum judges it: a tenth of the rows it last
    /// counted) runs ANALYZE; that counts this transaction's rows, and its
    /// statistics land with the commit. ANALYZE samples a bounded number of
    /// rows, but a small import into a big table need not pay for it.
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if self.store.db.backend != rapport_query::Backend::Postgres
            || self.imported < ANALYZE_AFTER
        {
            return Ok(());
        }
        let table = self.store.layout().table(&self.obj.name);
        // -1 when never analyzed.
        let counted = crate::db::sys_query(
            &self.txn,
            self.store.db.backend,
            "SELECT reltuples FROM pg_class WHERE oid = $1::regclass",
            vec![table.clone().into()],
        )
        .await?
        .first()
        .map(|row| row.try_get_by_index::<f32>(0))
        .transpose()?
        .unwrap_or(-1.0);
        self.counter.bump();
        if (self.imported as f32) * 10.0 >= counted {
            // A tenth of the default sample (3,000 rows, not 30,000): enough
            // for row counts and a plan that uses the right index, at a tenth
            // of the cost (person at scale 1: 15 ms, not 200). The import's
            // rows still count as changes after the commit, so autovacuum's
            // next round analyzes the table again with the full sample.
            sea_orm::ConnectionTrait::execute_unprepared(
                &self.txn,
                &format!("SET LOCAL default_statistics_target = 10; ANALYZE {table}"),
            )
            .await?;
            self.counter.bump();
        }
        Ok(())
    }

    /// Commits, unless a line was refused and `skip_invalid` is off (then
    /// nothing is written and the errors say why).
    pub async fn finish(mut self) -> Result<ImportReport, StoreError> {
        self.errors.sort_by_key(|e| e.line);
        let clean = self.refused == 0 || self.skip_invalid;
        if clean {
            self.refresh_statistics().await?;
            self.txn.commit().await?;
        } else {
            self.txn.rollback().await?;
        }
        Ok(ImportReport {
            imported: if clean { self.imported } else { 0 },
            refused: self.refused,
            errors: self.errors,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub imported: u64,
    pub refused: usize,
    pub errors: Vec<LineError>,
}

impl ImportReport {
    pub fn to_json(&self) -> Value {
        json!({
            "imported": self.imported,
            "refused": self.refused,
            "errors": self.errors.iter().map(|e| json!({ "line": e.line, "field": e.field, "reason": e.reason })).collect::<Vec<_>>(),
        })
    }
}
