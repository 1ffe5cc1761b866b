//! The metadata service: objects and fields per workspace, each change one
//! transaction holding its metadata rows, its DDL and the version bump.

use std::collections::HashMap;
use std::sync::Arc;

use rapport_meta::{Catalog, FieldDef, FieldType, ObjectDef, parse_document};
use rapport_query::{Backend, Layout};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Serialize;
use serde_json::{Value, json};

use crate::db::{Db, execute_text, sys_execute, sys_query};
use crate::ddl;
use crate::error::StoreError;
use crate::migrate;
use crate::records::Actor;

mod apply;
mod fields;
mod sequence;
mod upgrade;

pub(crate) use sequence::{numbered_fields, start_sequence};

use apply::apply_documents;
use fields::{field_change, object_visibility, purge};

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
    /// The stored text the catalog was built from (active objects and
    /// fields, in load order): equal texts make equal catalogs, so equal
    /// GraphQL schemas, whatever the workspace.
    pub fingerprint: Arc<str>,
    /// Run on the resulting metadata before a change commits (the API
    /// layer checks that it still makes a valid GraphQL schema, and keeps
    /// what it built for the schema it serves next).
    pub check: Option<CatalogCheck>,
    /// Set for a metadata change only: converting a field to or from
    /// `encryptedText` seals or opens its values.
    pub(crate) keyring: Option<Arc<crate::crypto::Keyring>>,
}

/// Runs on the blocking pool: it may build a whole GraphQL schema.
#[derive(Clone)]
pub struct CatalogCheck(pub Arc<CheckFn>);

pub type CheckFn = dyn Fn(&WorkspaceMeta) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for CatalogCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogCheck")
    }
}

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
    /// The workspace's metadata as the change committed it (none for a dry
    /// run or a change that changed nothing): the server serves it without
    /// loading it again.
    #[serde(skip)]
    pub applied: Option<Arc<WorkspaceMeta>>,
}

/// What a field-level mutation asks for.
#[derive(Debug, Clone)]
pub enum FieldChange {
    Rename { new_name: String },
    Delete,
    Restore,
}

pub(crate) fn now() -> String {
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

/// Runs migrations, upgrades every workspace's standard objects to
/// `standard`, and on an empty database creates the default workspace.
/// Returns the default workspace and whether it is new.
pub async fn ensure_default_workspace(
    db: &Db,
    standard: &[Value],
) -> Result<(Workspace, bool), StoreError> {
    migrate::run(db).await?;
    if let Some(ws) = default_workspace(db).await? {
        for w in list_workspaces(db).await? {
            upgrade::upgrade_standard(db, &w, standard).await?;
        }
        return Ok((ws, false));
    }
    let txn = db.begin_write().await?;
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
    let ws = create_workspace_named(&txn, db, "Default", "ws_default", standard).await?;
    txn.commit().await?;
    Ok((ws, true))
}

/// A new workspace with its own namespace and the standard objects, in the
/// caller's transaction.
pub(crate) async fn create_workspace_in(
    txn: &DatabaseTransaction,
    db: &Db,
    name: &str,
    standard: &[Value],
) -> Result<Workspace, StoreError> {
    let namespace = format!("ws_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    create_workspace_named(txn, db, name, &namespace, standard).await
}

async fn create_workspace_named(
    txn: &DatabaseTransaction,
    db: &Db,
    name: &str,
    namespace: &str,
    standard: &[Value],
) -> Result<Workspace, StoreError> {
    let ws = Workspace {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.into(),
        namespace: namespace.into(),
    };
    sys_execute(
        txn,
        db.backend,
        "INSERT INTO rapport_workspace (id, name, namespace, metadata_version, created_at) VALUES ($1, $2, $3, 1, $4)",
        vec![ws.id.clone().into(), ws.name.clone().into(), ws.namespace.clone().into(), now().into()],
    )
    .await?;
    let layout = Layout::new(db.backend, ws.namespace.clone());
    for stmt in ddl::create_namespace(&layout) {
        execute_text(txn, db.backend, &stmt).await?;
    }
    let empty = empty_meta(&ws, &layout);
    apply_documents(txn, &empty, standard.to_vec(), Mode::CreateOnly).await?;
    upgrade::record_shipped(txn, db.backend, &ws.id, standard).await?;
    Ok(ws)
}

pub async fn list_workspaces(db: &Db) -> Result<Vec<Workspace>, StoreError> {
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT id, name, namespace FROM rapport_workspace ORDER BY created_at",
        vec![],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Workspace {
                id: r.try_get_by_index(0)?,
                name: r.try_get_by_index(1)?,
                namespace: r.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// Metadata versions of every workspace, for the change poller.
pub async fn metadata_versions(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT id, metadata_version FROM rapport_workspace",
        vec![],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
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
        fingerprint: Arc::from(""),
        check: None,
        keyring: None,
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

pub(crate) async fn load_in(
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
         JOIN rapport_object o ON o.id = f.object_id WHERE o.workspace_id = $1 ORDER BY f.position, o.name, f.name",
        vec![ws.id.clone().into()],
    )
    .await?;
    // Parsing hundreds of documents and building their catalog is CPU work
    // of tens of milliseconds: off the async workers, which keep serving.
    let ws = ws.clone();
    tokio::task::spawn_blocking(move || assemble(backend, ws, version, &objects, &fields))
        .await
        .map_err(|e| StoreError::Internal(format!("loading metadata stopped: {e}")))?
}

/// A workspace's metadata from its stored object and field rows.
fn assemble(
    backend: Backend,
    ws: Workspace,
    version: i64,
    objects: &[sea_orm::QueryResult],
    fields: &[sea_orm::QueryResult],
) -> Result<WorkspaceMeta, StoreError> {
    let mut object_ids = HashMap::new();
    let mut field_ids = HashMap::new();
    let mut docs: Vec<(String, Value, bool)> = Vec::new();
    let mut doc_of: HashMap<String, usize> = HashMap::new();
    let mut fingerprint = String::new();
    for r in objects {
        let id: String = r.try_get_by_index(0)?;
        let name: String = r.try_get_by_index(1)?;
        let header: String = r.try_get_by_index(2)?;
        let deleted: Option<String> = r.try_get_by_index(3)?;
        let mut doc: Value =
            serde_json::from_str(&header).map_err(|e| StoreError::Internal(e.to_string()))?;
        doc["properties"] = json!({});
        doc["required"] = json!([]);
        if deleted.is_none() {
            fingerprint.extend([name.as_str(), "\u{1}", &header, "\u{1}"]);
        }
        object_ids.insert(name.clone(), id);
        doc_of.insert(name.clone(), docs.len());
        docs.push((name, doc, deleted.is_some()));
    }
    let mut deleted_props: HashMap<String, Vec<(String, Value, bool)>> = HashMap::new();
    for r in fields {
        let id: String = r.try_get_by_index(0)?;
        let object: String = r.try_get_by_index(1)?;
        let name: String = r.try_get_by_index(2)?;
        let text: String = r.try_get_by_index(3)?;
        let required: bool = r.try_get_by_index(4)?;
        let deleted: Option<String> = r.try_get_by_index(5)?;
        let property: Value =
            serde_json::from_str(&text).map_err(|e| StoreError::Internal(e.to_string()))?;
        field_ids.insert((object.clone(), name.clone()), id);
        if deleted.is_some() {
            deleted_props
                .entry(object)
                .or_default()
                .push((name, property, required));
            continue;
        }
        if let Some((_, doc, object_deleted)) = doc_of.get(&object).map(|&i| &mut docs[i]) {
            if !*object_deleted {
                let flag = if required { "1" } else { "0" };
                fingerprint.extend([&object, "\u{1}", &name, "\u{1}", &text, flag, "\u{1}"]);
            }
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
        layout: Layout::new(backend, ws.namespace.clone()),
        workspace: ws,
        version,
        catalog: Arc::new(catalog),
        deleted_objects,
        deleted_fields,
        object_ids,
        field_ids,
        fingerprint: Arc::from(fingerprint),
        check: None,
        keyring: None,
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
        actor: &Actor,
        docs: Vec<Value>,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, actor, false, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::CreateOnly))
        })
        .await
    }

    /// Replaces objects' documents (`updateObject`, field create/update).
    pub async fn update_objects(
        &self,
        db: &Db,
        actor: &Actor,
        docs: Vec<Value>,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, actor, false, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::UpdateOnly))
        })
        .await
    }

    /// `planSchema` (dry run) and `applySchema`.
    pub async fn apply_schema(
        &self,
        db: &Db,
        actor: &Actor,
        docs: Vec<Value>,
        dry_run: bool,
    ) -> Result<MigrationPlan, StoreError> {
        self.change(db, actor, dry_run, |txn, meta| {
            Box::pin(apply_documents(txn, meta, docs, Mode::Upsert))
        })
        .await
    }

    pub async fn change_field(
        &self,
        db: &Db,
        actor: &Actor,
        object: &str,
        field: &str,
        change: FieldChange,
    ) -> Result<MigrationPlan, StoreError> {
        let (object, field) = (object.to_string(), field.to_string());
        self.change(db, actor, false, move |txn, meta| {
            Box::pin(field_change(txn, meta, object, field, change))
        })
        .await
    }

    pub async fn set_object_deleted(
        &self,
        db: &Db,
        actor: &Actor,
        object: &str,
        deleted: bool,
    ) -> Result<MigrationPlan, StoreError> {
        let object = object.to_string();
        self.change(db, actor, false, move |txn, meta| {
            Box::pin(object_visibility(txn, meta, object, deleted))
        })
        .await
    }

    pub async fn purge(
        &self,
        db: &Db,
        actor: &Actor,
        object: &str,
        field: Option<&str>,
    ) -> Result<MigrationPlan, StoreError> {
        let (object, field) = (object.to_string(), field.map(str::to_string));
        self.change(db, actor, false, move |txn, meta| {
            Box::pin(purge(txn, meta, object, field))
        })
        .await
    }

    /// Runs one change in a transaction against the metadata as stored now
    /// (not as this snapshot saw it), bumping the version unless it is a dry run.
    async fn change<F>(
        &self,
        db: &Db,
        actor: &Actor,
        dry_run: bool,
        f: F,
    ) -> Result<MigrationPlan, StoreError>
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
        let txn = db.begin_write().await?;
        let stored = locked_version(&txn, db.backend, &self.workspace.id).await?;
        // The caller's metadata is the stored one unless a change committed
        // since it was loaded (its version is read before its rows): loading
        // a big workspace again costs tens of milliseconds.
        let mut current = if stored == self.version {
            self.clone()
        } else {
            load_in(&txn, db.backend, &self.workspace).await?
        };
        current.keyring = db.keyring.clone();
        let steps = f(&txn, &current).await?;
        // The result must load back as a consistent catalog before it commits.
        let mut after = load_in(&txn, db.backend, &self.workspace).await?;
        if db.keyring.is_none() {
            refuse_new_sealed_fields(&current.catalog, &after.catalog)?;
        }
        after.version = current.version + 1;
        if let Some(check) = self.check.clone() {
            // Off the async workers: requests keep being served meanwhile.
            let (checked, outcome) = tokio::task::spawn_blocking(move || {
                let outcome = (check.0)(&after);
                (after, outcome)
            })
            .await
            .map_err(|e| StoreError::Internal(format!("the catalog check stopped: {e}")))?;
            outcome.map_err(|e| {
                StoreError::Conflict(format!("the change would break the generated API: {e}"))
            })?;
            after = checked;
        }
        if dry_run || steps.is_empty() {
            txn.rollback().await?;
            return Ok(MigrationPlan {
                steps,
                metadata_version: current.version,
                applied: None,
            });
        }
        for st in &steps {
            let detail = serde_json::json!({ "field": st.field, "detail": st.detail });
            crate::audit::admin_entry(
                &txn,
                db.backend,
                actor,
                crate::audit::AdminEntry {
                    workspace_id: &self.workspace.id,
                    object: "_metadata",
                    subject: &st.object,
                    action: &st.action,
                    detail,
                },
            )
            .await?;
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
            metadata_version: after.version,
            applied: Some(Arc::new(after)),
        })
    }
}

/// Without keys, an `encryptedText` field could be defined but never written.
fn refuse_new_sealed_fields(before: &Catalog, after: &Catalog) -> Result<(), StoreError> {
    for o in after.objects() {
        for f in o
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::EncryptedText)
        {
            let existed = before
                .object(&o.name)
                .and_then(|b| b.field(&f.name))
                .is_some_and(|b| b.field_type == FieldType::EncryptedText);
            if !existed {
                return Err(StoreError::bad(
                    format!("{}/properties/{}", o.name, f.name),
                    "encryptedText needs an encryption key on the server \
                     (RAPPORT_ENCRYPTION_KEY or RAPPORT_ENCRYPTION_KEY_FILE; see docs/security.md)",
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn step(
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

pub(crate) fn header_of(doc: &Value) -> Value {
    let mut h = doc.clone();
    if let Some(m) = h.as_object_mut() {
        m.remove("properties");
        m.remove("required");
    }
    h
}

pub(crate) async fn insert_field(
    txn: &DatabaseTransaction,
    backend: Backend,
    object_id: &str,
    f: &FieldDef,
    position: usize,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    sys_execute(
        txn,
        backend,
        "INSERT INTO rapport_field (id, object_id, name, property, is_required, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            id.clone().into(),
            object_id.into(),
            f.name.clone().into(),
            f.property.to_string().into(),
            f.required.into(),
            (position as i64).into(),
            now().into(),
        ],
    )
    .await?;
    Ok(id)
}

pub(crate) async fn run_ddl(
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

/// The workspace's metadata version, locked for this transaction: on
/// PostgreSQL the row lock serialises metadata changes of one workspace
/// across processes; SQLite's write transaction already holds its only
/// writer's lock.
async fn locked_version(
    txn: &DatabaseTransaction,
    backend: Backend,
    workspace_id: &str,
) -> Result<i64, StoreError> {
    let statement = match backend {
        Backend::Postgres => {
            "SELECT metadata_version FROM rapport_workspace WHERE id = $1 FOR UPDATE"
        }
        Backend::Sqlite => "SELECT metadata_version FROM rapport_workspace WHERE id = $1",
    };
    sys_query(
        txn,
        backend,
        statement,
        vec![workspace_id.to_string().into()],
    )
    .await?
    .first()
    .map(|r| r.try_get_by_index::<i64>(0))
    .transpose()?
    .ok_or_else(|| StoreError::NotFound("workspace".into()))
}
