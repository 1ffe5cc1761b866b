//! The metadata service: objects and fields per workspace, each change one
//! transaction holding its metadata rows, its DDL and the version bump.

use std::collections::HashMap;
use std::sync::Arc;

use rapport_meta::{Catalog, FieldDef, ObjectDef, RelationKind, export_document, parse_document};
use rapport_query::{Backend, Layout, field_columns};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::db::{Db, execute_text, sys_execute, sys_query};
use crate::ddl;
use crate::error::StoreError;
use crate::migrate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub namespace: String,
}

/// A workspace's metadata as loaded at one version.
#[derive(Debug, Clone)]
pub struct WorkspaceMeta {
    pub workspace: Workspace,
    pub version: i64,
    pub catalog: Arc<Catalog>,
    pub layout: Layout,
    /// Hidden objects (data kept until purge).
    pub deleted_objects: Vec<ObjectDef>,
    /// Hidden fields per object name.
    pub deleted_fields: HashMap<String, Vec<FieldDef>>,
    pub object_ids: HashMap<String, String>,
    pub field_ids: HashMap<(String, String), String>,
    /// Run on the resulting catalog before a change commits (the API layer
    /// checks that the metadata still makes a valid GraphQL schema).
    pub check: Option<CatalogCheck>,
}

pub type CatalogCheck = fn(&Catalog) -> Result<(), String>;

/// One step of a metadata change, as `planSchema` reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MigrationStep {
    pub action: String,
    pub object: String,
    pub field: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationPlan {
    pub steps: Vec<MigrationStep>,
    pub metadata_version: i64,
}

/// What a field-level mutation asks for.
#[derive(Debug, Clone)]
pub enum FieldChange {
    Rename { new_name: String },
    Delete,
    Restore,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub async fn default_workspace(db: &Db) -> Result<Option<Workspace>, StoreError> {
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT id, name, namespace FROM rapport_workspace ORDER BY created_at LIMIT 1",
        vec![],
    )
    .await?;
    Ok(match rows.first() {
        Some(r) => Some(Workspace {
            id: r.try_get_by_index(0)?,
            name: r.try_get_by_index(1)?,
            namespace: r.try_get_by_index(2)?,
        }),
        None => None,
    })
}

/// Runs migrations and, on an empty database, creates the default workspace
/// with the standard objects. Returns the workspace and whether it is new.
pub async fn ensure_default_workspace(
    db: &Db,
    standard: &[Value],
) -> Result<(Workspace, bool), StoreError> {
    migrate::run(db).await?;
    if let Some(ws) = default_workspace(db).await? {
        return Ok((ws, false));
    }
    let txn = db.conn.begin().await?;
    if db.backend == Backend::Postgres {
        execute_text(&txn, db.backend, "SELECT pg_advisory_xact_lock(7302)").await?;
    }
    let existing = sys_query(&txn, db.backend, "SELECT id FROM rapport_workspace", vec![]).await?;
    if !existing.is_empty() {
        txn.commit().await?;
        let ws = default_workspace(db)
            .await?
            .ok_or_else(|| StoreError::Internal("workspace vanished".into()))?;
        return Ok((ws, false));
    }
    let ws = Workspace {
        id: uuid::Uuid::new_v4().to_string(),
        name: "Default".into(),
        namespace: "ws_default".into(),
    };
    sys_execute(
        &txn,
        db.backend,
        "INSERT INTO rapport_workspace (id, name, namespace, metadata_version, created_at) VALUES ($1, $2, $3, 1, $4)",
        vec![ws.id.clone().into(), ws.name.clone().into(), ws.namespace.clone().into(), now().into()],
    )
    .await?;
    let layout = Layout::new(db.backend, ws.namespace.clone());
    for stmt in ddl::create_namespace(&layout) {
        execute_text(&txn, db.backend, &stmt).await?;
    }
    let empty = empty_meta(&ws, &layout);
    apply_documents(&txn, &empty, standard.to_vec(), Mode::CreateOnly).await?;
    txn.commit().await?;
    Ok((ws, true))
}

fn empty_meta(ws: &Workspace, layout: &Layout) -> WorkspaceMeta {
    WorkspaceMeta {
        workspace: ws.clone(),
        version: 0,
        catalog: Arc::new(Catalog::default()),
        layout: layout.clone(),
        deleted_objects: Vec::new(),
        deleted_fields: HashMap::new(),
        object_ids: HashMap::new(),
        field_ids: HashMap::new(),
        check: None,
    }
}

pub async fn metadata_version(db: &Db, workspace_id: &str) -> Result<i64, StoreError> {
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT metadata_version FROM rapport_workspace WHERE id = $1",
        vec![workspace_id.into()],
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::NotFound("workspace".into()))?;
    Ok(row.try_get_by_index(0)?)
}

/// Reads a workspace's objects and fields into a checked catalog.
pub async fn load_workspace(db: &Db, ws: &Workspace) -> Result<WorkspaceMeta, StoreError> {
    load_in(&db.conn, db.backend, ws).await
}

async fn load_in(
    conn: &impl ConnectionTrait,
    backend: Backend,
    ws: &Workspace,
) -> Result<WorkspaceMeta, StoreError> {
    let version_rows = sys_query(
        conn,
        backend,
        "SELECT metadata_version FROM rapport_workspace WHERE id = $1",
        vec![ws.id.clone().into()],
    )
    .await?;
    let version: i64 = version_rows
        .first()
        .ok_or_else(|| StoreError::NotFound("workspace".into()))?
        .try_get_by_index(0)?;
    let objects = sys_query(
        conn,
        backend,
        "SELECT id, name, header, deleted_at FROM rapport_object WHERE workspace_id = $1 ORDER BY created_at, name",
        vec![ws.id.clone().into()],
    )
    .await?;
    let fields = sys_query(
        conn,
        backend,
        "SELECT f.id, o.name, f.name, f.property, f.is_required, f.deleted_at FROM rapport_field f \
         JOIN rapport_object o ON o.id = f.object_id WHERE o.workspace_id = $1 ORDER BY f.position, f.name",
        vec![ws.id.clone().into()],
    )
    .await?;
    let mut object_ids = HashMap::new();
    let mut field_ids = HashMap::new();
    let mut docs: Vec<(String, Value, bool)> = Vec::new();
    for r in &objects {
        let id: String = r.try_get_by_index(0)?;
        let name: String = r.try_get_by_index(1)?;
        let header: String = r.try_get_by_index(2)?;
        let deleted: Option<String> = r.try_get_by_index(3)?;
        let mut doc: Value =
            serde_json::from_str(&header).map_err(|e| StoreError::Internal(e.to_string()))?;
        doc["properties"] = json!({});
        doc["required"] = json!([]);
        object_ids.insert(name.clone(), id);
        docs.push((name, doc, deleted.is_some()));
    }
    let mut deleted_props: HashMap<String, Vec<(String, Value, bool)>> = HashMap::new();
    for r in &fields {
        let id: String = r.try_get_by_index(0)?;
        let object: String = r.try_get_by_index(1)?;
        let name: String = r.try_get_by_index(2)?;
        let property: String = r.try_get_by_index(3)?;
        let required: bool = r.try_get_by_index(4)?;
        let deleted: Option<String> = r.try_get_by_index(5)?;
        let property: Value =
            serde_json::from_str(&property).map_err(|e| StoreError::Internal(e.to_string()))?;
        field_ids.insert((object.clone(), name.clone()), id);
        if deleted.is_some() {
            deleted_props
                .entry(object)
                .or_default()
                .push((name, property, required));
            continue;
        }
        if let Some((_, doc, _)) = docs.iter_mut().find(|(n, _, _)| *n == object) {
            doc["properties"][&name] = property;
            if required {
                doc["required"]
                    .as_array_mut()
                    .expect("array")
                    .push(json!(name));
            }
        }
    }
    let mut active = Vec::new();
    let mut deleted_objects = Vec::new();
    for (name, doc, deleted) in docs {
        let parsed = parse_document(&doc).map_err(|e| {
            StoreError::Internal(format!("stored object `{name}` no longer parses: {e}"))
        })?;
        if deleted {
            deleted_objects.push(parsed);
        } else {
            active.push(parsed);
        }
    }
    let mut deleted_fields = HashMap::new();
    for (object, props) in deleted_props {
        let mut list = Vec::new();
        for (name, property, required) in props {
            list.push(
                rapport_meta::parse_field_property(&name, &property, required)
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
            );
        }
        deleted_fields.insert(object, list);
    }
    let catalog = Catalog::build(active)
        .map_err(|e| StoreError::Internal(format!("stored metadata is inconsistent: {e}")))?;
    Ok(WorkspaceMeta {
        workspace: ws.clone(),
        version,
        catalog: Arc::new(catalog),
        layout: Layout::new(backend, ws.namespace.clone()),
        deleted_objects,
        deleted_fields,
        object_ids,
        field_ids,
        check: None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// `createObject`: every document must be new.
    CreateOnly,
    /// `updateObject`, `createField`, `updateField`: every document must exist.
    UpdateOnly,
    /// `applySchema`: create or update.
    Upsert,
}

impl WorkspaceMeta {
    pub fn object(&self, name: &str) -> Result<&ObjectDef, StoreError> {
        self.catalog
            .object(name)
            .ok_or_else(|| StoreError::NotFound(format!("no object named `{name}`")))
    }

    /// Creates objects from documents (`createObject`).
    pub async fn create_objects(
        &self,
        db: &Db,
        docs: Vec<Value>,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, false, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::CreateOnly))
        })
        .await
    }

    /// Replaces objects' documents (`updateObject`, field create/update).
    pub async fn update_objects(
        &self,
        db: &Db,
        docs: Vec<Value>,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, false, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::UpdateOnly))
        })
        .await
    }

    /// `planSchema` (dry run) and `applySchema`.
    pub async fn apply_schema(
        &self,
        db: &Db,
        docs: Vec<Value>,
        dry_run: bool,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, dry_run, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::Upsert))
        })
        .await
    }

    pub async fn change_field(
        &self,
        db: &Db,
        object: &str,
        field: &str,
        change: FieldChange,
    ) -> Result<MigrationPlan, StoreError> {
        let (object, field) = (object.to_string(), field.to_string());
        self.change(db, false, move |txn, meta| {
            Box::pin(field_change(txn, meta, object, field, change))
        })
        .await
    }

    pub async fn set_object_deleted(
        &self,
        db: &Db,
        object: &str,
        deleted: bool,
    ) -> Result<MigrationPlan, StoreError> {
        let object = object.to_string();
        self.change(db, false, move |txn, meta| {
            Box::pin(object_visibility(txn, meta, object, deleted))
        })
        .await
    }

    pub async fn purge(
        &self,
        db: &Db,
        object: &str,
        field: Option<&str>,
    ) -> Result<MigrationPlan, StoreError> {
        let (object, field) = (object.to_string(), field.map(str::to_string));
        self.change(db, false, move |txn, meta| {
            Box::pin(purge(txn, meta, object, field))
        })
        .await
    }

    /// Runs one change in a transaction against the metadata as stored now
    /// (not as this snapshot saw it), bumping the version unless it is a dry run.
    async fn change<F>(&self, db: &Db, dry_run: bool, f: F) -> Result<MigrationPlan, StoreError>
    where
        F: for<'t> FnOnce(
            &'t DatabaseTransaction,
            &'t WorkspaceMeta,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = Result<Vec<MigrationStep>, StoreError>>
                    + Send
                    + 't,
            >,
        >,
    {
        let txn = db.conn.begin().await?;
        if db.backend == Backend::Postgres {
            // Serialises metadata changes of one workspace across processes.
            sys_query(
                &txn,
                db.backend,
                "SELECT id FROM rapport_workspace WHERE id = $1 FOR UPDATE",
                vec![self.workspace.id.clone().into()],
            )
            .await?;
        }
        let current = load_in(&txn, db.backend, &self.workspace).await?;
        let steps = f(&txn, &current).await?;
        // The result must load back as a consistent catalog before it commits.
        let after = load_in(&txn, db.backend, &self.workspace).await?;
        if let Some(check) = self.check {
            check(&after.catalog).map_err(|e| {
                StoreError::Conflict(format!("the change would break the generated API: {e}"))
            })?;
        }
        if dry_run || steps.is_empty() {
            txn.rollback().await?;
            return Ok(MigrationPlan {
                steps,
                metadata_version: current.version,
            });
        }
        sys_execute(
            &txn,
            db.backend,
            "UPDATE rapport_workspace SET metadata_version = metadata_version + 1 WHERE id = $1",
            vec![self.workspace.id.clone().into()],
        )
        .await?;
        txn.commit().await?;
        Ok(MigrationPlan {
            steps,
            metadata_version: current.version + 1,
        })
    }
}

fn step(
    action: &str,
    object: &str,
    field: Option<&str>,
    detail: impl Into<String>,
) -> MigrationStep {
    MigrationStep {
        action: action.into(),
        object: object.into(),
        field: field.map(str::to_string),
        detail: detail.into(),
    }
}

fn header_of(doc: &Value) -> Value {
    let mut h = doc.clone();
    if let Some(m) = h.as_object_mut() {
        m.remove("properties");
        m.remove("required");
    }
    h
}

async fn insert_field(
    txn: &DatabaseTransaction,
    backend: Backend,
    object_id: &str,
    f: &FieldDef,
    position: usize,
) -> Result<(), StoreError> {
    sys_execute(
        txn,
        backend,
        "INSERT INTO rapport_field (id, object_id, name, property, is_required, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            uuid::Uuid::new_v4().to_string().into(),
            object_id.into(),
            f.name.clone().into(),
            f.property.to_string().into(),
            f.required.into(),
            (position as i64).into(),
            now().into(),
        ],
    )
    .await?;
    Ok(())
}

async fn run_ddl(
    txn: &DatabaseTransaction,
    backend: Backend,
    stmts: Vec<String>,
) -> Result<(), StoreError> {
    for s in stmts {
        execute_text(txn, backend, &s).await.map_err(|e| match e {
            StoreError::Database(db) if is_unique_violation(&db) => StoreError::Conflict(
                "existing records hold duplicate values; make them unique first".into(),
            ),
            other => other,
        })?;
    }
    Ok(())
}

pub(crate) fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

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
        parsed.push((o, doc.clone()));
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
                let object_id = uuid::Uuid::new_v4().to_string();
                sys_execute(
                    txn,
                    backend,
                    "INSERT INTO rapport_object (id, workspace_id, name, header, is_system, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    vec![object_id.clone().into(), meta.workspace.id.clone().into(), object.name.clone().into(), header_of(doc).to_string().into(), object.is_system.into(), now().into()],
                )
                .await?;
                for (pos, f) in object.fields.iter().enumerate() {
                    insert_field(txn, backend, &object_id, f, pos).await?;
                }
                run_ddl(txn, backend, ddl::create_object(&meta.layout, full)).await?;
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

fn without_generated(o: &ObjectDef) -> ObjectDef {
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
                insert_field(txn, backend, &object_id, f, 1000 + pos).await?;
                run_ddl(txn, backend, ddl::add_field(&meta.layout, new, f)).await?;
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
            || old.relation.is_some())
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
        crate::records::convert_column(txn, meta, object, old, new).await?;
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

async fn field_change(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: String,
    field: String,
    change: FieldChange,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let object_id = meta
        .object_ids
        .get(&object)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("no object named `{object}`")))?;
    let deleted = meta
        .deleted_fields
        .get(&object)
        .and_then(|d| d.iter().find(|f| f.name == field));
    let obj = meta.object(&object)?;
    match change {
        FieldChange::Restore => {
            let f = deleted.ok_or_else(|| {
                StoreError::NotFound(format!("no deleted field `{object}.{field}`"))
            })?;
            if obj.field(&field).is_some() {
                return Err(StoreError::Conflict(format!("`{object}.{field}` exists")));
            }
            let mut doc = export_document(&without_generated(obj));
            doc["properties"][&field] = f.property.clone();
            Catalog::build(replace(meta, parse_document(&doc)?))?;
            sys_execute(txn, backend, "UPDATE rapport_field SET deleted_at = NULL, updated_at = $1 WHERE object_id = $2 AND name = $3", vec![now().into(), object_id.into(), field.clone().into()]).await?;
            Ok(vec![step(
                "restoreField",
                &object,
                Some(&field),
                "visible again",
            )])
        }
        FieldChange::Delete => {
            let f = obj
                .field(&field)
                .filter(|f| !f.generated)
                .ok_or_else(|| StoreError::NotFound(format!("no field `{object}.{field}`")))?;
            if f.is_system {
                return Err(StoreError::Forbidden(format!(
                    "`{object}.{field}` is a standard field and cannot be deleted"
                )));
            }
            let mut reduced = without_generated(obj);
            reduced.fields.retain(|x| x.name != field);
            if reduced.title_field.as_deref() == Some(&field)
                || reduced.search_fields.contains(&field)
            {
                return Err(StoreError::bad(
                    &field,
                    "the field is the object's title or search field; change those first",
                ));
            }
            Catalog::build(replace(meta, reduced)).map_err(|e| {
                StoreError::Conflict(format!("cannot delete `{object}.{field}`: {e}"))
            })?;
            sys_execute(
                txn,
                backend,
                "UPDATE rapport_field SET deleted_at = $1 WHERE object_id = $2 AND name = $3",
                vec![now().into(), object_id.into(), field.clone().into()],
            )
            .await?;
            Ok(vec![step(
                "deleteField",
                &object,
                Some(&field),
                "hidden, data kept",
            )])
        }
        FieldChange::Rename { new_name } => {
            let f = obj
                .field(&field)
                .filter(|f| !f.generated)
                .ok_or_else(|| StoreError::NotFound(format!("no field `{object}.{field}`")))?;
            if f.is_system {
                return Err(StoreError::Forbidden(format!(
                    "`{object}.{field}` is a standard field and cannot be renamed"
                )));
            }
            rapport_meta::check_name("newName", &new_name)?;
            if obj.field(&new_name).is_some()
                || meta
                    .deleted_fields
                    .get(&object)
                    .is_some_and(|d| d.iter().any(|d| d.name == new_name))
            {
                return Err(StoreError::Conflict(format!(
                    "`{object}.{new_name}` already exists"
                )));
            }
            let mut doc = export_document(&without_generated(obj));
            let props = doc["properties"].as_object_mut().expect("properties");
            let renamed: Map<String, Value> = props
                .iter()
                .map(|(k, v)| {
                    (
                        if *k == field {
                            new_name.clone()
                        } else {
                            k.clone()
                        },
                        v.clone(),
                    )
                })
                .collect();
            *props = renamed;
            if let Some(req) = doc["required"].as_array_mut() {
                for r in req
                    .iter_mut()
                    .filter(|r| r.as_str() == Some(field.as_str()))
                {
                    *r = json!(new_name);
                }
            }
            let head = &mut doc["x-rapport-object"];
            if head["titleField"].as_str() == Some(field.as_str()) {
                head["titleField"] = json!(new_name);
            }
            if let Some(list) = head["searchFields"].as_array_mut() {
                for s in list
                    .iter_mut()
                    .filter(|s| s.as_str() == Some(field.as_str()))
                {
                    *s = json!(new_name);
                }
            }
            let new_obj = parse_document(&doc)?;
            Catalog::build(replace(meta, new_obj.clone())).map_err(|e| {
                StoreError::Conflict(format!("cannot rename `{object}.{field}`: {e}"))
            })?;
            let new_field = new_obj.field(&new_name).expect("renamed field");
            let mut stmts = ddl::drop_field_indexes(&meta.layout, obj, f);
            for (a, b) in field_columns(f).iter().zip(field_columns(new_field)) {
                stmts.push(ddl::rename_column(&meta.layout, &object, &a.name, &b.name));
            }
            stmts.extend(ddl::field_indexes(&meta.layout, &new_obj, new_field));
            run_ddl(txn, backend, stmts).await?;
            sys_execute(txn, backend, "UPDATE rapport_field SET name = $1, updated_at = $2 WHERE object_id = $3 AND name = $4", vec![new_name.clone().into(), now().into(), object_id.clone().into(), field.clone().into()]).await?;
            sys_execute(
                txn,
                backend,
                "UPDATE rapport_object SET header = $1, updated_at = $2 WHERE id = $3",
                vec![
                    header_of(&doc).to_string().into(),
                    now().into(),
                    object_id.into(),
                ],
            )
            .await?;
            Ok(vec![step(
                "renameField",
                &object,
                Some(&field),
                format!("now `{new_name}`, data kept"),
            )])
        }
    }
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

async fn object_visibility(
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

async fn purge(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: String,
    field: Option<String>,
) -> Result<Vec<MigrationStep>, StoreError> {
    let backend = meta.layout.backend;
    let object_id = meta
        .object_ids
        .get(&object)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("no object named `{object}`")))?;
    match field {
        Some(field) => {
            let f = meta
                .deleted_fields
                .get(&object)
                .and_then(|d| d.iter().find(|f| f.name == field))
                .ok_or_else(|| {
                    StoreError::NotFound(format!("no deleted field `{object}.{field}` to purge"))
                })?;
            let host = meta
                .catalog
                .object(&object)
                .or_else(|| meta.deleted_objects.iter().find(|o| o.name == object))
                .ok_or_else(|| StoreError::NotFound(object.clone()))?;
            let mut stmts = ddl::drop_field_indexes(&meta.layout, host, f);
            for c in field_columns(f) {
                stmts.push(ddl::drop_column(&meta.layout, &object, &c.name));
            }
            if f.relation_kind() == Some(RelationKind::ManyToMany) {
                stmts.push(ddl::drop_table(
                    &meta.layout,
                    &Layout::junction_name(&object, &f.name),
                ));
            }
            run_ddl(txn, backend, stmts).await?;
            sys_execute(
                txn,
                backend,
                "DELETE FROM rapport_field WHERE object_id = $1 AND name = $2",
                vec![object_id.into(), field.clone().into()],
            )
            .await?;
            Ok(vec![step(
                "purgeField",
                &object,
                Some(&field),
                "columns dropped",
            )])
        }
        None => {
            let obj = meta
                .deleted_objects
                .iter()
                .find(|o| o.name == object)
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "`{object}` is not deleted; delete it before purging"
                    ))
                })?;
            let mut stmts = vec![ddl::drop_table(&meta.layout, &object)];
            for f in obj
                .fields
                .iter()
                .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
            {
                stmts.push(ddl::drop_table(
                    &meta.layout,
                    &Layout::junction_name(&object, &f.name),
                ));
            }
            run_ddl(txn, backend, stmts).await?;
            sys_execute(
                txn,
                backend,
                "DELETE FROM rapport_field WHERE object_id = $1",
                vec![object_id.clone().into()],
            )
            .await?;
            sys_execute(
                txn,
                backend,
                "DELETE FROM rapport_object WHERE id = $1",
                vec![object_id.into()],
            )
            .await?;
            Ok(vec![step("purgeObject", &object, None, "table dropped")])
        }
    }
}
