//! Duplicate detection by per-object criteria, and merging duplicates into
//! one record with every relation re-pointed.

use rapport_meta::ObjectDef;
use rapport_query::{Comparison, FieldTest, Filter};
use rapport_store::{ChangeKind, Record, RecordChange, Tx};
use serde_json::{Map, Value, json};

use crate::error::CrmError;
use crate::id_of;

pub struct DuplicateMatch {
    pub record: Record,
    /// The criterion that matched: `["email"]`, `["name", "company"]`.
    pub matched_on: Vec<String>,
}

/// `x-rapport-object.duplicateCriteria`: lists of fields that, all equal,
/// make two records the same. Without it, the title field.
fn criteria(obj: &ObjectDef) -> Vec<Vec<String>> {
    let declared: Vec<Vec<String>> = obj
        .extra
        .get("duplicateCriteria")
        .and_then(Value::as_array)
        .map(|sets| {
            sets.iter()
                .filter_map(|s| {
                    s.as_array().map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if declared.is_empty() {
        obj.title_field.iter().map(|t| vec![t.clone()]).collect()
    } else {
        declared
    }
}

/// The filter that matches `value` of field `name` (text compares
/// case-insensitively, a relation by its id, a full name by both parts).
fn condition(obj: &ObjectDef, name: &str, data: &Map<String, Value>) -> Option<Filter> {
    let f = obj.field(name)?;
    if f.relation.is_some() {
        let key = format!("{name}Id");
        let v = data.get(&key).filter(|v| !v.is_null())?;
        return Some(Filter::eq(key, v.clone()));
    }
    let v = data.get(name).filter(|v| !v.is_null())?;
    if f.field_type == rapport_meta::FieldType::FullName {
        let mut parts = Vec::new();
        for part in ["firstName", "lastName"] {
            let p = v
                .get(part)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())?;
            let same = Comparison::ILike(Value::String(rapport_query::escape_like(p)));
            parts.push((part.to_string(), vec![same]));
        }
        return Some(Filter::test(name, FieldTest::Parts(parts)));
    }
    match v.as_str() {
        // Equal but for case: the caller's `%` and `_` are text, not wildcards.
        Some(s) if f.field_type.is_textual() => Some(Filter::equals_ignoring_case(name, s)),
        _ => Some(Filter::eq(name, v.clone())),
    }
}

/// Live records that look like `data` by any criterion of the object.
pub async fn find_duplicates(
    tx: &Tx<'_>,
    object: &str,
    data: &Map<String, Value>,
    exclude: Option<&str>,
) -> Result<Vec<DuplicateMatch>, CrmError> {
    let obj = tx.object(object)?.clone();
    let mut out: Vec<DuplicateMatch> = Vec::new();
    for set in criteria(&obj) {
        let mut filter = Filter::everything();
        let complete = set.iter().all(|name| match condition(&obj, name, data) {
            Some(c) => {
                filter = std::mem::take(&mut filter).and(c);
                true
            }
            None => false,
        });
        if !complete {
            continue;
        }
        if let Some(id) = exclude {
            filter = filter.and(Filter::neq("id", id));
        }
        for r in tx.find(object, filter, 50).await? {
            match out.iter_mut().find(|m| m.record["id"] == r["id"]) {
                Some(m) => {
                    for s in &set {
                        if !m.matched_on.contains(s) {
                            m.matched_on.push(s.clone());
                        }
                    }
                }
                None => out.push(DuplicateMatch {
                    record: r,
                    matched_on: set.clone(),
                }),
            }
        }
    }
    Ok(out)
}

/// Merges `merge_ids` into `keep_id`: every relation pointing at them now
/// points at the kept record, its empty fields take their values (unique
/// ones excepted), and they are soft-deleted — restorable, nothing lost.
/// Returns the kept record and how many references moved.
pub async fn merge_records(
    tx: &Tx<'_>,
    object: &str,
    keep_id: &str,
    merge_ids: &[String],
) -> Result<(Record, u64), CrmError> {
    if merge_ids.is_empty() || merge_ids.len() > 100 {
        return Err(CrmError::bad("mergeIds", "between 1 and 100 records"));
    }
    if merge_ids.iter().any(|id| id == keep_id) {
        return Err(CrmError::bad(
            "mergeIds",
            "the kept record cannot be merged into itself",
        ));
    }
    let obj = tx.object(object)?.clone();
    let keep = tx.get(object, keep_id).await?;
    let merged = tx.get_many(object, merge_ids).await?;
    if let Some(missing) = merge_ids
        .iter()
        .find(|id| !merged.iter().any(|r| r["id"] == id.as_str()))
    {
        return Err(CrmError::Store(rapport_store::StoreError::NotFound(
            format!("no {object} with id {missing}"),
        )));
    }
    let moved = tx.repoint(object, merge_ids, keep_id).await?;
    let mut fill = Map::new();
    for f in obj
        .stored_fields()
        .filter(|f| !f.read_only && !f.unique && !f.generated)
    {
        let key = if f.relation.is_some() {
            rapport_query::id_column(f)
        } else {
            f.name.clone()
        };
        if f.relation_kind() == Some(rapport_meta::RelationKind::Polymorphic) {
            continue;
        }
        let empty = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
        let donor = merged
            .iter()
            .map(|r| r.get(&key))
            .find(|v| !empty(*v))
            .flatten();
        // A self-relation must not point the kept record at one it absorbed.
        if empty(keep.get(&key))
            && let Some(v) = donor
            && !(f.relation.is_some() && merge_ids.iter().any(|id| v == id))
        {
            fill.insert(key, v.clone());
        }
    }
    let kept = if fill.is_empty() {
        keep
    } else {
        tx.update(object, keep_id, fill).await?
    };
    tx.soft_delete(object, merge_ids).await?;
    // The kept record's timeline says what went into it; each merged one's
    // stays with it (deleted, still readable by those who read deleted records).
    tx.note(RecordChange::new(
        object,
        keep_id,
        ChangeKind::Merged,
        json!({ "merged": merge_ids, "referencesMoved": moved }),
    ))
    .await?;
    for id in merge_ids {
        let into = json!({ "into": keep_id });
        tx.note(RecordChange::new(object, id, ChangeKind::MergedInto, into))
            .await?;
    }
    let kept = tx.get(object, &id_of(&kept)).await?;
    Ok((kept, moved))
}
