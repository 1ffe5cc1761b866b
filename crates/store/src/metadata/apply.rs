//! Declarative changes: documents diffed against the workspace and carried out.

use rapport_meta::{Catalog, FieldDef, ObjectDef, export_document, parse_document};
use rapport_query::field_columns;
use sea_orm::DatabaseTransaction;
use serde_json::Value;

use crate::db::sys_execute;
use crate::ddl;
use crate::error::StoreError;
use crate::metadata::{
    MigrationStep, Mode, WorkspaceMeta, header_of, insert_field, now, run_ddl, start_sequence, step,
};

/// The heart of create/update/apply: diff documents against the workspace and
/// carry out the difference.
pub(crate) async fn apply_documents(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    docs: Vec<Value>,
    mode: Mode,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let mut parsed = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let o = parse_document(doc).map_err(|e| match e {
            rapport_meta::MetaError::Invalid { path, reason } if docs.len() > 1 => {
                StoreError::bad(format!("documents[{i}]{path}"), reason)
            }
            other => other.into(),
        })?;
        parsed.push((keep_standard_flags(meta, o), doc.clone()));
    }
    // The whole workspace as it will be, checked together (relations, inverses, names).
    let mut desired: Vec<ObjectDef> = meta
        .catalog
        .objects()
        .iter()
        .filter(|o| !parsed.iter().any(|(p, _)| p.name == o.name))
        .map(without_generated)
        .collect();
    desired.extend(parsed.iter().map(|(o, _)| o.clone()));
    let new_catalog = Catalog::build(desired)?;

    let mut steps = Vec::new();
    for (object, doc) in &parsed {
        let existing = meta.catalog.object(&object.name);
        if meta.deleted_objects.iter().any(|d| d.name == object.name) {
            return Err(StoreError::Conflict(format!(
                "a deleted object named `{}` exists: restore or purge it",
                object.name
            )));
        }
        match (existing, mode) {
            (Some(_), Mode::CreateOnly) => {
                return Err(StoreError::Conflict(format!(
                    "object `{}` already exists",
                    object.name
                )));
            }
            (None, Mode::UpdateOnly) => {
                return Err(StoreError::NotFound(format!(
                    "no object named `{}`",
                    object.name
                )));
            }
            (None, _) => {
                if object.is_system && mode != Mode::CreateOnly {
                    // Fine: applySchema may install a standard object document.
                }
                let full = new_catalog.object(&object.name).expect("built above");
                let wanted = rapport_query::record_columns(full).len();
                let limit = max_columns(backend);
                if wanted > limit {
                    return Err(StoreError::bad(
                        "/properties",
                        format!(
                            "`{}` would have {wanted} columns; the database allows {limit} per table",
                            object.name
                        ),
                    ));
                }
                let object_id = uuid::Uuid::new_v4().to_string();
                sys_execute(
                    txn,
                    backend,
                    "INSERT INTO rapport_object (id, workspace_id, name, header, is_system, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    vec![object_id.clone().into(), meta.workspace.id.clone().into(), object.name.clone().into(), header_of(doc).to_string().into(), object.is_system.into(), now().into()],
                )
                .await?;
                let mut field_ids = Vec::new();
                for (pos, f) in object.fields.iter().enumerate() {
                    field_ids.push(insert_field(txn, backend, &object_id, f, pos).await?);
                }
                run_ddl(txn, backend, ddl::create_object(&meta.layout, full)).await?;
                for (f, id) in object.fields.iter().zip(&field_ids) {
                    start_sequence(txn, &meta.layout, object, f, id).await?;
                }
                steps.push(step(
                    "createObject",
                    &object.name,
                    None,
                    format!("table with {} fields", object.fields.len()),
                ));
            }
            (Some(old), _) => {
                steps.extend(update_object(txn, meta, old, object, doc).await?);
            }
        }
    }
    Ok(steps)
}

/// Most columns a table may have: PostgreSQL's 1,600, SQLite's default 2,000.
fn max_columns(backend: rapport_query::Backend) -> usize {
    match backend {
        rapport_query::Backend::Postgres => 1600,
        rapport_query::Backend::Sqlite => 2000,
    }
}

/// Refuses a change whose new columns would not fit in the object's table,
/// saying how many are left. A field added takes its columns; a field whose
/// storage changes takes them again (its values are copied into new ones).
/// PostgreSQL counts dropped columns against its limit too, so the table's
/// columns are counted as the database has them.
async fn check_column_room(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    old: &ObjectDef,
    old_fields: &[&FieldDef],
    new: &ObjectDef,
) -> Result<(), StoreError> {
    let adding: usize = new
        .fields
        .iter()
        .filter(|f| f.is_stored())
        .filter(|f| {
            old_fields
                .iter()
                .find(|o| o.name == f.name)
                .is_none_or(|o| field_columns(o) != field_columns(f))
        })
        .map(|f| field_columns(f).len())
        .sum();
    if adding == 0 {
        return Ok(());
    }
    let layout = &meta.layout;
    let backend = layout.backend;
    let (text, table) = match backend {
        rapport_query::Backend::Postgres => (
            "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0",
            layout.table(&old.name),
        ),
        rapport_query::Backend::Sqlite => (
            "SELECT count(*) FROM pragma_table_info($1)",
            layout.bare_table(&old.name),
        ),
    };
    let rows = crate::db::sys_query(txn, backend, text, vec![table.into()]).await?;
    let used = rows
        .first()
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0) as usize;
    let limit = max_columns(backend);
    if used + adding > limit {
        return Err(StoreError::bad(
            "/properties",
            format!(
                "`{}` has {used} of the {limit} columns the database allows per table ({} left); this change needs {adding}",
                old.name,
                limit.saturating_sub(used)
            ),
        ));
    }
    Ok(())
}

pub(crate) fn without_generated(o: &ObjectDef) -> ObjectDef {
    let mut o = o.clone();
    o.fields.retain(|f| !f.generated);
    o
}

async fn update_object(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    old: &ObjectDef,
    new: &ObjectDef,
    doc: &Value,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let object_id = meta
        .object_ids
        .get(&old.name)
        .cloned()
        .ok_or_else(|| StoreError::Internal("object id missing".into()))?;
    let mut steps = Vec::new();
    let old_doc = export_document(old);
    if header_of(&old_doc) != header_of(&export_document(new)) {
        if old.is_system && !new.is_system {
            return Err(StoreError::bad(
                "/x-rapport-object/isSystem",
                "a standard object stays a standard object",
            ));
        }
        sys_execute(
            txn,
            backend,
            "UPDATE rapport_object SET header = $1, updated_at = $2 WHERE id = $3",
            vec![
                header_of(doc).to_string().into(),
                now().into(),
                object_id.clone().into(),
            ],
        )
        .await?;
        steps.push(step("updateObject", &old.name, None, "labels and options"));
    }
    let old_fields: Vec<&FieldDef> = old.fields.iter().filter(|f| !f.generated).collect();
    check_column_room(txn, meta, old, &old_fields, new).await?;
    for (pos, f) in new.fields.iter().enumerate() {
        match old_fields.iter().find(|o| o.name == f.name) {
            None => {
                if meta
                    .deleted_fields
                    .get(&old.name)
                    .is_some_and(|d| d.iter().any(|d| d.name == f.name))
                {
                    return Err(StoreError::Conflict(format!(
                        "a deleted field `{}.{}` exists: restore or purge it",
                        old.name, f.name
                    )));
                }
                let field_id = insert_field(txn, backend, &object_id, f, 1000 + pos).await?;
                run_ddl(txn, backend, ddl::add_field(&meta.layout, new, f)).await?;
                start_sequence(txn, &meta.layout, new, f, &field_id).await?;
                steps.push(step(
                    "addField",
                    &old.name,
                    Some(&f.name),
                    f.field_type.as_str(),
                ));
            }
            Some(o) if *o != f => {
                steps.extend(change_field(txn, meta, old, o, f).await?);
                sys_execute(
                    txn,
                    backend,
                    "UPDATE rapport_field SET property = $1, is_required = $2, updated_at = $3 WHERE object_id = $4 AND name = $5",
                    vec![f.property.to_string().into(), f.required.into(), now().into(), object_id.clone().into(), f.name.clone().into()],
                )
                .await?;
            }
            Some(_) => {}
        }
    }
    for o in old_fields.iter().filter(|o| new.field(&o.name).is_none()) {
        if o.is_system {
            return Err(StoreError::bad(
                format!("/properties/{}", o.name),
                "a standard field cannot be removed",
            ));
        }
        sys_execute(
            txn,
            backend,
            "UPDATE rapport_field SET deleted_at = $1 WHERE object_id = $2 AND name = $3",
            vec![
                now().into(),
                object_id.clone().into(),
                o.name.clone().into(),
            ],
        )
        .await?;
        steps.push(step(
            "deleteField",
            &old.name,
            Some(&o.name),
            "hidden, data kept",
        ));
    }
    Ok(steps)
}

/// A field's definition changed: indexes follow its flags, and a change of
/// storage converts every stored value or refuses.
async fn change_field(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: &ObjectDef,
    old: &FieldDef,
    new: &FieldDef,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let path = format!("/properties/{}", new.name);
    let mut steps = Vec::new();
    if old.is_system && old.field_type != new.field_type {
        return Err(StoreError::bad(
            &path,
            "the type of a standard field cannot change",
        ));
    }
    if old.relation != new.relation {
        let same_shape = old
            .relation
            .as_ref()
            .zip(new.relation.as_ref())
            .is_some_and(|(a, b)| {
                a.kind == b.kind && a.target == b.target && a.targets == b.targets
            });
        if !same_shape {
            return Err(StoreError::bad(
                &path,
                "a relation's kind and target cannot change; add a new field",
            ));
        }
    }
    let old_cols = field_columns(old);
    let new_cols = field_columns(new);
    let options_removed = old
        .options
        .iter()
        .any(|o| !new.options.iter().any(|n| n.value == o.value));
    let storage_changed =
        old_cols != new_cols || old.field_type != new.field_type || options_removed;
    if old.field_type != new.field_type
        && (old.field_type.composite().is_some()
            || new.field_type.composite().is_some()
            || old.relation.is_some()
            || old.computed.is_some()
            || new.computed.is_some())
    {
        return Err(StoreError::bad(
            &path,
            format!(
                "cannot convert {} to {}",
                old.field_type.as_str(),
                new.field_type.as_str()
            ),
        ));
    }
    let index_changed = old.unique != new.unique || old.indexed != new.indexed;
    if storage_changed || index_changed {
        run_ddl(
            txn,
            backend,
            ddl::drop_field_indexes(&meta.layout, object, old),
        )
        .await?;
    }
    if storage_changed {
        crate::convert::convert_column(txn, meta, object, old, new).await?;
        steps.push(step(
            "changeFieldType",
            &object.name,
            Some(&new.name),
            format!("{} -> {}", old.field_type.as_str(), new.field_type.as_str()),
        ));
    }
    if storage_changed || index_changed {
        run_ddl(txn, backend, ddl::field_indexes(&meta.layout, object, new)).await?;
        if index_changed {
            steps.push(step(
                "changeIndex",
                &object.name,
                Some(&new.name),
                format!("unique: {}, indexed: {}", new.unique, new.indexed),
            ));
        }
    }
    if steps.is_empty() {
        steps.push(step(
            "updateField",
            &object.name,
            Some(&new.name),
            "definition",
        ));
    }
    Ok(steps)
}

/// A standard field stays standard whatever a new document says of it, so an
/// edited label or option list cannot make it deletable.
fn keep_standard_flags(meta: &WorkspaceMeta, mut object: ObjectDef) -> ObjectDef {
    let Some(existing) = meta.catalog.object(&object.name) else {
        return object;
    };
    for f in object.fields.iter_mut() {
        if existing.field(&f.name).is_some_and(|old| old.is_system) && !f.is_system {
            f.is_system = true;
            if let Some(p) = f.property.as_object_mut() {
                let x = p
                    .entry("x-rapport-field")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(x) = x.as_object_mut() {
                    x.insert("isSystem".into(), serde_json::json!(true));
                }
            }
        }
    }
    object
}
