//! Auto-number counters: one per field, started (and existing records
//! numbered in creation order) when the field is created.

use std::collections::HashMap;

use rapport_meta::{Computed, FieldDef, ObjectDef};
use rapport_query::{Assign, Cond, Layout, Scalar, Select, Statement, Update, encode};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::db::{StatementCounter, execute, query, sys_execute, sys_query};
use crate::decode::value_at;
use crate::error::StoreError;

/// `CASE-000042`: the prefix and the number padded to `digits` (never cut).
fn format_number(prefix: &str, digits: u32, n: i64) -> String {
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
    let mut in_order = Select::new(layout.table(&object.name), &["id"]);
    in_order.order_by = vec!["createdAt".into(), "id".into()];
    let rows = query(
        txn,
        &counter,
        Statement::Select(in_order).print(layout.backend),
    )
    .await?;
    for (i, row) in rows.iter().enumerate() {
        let id = value_at(row, 0, Scalar::Uuid, layout.backend)?;
        let number = format_number(prefix, *digits, i as i64 + 1);
        let id = encode(layout.backend, Scalar::Uuid, &id).map_err(StoreError::Internal)?;
        let update = Statement::Update(Update {
            table: layout.table(&object.name),
            set: vec![(f.name.clone(), Assign::Value(number.into()))],
            filter: vec![Cond::Eq("id".into(), id)],
        });
        execute(txn, &counter, update.print(layout.backend)).await?;
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

/// An object's auto-number field and the counter it draws from.
pub(crate) struct Numbered<'a> {
    pub name: &'a str,
    prefix: &'a str,
    digits: u32,
    field_id: &'a str,
}

/// The auto-number fields of `object`, in field order.
pub(crate) fn numbered_fields<'a>(
    field_ids: &'a HashMap<(String, String), String>,
    object: &'a ObjectDef,
) -> Result<Vec<Numbered<'a>>, StoreError> {
    let mut out = Vec::new();
    for f in object.fields.iter() {
        if let Some(Computed::AutoNumber { prefix, digits }) = &f.computed {
            let field_id = field_ids
                .get(&(object.name.clone(), f.name.clone()))
                .ok_or_else(|| StoreError::Internal(format!("no id for field {}", f.name)))?;
            out.push(Numbered {
                name: &f.name,
                prefix,
                digits: *digits,
                field_id,
            });
        }
    }
    Ok(out)
}

impl Numbered<'_> {
    /// The field's next `count` numbers, formatted, taken in one statement
    /// (the counter's row stays locked until the transaction ends, so
    /// numbers are unique).
    pub(crate) async fn draw(
        &self,
        conn: &impl ConnectionTrait,
        layout: &Layout,
        count: usize,
    ) -> Result<Vec<String>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let rows = sys_query(
            conn,
            layout.backend,
            "UPDATE rapport_sequence SET next_value = next_value + $2 WHERE field_id = $1 RETURNING next_value - $2",
            vec![self.field_id.into(), (count as i64).into()],
        )
        .await?;
        let row = rows.first().ok_or_else(|| {
            StoreError::Internal(format!("no counter for field {}", self.field_id))
        })?;
        let first: i64 = row.try_get_by_index(0)?;
        Ok((first..first + count as i64)
            .map(|n| format_number(self.prefix, self.digits, n))
            .collect())
    }
}
