//! Bulk import: rows validated like any create, written many per statement
//! in one transaction, with errors reported per line.

use std::collections::BTreeMap;

use rapport_meta::{Computed, ObjectDef, RelationKind};
use rapport_query::{Scalar, Sql};
use sea_orm::DatabaseTransaction;
use serde_json::{Value, json};

use crate::audit::diff;
use crate::db::{StatementCounter, execute};
use crate::error::StoreError;
use crate::metadata::{format_number, next_number};
use crate::records::{Actor, MAX_BATCH, Record, RecordStore, now_value, unique_conflict};

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
    txn: DatabaseTransaction,
    counter: &'a StatementCounter,
    actor: Actor,
    obj: &'a ObjectDef,
    skip_invalid: bool,
    pub imported: u64,
    /// Lines refused (all of them; `errors` keeps the first [`MAX_ERRORS`]).
    pub refused: usize,
    pub errors: Vec<LineError>,
}

/// At most this many errors are kept; the count of refused lines is exact.
const MAX_ERRORS: usize = 1000;

/// Parameters per multi-row INSERT: under PostgreSQL's limit (65,535), and
/// small on SQLite, where the driver looks each parameter up by a scan of
/// all of them, so a statement's cost grows with the square of its size.
pub(crate) fn params_per_insert(backend: rapport_query::Backend) -> usize {
    match backend {
        rapport_query::Backend::Postgres => 30_000,
        rapport_query::Backend::Sqlite => 400,
    }
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
            txn: self.db.begin_write().await?,
            counter,
            actor: actor.clone(),
            obj: self.object(object)?,
            skip_invalid,
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

    /// Validates and writes a chunk of `(line number, record)`.
    pub async fn push(&mut self, rows: Vec<(usize, Record)>) -> Result<(), StoreError> {
        let (store, obj) = (self.store, self.obj);
        // Validation first: a line that fails is reported and left out.
        let mut valid: Vec<(usize, Record, rapport_query::WriteSet)> =
            Vec::with_capacity(rows.len());
        for (line, input) in rows {
            match store.write_set(obj, &input, true, "") {
                Ok(set) => valid.push((line, input, set)),
                Err(e) => self.refuse(line, e)?,
            }
        }
        // References in one look-up per relation for the whole chunk; per line
        // only when something is missing, to say which.
        let inputs: Vec<&Record> = valid.iter().map(|(_, r, _)| r).collect();
        if let Err(e) = store
            .check_references(&self.txn, self.counter, obj, &inputs)
            .await
        {
            if !matches!(e, StoreError::BadInput { .. }) {
                return Err(e);
            }
            let mut kept = Vec::with_capacity(valid.len());
            for (line, input, set) in valid {
                match store
                    .check_references(&self.txn, self.counter, obj, std::slice::from_ref(&input))
                    .await
                {
                    Ok(()) => kept.push((line, input, set)),
                    Err(e) => self.refuse(line, e)?,
                }
            }
            valid = kept;
        }
        if self.refused > 0 && !self.skip_invalid {
            return Ok(()); // nothing will be written; keep collecting errors
        }
        store.touched(obj);
        let now = now_value();
        let stamp = store.encode(Scalar::DateTime, &now, "createdAt")?;
        let created_by = format!("{}:{}", self.actor.kind, self.actor.name);
        let has_links = obj
            .fields
            .iter()
            .any(|f| f.relation_kind() == Some(RelationKind::ManyToMany));
        // Rows with the same columns go in the same statements.
        let mut groups: BTreeMap<Vec<String>, Vec<Vec<sea_query::Value>>> = BTreeMap::new();
        let mut audit_rows = Vec::with_capacity(valid.len());
        for (line, input, mut set) in valid {
            // An id in the file is kept, so exported objects that point at each
            // other import with their references intact.
            let id = match input.get("id").and_then(Value::as_str) {
                Some(given) => match uuid::Uuid::parse_str(given) {
                    Ok(u) => u.to_string(),
                    Err(_) => {
                        self.refuse(
                            line,
                            StoreError::bad("id", format!("`{given}` is not a UUID")),
                        )?;
                        continue;
                    }
                },
                None => uuid::Uuid::now_v7().to_string(),
            };
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
            for f in obj.fields.iter() {
                if let Some(Computed::AutoNumber { prefix, digits }) = &f.computed {
                    let field_id = store
                        .meta
                        .field_ids
                        .get(&(obj.name.clone(), f.name.clone()))
                        .ok_or_else(|| {
                            StoreError::Internal(format!("no id for field {}", f.name))
                        })?;
                    let n = next_number(&self.txn, store.layout(), field_id).await?;
                    set.set(
                        f.name.clone(),
                        sea_query::Value::String(Some(format_number(prefix, *digits, n))),
                    );
                }
            }
            // Links are written before their record; a refused line must not
            // leave any, so links go through a savepoint of their own.
            if has_links {
                let links = sea_orm::TransactionTrait::begin(&self.txn).await?;
                match store
                    .write_links(&links, self.counter, obj, &id, &input)
                    .await
                {
                    Ok(()) => links.commit().await?,
                    Err(e) => {
                        links.rollback().await?;
                        self.refuse(line, e)?;
                        continue;
                    }
                }
            }
            let columns: Vec<String> = set.values.iter().map(|(c, _)| c.clone()).collect();
            groups
                .entry(columns)
                .or_default()
                .push(set.values.into_iter().map(|(_, v)| v).collect());
            audit_rows.push((id, diff(obj, None, &input)));
        }
        for (columns, rows) in groups {
            let per_statement =
                (params_per_insert(store.db.backend) / columns.len().max(1)).clamp(1, MAX_BATCH);
            for chunk in rows.chunks(per_statement) {
                let mut sql = Sql::new(store.db.backend);
                sql.push("INSERT INTO ")
                    .push(&store.layout().table(&obj.name))
                    .push(" (");
                for (i, c) in columns.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.ident(c);
                }
                sql.push(") VALUES ");
                for (i, row) in chunk.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.push("(").params_list(row.iter().cloned()).push(")");
                }
                execute(&self.txn, self.counter, store.tagged(sql))
                    .await
                    .map_err(|e| unique_conflict(e, obj))?;
            }
        }
        crate::audit::record_creations(
            &self.txn,
            store.db.backend,
            &store.meta.workspace.id,
            &obj.name,
            &self.actor,
            now.as_str().unwrap_or_default(),
            &audit_rows,
            self.counter,
        )
        .await?;
        self.imported += audit_rows.len() as u64;
        Ok(())
    }

    /// Commits, unless a line was refused and `skip_invalid` is off (then
    /// nothing is written and the errors say why).
    pub async fn finish(mut self) -> Result<ImportReport, StoreError> {
        self.errors.sort_by_key(|e| e.line);
        let clean = self.refused == 0 || self.skip_invalid;
        if clean {
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
