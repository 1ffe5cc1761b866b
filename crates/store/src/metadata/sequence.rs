//! Auto-number counters: one per field, started (and existing records
//! numbered in creation order) when the field is created.

use rapport_meta::{Computed, FieldDef, ObjectDef};
use rapport_query::{Layout, Scalar, Sql, encode};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::db::{StatementCounter, execute, query, sys_execute, sys_query};
use crate::decode::value_at;
use crate::error::StoreError;

/// `CASE-000042`: the prefix and the number padded to `digits` (never cut).
pub fn format_number(prefix: &str, digits: u32, n: i64) -> String {
    format!("{prefix}{n:0width$}", width = digits as usize)
}

/// Numbers the records an object already has and starts the field's counter after them.
pub(crate) async fn start_sequence(
    txn: &DatabaseTransaction,
    layout: &Layout,
    object: &ObjectDef,
    f: &FieldDef,
    field_id: &str,
) -> Result<(), StoreError> {
    let Some(Computed::AutoNumber { prefix, digits }) = &f.computed else {
        return Ok(());
    };
    let counter = StatementCounter::default();
    let mut select = Sql::new(layout.backend);
    select
        .push("SELECT \"id\" FROM ")
        .push(&layout.table(&object.name))
        .push(" ORDER BY \"createdAt\", \"id\"");
    let rows = query(txn, &counter, select).await?;
    for (i, row) in rows.iter().enumerate() {
        let id = value_at(row, 0, Scalar::Uuid, layout.backend)?;
        let mut update = Sql::new(layout.backend);
        update
            .push("UPDATE ")
            .push(&layout.table(&object.name))
            .push(" SET ")
            .ident(&f.name)
            .push(" = ");
        update.param(sea_query::Value::String(Some(format_number(
            prefix,
            *digits,
            i as i64 + 1,
        ))));
        update
            .push(" WHERE \"id\" = ")
            .param(encode(layout.backend, Scalar::Uuid, &id).map_err(StoreError::Internal)?);
        execute(txn, &counter, update).await?;
    }
    sys_execute(
        txn,
        layout.backend,
        "INSERT INTO rapport_sequence (field_id, next_value) VALUES ($1, $2)",
        vec![field_id.into(), (rows.len() as i64 + 1).into()],
    )
    .await?;
    Ok(())
}

/// Takes the next number of a field's counter (the row stays locked until
/// the record's transaction ends, so numbers are unique).
pub(crate) async fn next_number(
    conn: &impl ConnectionTrait,
    layout: &Layout,
    field_id: &str,
) -> Result<i64, StoreError> {
    let rows = sys_query(
        conn,
        layout.backend,
        "UPDATE rapport_sequence SET next_value = next_value + 1 WHERE field_id = $1 RETURNING next_value - 1",
        vec![field_id.into()],
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Internal(format!("no counter for field {field_id}")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}
