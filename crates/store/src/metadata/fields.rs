//! Field and object visibility, renames and purges.

use rapport_meta::{Catalog, FieldDef, ObjectDef, RelationKind, export_document, parse_document};
use rapport_query::{field_columns, junction_of};
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value, json};

use crate::db::sys_execute;
use crate::ddl;
use crate::error::StoreError;
use crate::metadata::apply::without_generated;
use crate::metadata::{FieldChange, MigrationStep, WorkspaceMeta, header_of, now, run_ddl, step};

pub(crate) async fn field_change(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: String,
    field: String,
    change: FieldChange,
) -> Result<Vec<MigrationStep>, StoreError> {
    let object_id = meta
        .object_ids
        .get(&object)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("no object named `{object}`")))?;
    let at = FieldAt {
        txn,
        meta,
        obj: meta.object(&object)?,
        object_id,
        field,
    };
    match change {
        FieldChange::Restore => restore_field(at).await,
        FieldChange::Delete => delete_field(at).await,
        FieldChange::Rename { new_name } => rename_field(at, new_name).await,
    }
}

/// The field a change is about, and where it is made.
struct FieldAt<'a> {
    txn: &'a DatabaseTransaction,
    meta: &'a WorkspaceMeta,
    obj: &'a ObjectDef,
    object_id: String,
    field: String,
}

impl FieldAt<'_> {
    /// The field as it stands, if an admin may change it.
    fn changeable(&self, verb: &str) -> Result<&FieldDef, StoreError> {
        let (object, field) = (&self.obj.name, &self.field);
        let f = self
            .obj
            .field(field)
            .filter(|f| !f.generated)
            .ok_or_else(|| StoreError::NotFound(format!("no field `{object}.{field}`")))?;
        if f.is_system {
            return Err(StoreError::Forbidden(format!(
                "`{object}.{field}` is a standard field and cannot be {verb}"
            )));
        }
        Ok(f)
    }
}

async fn restore_field(at: FieldAt<'_>) -> Result<Vec<MigrationStep>, StoreError> {
    let (object, field) = (&at.obj.name, &at.field);
    let deleted = at
        .meta
        .deleted_fields
        .get(object)
        .and_then(|d| d.iter().find(|f| f.name == *field))
        .ok_or_else(|| StoreError::NotFound(format!("no deleted field `{object}.{field}`")))?;
    if at.obj.field(field).is_some() {
        return Err(StoreError::Conflict(format!("`{object}.{field}` exists")));
    }
    let mut doc = export_document(&without_generated(at.obj));
    doc["properties"][field] = deleted.property.clone();
    Catalog::build(replace(at.meta, parse_document(&doc)?))?;
    sys_execute(
        at.txn,
        at.meta.layout.backend,
        "UPDATE rapport_field SET deleted_at = NULL, updated_at = $1 WHERE object_id = $2 AND name = $3",
        vec![now().into(), at.object_id.clone().into(), field.clone().into()],
    )
    .await?;
    Ok(vec![step(
        "restoreField",
        object,
        Some(field),
        "visible again",
    )])
}

async fn delete_field(at: FieldAt<'_>) -> Result<Vec<MigrationStep>, StoreError> {
    at.changeable("deleted")?;
    let (object, field) = (&at.obj.name, &at.field);
    let mut reduced = without_generated(at.obj);
    reduced.fields.retain(|x| x.name != *field);
    if reduced.title_field.as_deref() == Some(field) || reduced.search_fields.contains(field) {
        return Err(StoreError::bad(
            field,
            "the field is the object's title or search field; change those first",
        ));
    }
    Catalog::build(replace(at.meta, reduced))
        .map_err(|e| StoreError::Conflict(format!("cannot delete `{object}.{field}`: {e}")))?;
    sys_execute(
        at.txn,
        at.meta.layout.backend,
        "UPDATE rapport_field SET deleted_at = $1 WHERE object_id = $2 AND name = $3",
        vec![
            now().into(),
            at.object_id.clone().into(),
            field.clone().into(),
        ],
    )
    .await?;
    Ok(vec![step(
        "deleteField",
        object,
        Some(field),
        "hidden, data kept",
    )])
}

async fn rename_field(at: FieldAt<'_>, new_name: String) -> Result<Vec<MigrationStep>, StoreError> {
    let f = at.changeable("renamed")?;
    let (meta, object, field) = (at.meta, &at.obj.name, &at.field);
    rapport_meta::check_name("newName", &new_name)?;
    let taken_by_deleted = meta
        .deleted_fields
        .get(object)
        .is_some_and(|d| d.iter().any(|d| d.name == new_name));
    if at.obj.field(&new_name).is_some() || taken_by_deleted {
        return Err(StoreError::Conflict(format!(
            "`{object}.{new_name}` already exists"
        )));
    }
    let doc = renamed_document(at.obj, field, &new_name);
    let new_obj = parse_document(&doc)?;
    Catalog::build(replace(meta, new_obj.clone()))
        .map_err(|e| StoreError::Conflict(format!("cannot rename `{object}.{field}`: {e}")))?;
    let new_field = new_obj.field(&new_name).expect("renamed field");
    let mut stmts = ddl::drop_field_indexes(&meta.layout, at.obj, f);
    for (a, b) in field_columns(f).iter().zip(field_columns(new_field)) {
        stmts.push(ddl::rename_column(&meta.layout, object, &a.name, &b.name));
    }
    stmts.extend(ddl::field_indexes(&meta.layout, &new_obj, new_field));
    let backend = meta.layout.backend;
    run_ddl(at.txn, backend, stmts).await?;
    sys_execute(
        at.txn,
        backend,
        "UPDATE rapport_field SET name = $1, updated_at = $2 WHERE object_id = $3 AND name = $4",
        vec![
            new_name.clone().into(),
            now().into(),
            at.object_id.clone().into(),
            field.clone().into(),
        ],
    )
    .await?;
    sys_execute(
        at.txn,
        backend,
        "UPDATE rapport_object SET header = $1, updated_at = $2 WHERE id = $3",
        vec![
            header_of(&doc).to_string().into(),
            now().into(),
            at.object_id.clone().into(),
        ],
    )
    .await?;
    Ok(vec![step(
        "renameField",
        object,
        Some(field),
        format!("now `{new_name}`, data kept"),
    )])
}

/// `obj`'s document with `field` called `new_name` wherever it is named:
/// its property, `required`, the title and search fields.
fn renamed_document(obj: &ObjectDef, field: &str, new_name: &str) -> Value {
    let mut doc = export_document(&without_generated(obj));
    let props = doc["properties"].as_object_mut().expect("properties");
    *props = props
        .iter()
        .map(|(k, v)| {
            let name = if k == field { new_name } else { k.as_str() };
            (name.to_string(), v.clone())
        })
        .collect::<Map<String, Value>>();
    let rename = |v: &mut Value| {
        if v.as_str() == Some(field) {
            *v = json!(new_name);
        }
    };
    if let Some(required) = doc.get_mut("required").and_then(Value::as_array_mut) {
        required.iter_mut().for_each(rename);
    }
    let head = &mut doc["x-rapport-object"];
    if let Some(title) = head.get_mut("titleField") {
        rename(title);
    }
    if let Some(list) = head.get_mut("searchFields").and_then(Value::as_array_mut) {
        list.iter_mut().for_each(rename);
    }
    doc
}

/// The workspace's objects with one replaced (generated sides dropped for a rebuild).
fn replace(meta: &WorkspaceMeta, object: ObjectDef) -> Vec<ObjectDef> {
    let mut all: Vec<ObjectDef> = meta
        .catalog
        .objects()
        .iter()
        .filter(|o| o.name != object.name)
        .map(without_generated)
        .collect();
    all.push(object);
    all
}

pub(crate) async fn object_visibility(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: String,
    deleted: bool,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let object_id = meta
        .object_ids
        .get(&object)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("no object named `{object}`")))?;
    if deleted {
        let obj = meta.object(&object)?;
        if obj.is_system {
            return Err(StoreError::Forbidden(format!(
                "`{object}` is a standard object and cannot be deleted"
            )));
        }
        let others: Vec<ObjectDef> = meta
            .catalog
            .objects()
            .iter()
            .filter(|o| o.name != object)
            .map(without_generated)
            .collect();
        Catalog::build(others).map_err(|_| {
            let users: Vec<String> = meta
                .catalog
                .relations_to(&object)
                .filter(|(o, _)| o.name != object)
                .map(|(o, f)| format!("{}.{}", o.name, f.name))
                .collect();
            StoreError::Conflict(format!(
                "`{object}` is the target of {}; delete those fields first",
                users.join(", ")
            ))
        })?;
        sys_execute(
            txn,
            backend,
            "UPDATE rapport_object SET deleted_at = $1 WHERE id = $2",
            vec![now().into(), object_id.into()],
        )
        .await?;
        Ok(vec![step(
            "deleteObject",
            &object,
            None,
            "hidden, data kept",
        )])
    } else {
        let obj = meta
            .deleted_objects
            .iter()
            .find(|o| o.name == object)
            .ok_or_else(|| StoreError::NotFound(format!("no deleted object `{object}`")))?;
        let mut all: Vec<ObjectDef> = meta
            .catalog
            .objects()
            .iter()
            .map(without_generated)
            .collect();
        all.push(obj.clone());
        Catalog::build(all)?;
        sys_execute(
            txn,
            backend,
            "UPDATE rapport_object SET deleted_at = NULL WHERE id = $1",
            vec![object_id.into()],
        )
        .await?;
        Ok(vec![step("restoreObject", &object, None, "visible again")])
    }
}

pub(crate) async fn purge(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: String,
    field: Option<String>,
) -> Result<Vec<MigrationStep>, StoreError> {
    let object_id = meta
        .object_ids
        .get(&object)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("no object named `{object}`")))?;
    match field {
        Some(field) => purge_field(txn, meta, (&object, &object_id), &field).await,
        None => purge_object(txn, meta, &object, &object_id).await,
    }
}

/// Drops a deleted field's columns (and junction), its sequence and its row.
async fn purge_field(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    (object, object_id): (&str, &str),
    field: &str,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let f = meta
        .deleted_fields
        .get(object)
        .and_then(|d| d.iter().find(|f| f.name == field))
        .ok_or_else(|| {
            StoreError::NotFound(format!("no deleted field `{object}.{field}` to purge"))
        })?;
    let host = meta
        .catalog
        .object(object)
        .or_else(|| meta.deleted_objects.iter().find(|o| o.name == object))
        .ok_or_else(|| StoreError::NotFound(object.to_string()))?;
    let mut stmts = ddl::drop_field_indexes(&meta.layout, host, f);
    for c in field_columns(f) {
        stmts.push(ddl::drop_column(&meta.layout, object, &c.name));
    }
    if f.relation_kind() == Some(RelationKind::ManyToMany) {
        stmts.push(ddl::drop_table(&meta.layout, &junction_of(object, f)));
    }
    run_ddl(txn, backend, stmts).await?;
    let (object_id, field_name) = (object_id.to_string(), field.to_string());
    sys_execute(
        txn,
        backend,
        "DELETE FROM rapport_sequence WHERE field_id IN (SELECT id FROM rapport_field WHERE object_id = $1 AND name = $2)",
        vec![object_id.clone().into(), field_name.clone().into()],
    )
    .await?;
    sys_execute(
        txn,
        backend,
        "DELETE FROM rapport_field WHERE object_id = $1 AND name = $2",
        vec![object_id.into(), field_name.into()],
    )
    .await?;
    Ok(vec![step(
        "purgeField",
        object,
        Some(field),
        "columns dropped",
    )])
}

/// Drops a deleted object's table and junctions, and its metadata rows.
async fn purge_object(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: &str,
    object_id: &str,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let obj = meta
        .deleted_objects
        .iter()
        .find(|o| o.name == object)
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "`{object}` is not deleted; delete it before purging"
            ))
        })?;
    let mut stmts = vec![ddl::drop_table(&meta.layout, object)];
    for f in obj
        .fields
        .iter()
        .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
    {
        stmts.push(ddl::drop_table(&meta.layout, &junction_of(object, f)));
    }
    run_ddl(txn, backend, stmts).await?;
    for statement in [
        "DELETE FROM rapport_sequence WHERE field_id IN (SELECT id FROM rapport_field WHERE object_id = $1)",
        "DELETE FROM rapport_field WHERE object_id = $1",
        "DELETE FROM rapport_object WHERE id = $1",
    ] {
        sys_execute(txn, backend, statement, vec![object_id.to_string().into()]).await?;
    }
    Ok(vec![step("purgeObject", object, None, "table dropped")])
}
