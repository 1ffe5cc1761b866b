//! The right to be forgotten: a person's personal data removed everywhere
//! Rapport stores it, while the records (and so counts and amounts) stay.

use rapport_meta::{FieldType, ObjectDef};
use rapport_query::Filter;
use rapport_store::{Record, Tx};
use serde_json::{Map, Value, json};

use crate::error::CrmError;

/// Fields that can hold personal data: free text, contact details, names,
/// addresses, JSON, encrypted text. Numbers, dates, selects, booleans and relations stay.
fn personal(o: &ObjectDef) -> Vec<(String, Value)> {
    o.stored_fields()
        .filter(|f| !f.read_only && f.relation.is_none())
        .filter_map(|f| match f.field_type {
            FieldType::FullName => Some((f.name.clone(), json!({ "firstName": "[erased]" }))),
            t if t.is_textual()
                || matches!(
                    t,
                    FieldType::Address | FieldType::Json | FieldType::EncryptedText
                ) =>
            {
                Some((
                    f.name.clone(),
                    if f.required {
                        json!("[erased]")
                    } else {
                        Value::Null
                    },
                ))
            }
            _ => None,
        })
        .collect()
}

async fn erase(tx: &Tx<'_>, object: &str, id: &str) -> Result<(), CrmError> {
    let o = tx.object(object)?.clone();
    let data: Map<String, Value> = personal(&o).into_iter().collect();
    tx.update(object, id, data).await?;
    tx.scrub_history(object, id).await?;
    Ok(())
}

/// Erases a person and the leads that became them. Returns the person as now stored.
pub async fn erase_subject(tx: &Tx<'_>, person_id: &str) -> Result<Record, CrmError> {
    tx.get("person", person_id).await?;
    erase(tx, "person", person_id).await?;
    if tx.object("lead").is_ok() {
        for lead in tx
            .find_ids("lead", Filter::eq("convertedPersonId", person_id))
            .await?
        {
            erase(tx, "lead", &lead).await?;
        }
    }
    // The erasure itself is history too, without the values.
    tx.scrub_history("person", person_id).await?;
    Ok(tx.get("person", person_id).await?)
}
