//! INSERT, UPDATE and DELETE statements; each returns the full record.

use rapport_meta::ObjectDef;
use sea_query::Value;

use crate::columns::{Column, Scalar, record_columns};
use crate::sql::{Layout, Sql};
use crate::values::encode;

/// What a write does to a record: each is a distinct right of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteOp {
    Create,
    Update,
    /// Taking a record out of the trash; the `update` right governs it.
    Restore,
    /// Moving a record to the trash.
    Delete,
    /// Removing a record for good.
    Destroy,
}

impl WriteOp {
    /// The verb, as messages and role documents say it.
    pub fn verb(self) -> &'static str {
        match self {
            WriteOp::Create => "create",
            WriteOp::Update => "update",
            WriteOp::Restore => "restore",
            WriteOp::Delete => "delete",
            WriteOp::Destroy => "destroy",
        }
    }
}

impl std::fmt::Display for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.verb())
    }
}

/// Column values to write, already encoded.
#[derive(Debug, Default, Clone)]
pub struct WriteSet {
    pub values: Vec<(String, Value)>,
}

impl WriteSet {
    pub fn set(&mut self, column: impl Into<String>, value: Value) {
        let column = column.into();
        match self.values.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => self.values.push((column, value)),
        }
    }
}

fn returning(sql: &mut Sql, columns: &[Column]) {
    sql.push(" RETURNING ");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(&c.name);
    }
}

fn uuid(layout: &Layout, id: &str) -> Value {
    encode(
        layout.backend,
        Scalar::Uuid,
        &serde_json::Value::String(id.to_string()),
    )
    .unwrap_or(Value::String(Some(id.to_string())))
}

pub fn insert_sql(layout: &Layout, object: &ObjectDef, set: &WriteSet) -> (Sql, Vec<Column>) {
    let columns = record_columns(object);
    let mut sql = Sql::new(layout.backend);
    sql.push("INSERT INTO ")
        .push(&layout.table(&object.name))
        .push(" (");
    for (i, (c, _)) in set.values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(c);
    }
    sql.push(") VALUES (");
    sql.params_list(set.values.iter().map(|(_, v)| v.clone()));
    sql.push(")");
    returning(&mut sql, &columns);
    (sql, columns)
}

/// Updates one record, bumping `version`; with `expected_version` only if it matches.
pub fn update_sql(
    layout: &Layout,
    object: &ObjectDef,
    id: &str,
    set: &WriteSet,
    expected_version: Option<i64>,
) -> (Sql, Vec<Column>) {
    let columns = record_columns(object);
    let mut sql = Sql::new(layout.backend);
    sql.push("UPDATE ")
        .push(&layout.table(&object.name))
        .push(" SET ");
    for (c, v) in &set.values {
        sql.ident(c).push(" = ").param(v.clone()).push(", ");
    }
    sql.push("\"version\" = \"version\" + 1 WHERE \"id\" = ")
        .param(uuid(layout, id));
    if let Some(v) = expected_version {
        sql.push(" AND \"version\" = ")
            .param(Value::BigInt(Some(v)));
    }
    returning(&mut sql, &columns);
    (sql, columns)
}

/// Sets or clears `deletedAt` of live (or deleted) records.
pub fn soft_delete_sql(
    layout: &Layout,
    object: &ObjectDef,
    ids: &[String],
    deleted_at: Value,
    updated_at: Value,
    restoring: bool,
) -> (Sql, Vec<Column>) {
    let columns = record_columns(object);
    let mut sql = Sql::new(layout.backend);
    sql.push("UPDATE ")
        .push(&layout.table(&object.name))
        .push(" SET \"deletedAt\" = ");
    sql.param(deleted_at)
        .push(", \"updatedAt\" = ")
        .param(updated_at);
    sql.push(", \"version\" = \"version\" + 1 WHERE \"id\"");
    sql.in_list(ids.iter().map(|id| uuid(layout, id)).collect());
    sql.push(if restoring {
        " AND \"deletedAt\" IS NOT NULL"
    } else {
        " AND \"deletedAt\" IS NULL"
    });
    returning(&mut sql, &columns);
    (sql, columns)
}

pub fn delete_sql(layout: &Layout, object: &ObjectDef, ids: &[String]) -> Sql {
    let mut sql = Sql::new(layout.backend);
    sql.push("DELETE FROM ")
        .push(&layout.table(&object.name))
        .push(" WHERE \"id\"");
    sql.in_list(ids.iter().map(|id| uuid(layout, id)).collect());
    sql
}
