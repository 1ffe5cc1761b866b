//! Upgrading standard objects when a new binary ships new documents: a
//! three-way merge of the last shipped document (base), the workspace's
//! document (ours, with the admin's changes) and the new one (theirs).
//! New objects, fields and options arrive; an admin's own fields, labels and
//! option changes stay; nothing is ever removed.

use std::collections::HashMap;

use rapport_meta::export_document;
use rapport_query::Backend;
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};

use crate::db::{Db, sys_execute, sys_query};
use crate::error::StoreError;
use crate::metadata::apply::{apply_documents, without_generated};
use crate::metadata::{Mode, Workspace, load_in};

fn object_name(doc: &Value) -> String {
    doc["x-rapport-object"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Remembers the documents the workspace's standard objects now follow.
pub(crate) async fn record_shipped(
    txn: &DatabaseTransaction,
    backend: Backend,
    workspace_id: &str,
    docs: &[Value],
) -> Result<(), StoreError> {
    for d in docs {
        sys_execute(
            txn,
            backend,
            "UPDATE rapport_object SET shipped = $1 WHERE workspace_id = $2 AND name = $3",
            vec![
                d.to_string().into(),
                workspace_id.into(),
                object_name(d).into(),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn upgrade_standard(
    db: &Db,
    ws: &Workspace,
    standard: &[Value],
) -> Result<(), StoreError> {
    let txn = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        sys_query(
            &txn,
            db.backend,
            "SELECT id FROM rapport_workspace WHERE id = $1 FOR UPDATE",
            vec![ws.id.clone().into()],
        )
        .await?;
    }
    let meta = load_in(&txn, db.backend, ws).await?;
    let rows = sys_query(
        &txn,
        db.backend,
        "SELECT name, shipped FROM rapport_object WHERE workspace_id = $1",
        vec![ws.id.clone().into()],
    )
    .await?;
    let mut shipped: HashMap<String, Option<Value>> = HashMap::new();
    for r in &rows {
        let name: String = r.try_get_by_index(0)?;
        let text: Option<String> = r.try_get_by_index(1)?;
        shipped.insert(name, text.and_then(|t| serde_json::from_str(&t).ok()));
    }
    let mut changes = Vec::new();
    for theirs in standard {
        let name = object_name(theirs);
        match meta.catalog.object(&name) {
            // Hidden or purged by choice: a standard object cannot be, but stay safe.
            None if shipped.contains_key(&name) => {}
            None => changes.push(theirs.clone()),
            Some(current) => {
                let base = shipped.get(&name).cloned().flatten();
                if base.as_ref() == Some(theirs) {
                    continue;
                }
                let ours = export_document(&without_generated(current));
                let merged = merge(
                    base.as_ref().unwrap_or(&ours),
                    &ours,
                    theirs,
                    meta.deleted_fields
                        .get(&name)
                        .map(|d| d.iter().map(|f| f.name.clone()).collect())
                        .unwrap_or_default(),
                );
                if merged != ours {
                    changes.push(merged);
                }
            }
        }
    }
    let steps = if changes.is_empty() {
        Vec::new()
    } else {
        apply_documents(&txn, &meta, changes, Mode::Upsert).await?
    };
    record_shipped(&txn, db.backend, &ws.id, standard).await?;
    if !steps.is_empty() {
        sys_execute(
            &txn,
            db.backend,
            "UPDATE rapport_workspace SET metadata_version = metadata_version + 1 WHERE id = $1",
            vec![ws.id.clone().into()],
        )
        .await?;
        tracing::info!(steps = steps.len(), "standard objects upgraded");
    }
    txn.commit().await?;
    Ok(())
}

/// `ours` with what changed from `base` to `theirs`, where the admin left it as it was.
fn merge(base: &Value, ours: &Value, theirs: &Value, deleted: Vec<String>) -> Value {
    let mut merged = ours.clone();
    for key in ["title", "description"] {
        take_if_untouched(&mut merged, base, theirs, &[key]);
    }
    for key in ["label", "labelPlural", "module"] {
        take_if_untouched(&mut merged, base, theirs, &["x-rapport-object", key]);
    }
    let empty = Map::new();
    let base_props = base["properties"].as_object().unwrap_or(&empty);
    let their_props = theirs["properties"].as_object().unwrap_or(&empty);
    let their_required: Vec<&str> = theirs["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, tprop) in their_props {
        let ours_prop = merged["properties"].get(name).cloned();
        match (base_props.get(name), ours_prop) {
            (None, None) if !deleted.contains(name) => {
                merged["properties"][name] = tprop.clone();
                if their_required.contains(&name.as_str()) {
                    if merged.get("required").is_none() {
                        merged["required"] = Value::Array(Vec::new());
                    }
                    if let Some(r) = merged["required"].as_array_mut() {
                        r.push(Value::String(name.clone()));
                    }
                }
            }
            (Some(bprop), Some(oprop)) if bprop != tprop => {
                merged["properties"][name] = if oprop == *bprop {
                    tprop.clone()
                } else {
                    merge_property(bprop, &oprop, tprop)
                };
            }
            _ => {}
        }
    }
    merged
}

/// An admin-changed property: keep their changes, add the new options and
/// take a new label only where theirs is the old default.
fn merge_property(base: &Value, ours: &Value, theirs: &Value) -> Value {
    let mut out = ours.clone();
    take_if_untouched(&mut out, base, theirs, &["title"]);
    let values = |v: &Value| -> Vec<String> {
        v["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (base_values, our_values) = (values(base), values(ours));
    for v in values(theirs) {
        if base_values.contains(&v) || our_values.contains(&v) {
            continue;
        }
        if let Some(e) = out["enum"].as_array_mut() {
            e.push(Value::String(v.clone()));
        }
        let option = theirs["x-rapport-field"]["options"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["value"] == v.as_str()))
            .cloned();
        if let (Some(option), Some(list)) =
            (option, out["x-rapport-field"]["options"].as_array_mut())
        {
            list.push(option);
        }
    }
    out
}

fn take_if_untouched(out: &mut Value, base: &Value, theirs: &Value, path: &[&str]) {
    let get = |v: &Value| path.iter().try_fold(v, |v, k| v.get(*k)).cloned();
    let (b, o, t) = (get(base), get(out), get(theirs));
    if o == b && t != b {
        let mut slot = out;
        for k in &path[..path.len() - 1] {
            slot = &mut slot[*k];
        }
        match t {
            Some(t) => slot[path[path.len() - 1]] = t,
            None => {
                if let Some(m) = slot.as_object_mut() {
                    m.remove(path[path.len() - 1]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_three_ways() {
        let base = json!({ "title": "Co", "x-rapport-object": { "label": "Co" }, "properties": {
            "a": { "title": "A", "type": "string", "enum": ["X"], "x-rapport-field": { "options": [{ "value": "X", "label": "X" }] } },
            "b": { "title": "B", "type": "string" } } });
        let mut ours = base.clone();
        ours["x-rapport-object"]["label"] = json!("Account");
        ours["properties"]["a"]["title"] = json!("Mine");
        ours["properties"]["a"]["enum"] = json!(["X", "MINE"]);
        ours["properties"]["a"]["x-rapport-field"]["options"] =
            json!([{ "value": "X", "label": "X" }, { "value": "MINE", "label": "Mine" }]);
        ours["properties"]["custom"] = json!({ "type": "integer" });
        let mut theirs = base.clone();
        theirs["title"] = json!("Company");
        theirs["x-rapport-object"]["label"] = json!("Company");
        theirs["properties"]["a"]["title"] = json!("Alpha");
        theirs["properties"]["a"]["enum"] = json!(["X", "NEW"]);
        theirs["properties"]["a"]["x-rapport-field"]["options"] =
            json!([{ "value": "X", "label": "X" }, { "value": "NEW", "label": "New" }]);
        theirs["properties"]["b"]["title"] = json!("Bee");
        theirs["properties"]["c"] = json!({ "type": "boolean" });
        let m = merge(&base, &ours, &theirs, Vec::new());
        assert_eq!(m["title"], "Company", "untouched: upgraded");
        assert_eq!(
            m["x-rapport-object"]["label"], "Account",
            "the admin's label stays"
        );
        assert_eq!(m["properties"]["a"]["title"], "Mine");
        assert_eq!(m["properties"]["a"]["enum"], json!(["X", "MINE", "NEW"]));
        assert_eq!(m["properties"]["b"]["title"], "Bee");
        assert_eq!(
            m["properties"]["c"],
            json!({ "type": "boolean" }),
            "new field added"
        );
        assert_eq!(
            m["properties"]["custom"],
            json!({ "type": "integer" }),
            "custom field kept"
        );
    }
}
