//! Roles: what a member or key may do per object (read, create, update,
//! delete, destroy) and over which records (own, team, all).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::db::{Db, sys_execute, sys_query};
use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    None,
    Own,
    Team,
    All,
}

impl Scope {
    fn parse(v: &Value, path: &str) -> Result<Scope, StoreError> {
        match v.as_str() {
            Some("none") => Ok(Scope::None),
            Some("own") => Ok(Scope::Own),
            Some("team") => Ok(Scope::Team),
            Some("all") => Ok(Scope::All),
            _ => Err(StoreError::bad(path, "one of none, own, team, all")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRights {
    pub read: Scope,
    pub create: bool,
    pub update: Scope,
    pub delete: Scope,
    pub destroy: Scope,
}

impl ObjectRights {
    const ALL: ObjectRights = ObjectRights {
        read: Scope::All,
        create: true,
        update: Scope::All,
        delete: Scope::All,
        destroy: Scope::All,
    };

    fn parse(v: &Value, base: ObjectRights, path: &str) -> Result<ObjectRights, StoreError> {
        let Some(m) = v.as_object() else {
            return Err(StoreError::bad(path, "an object of rights"));
        };
        let mut r = base;
        for (k, x) in m {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "read" => r.read = Scope::parse(x, &p)?,
                "update" => r.update = Scope::parse(x, &p)?,
                "delete" => r.delete = Scope::parse(x, &p)?,
                "destroy" => r.destroy = Scope::parse(x, &p)?,
                "create" => {
                    r.create = x
                        .as_bool()
                        .ok_or_else(|| StoreError::bad(&p, "true or false"))?
                }
                _ => {
                    return Err(StoreError::bad(
                        &p,
                        "read, create, update, delete or destroy",
                    ));
                }
            }
        }
        Ok(r)
    }
}

/// What a role may do with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRight {
    None,
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub default: ObjectRights,
    pub objects: HashMap<String, ObjectRights>,
    /// `object.field` → right; fields not named are writable.
    pub fields: HashMap<String, FieldRight>,
    /// Metadata, keys, members and roles: admins only.
    pub admin: bool,
}

impl Role {
    pub fn rights(&self, object: &str) -> ObjectRights {
        self.objects.get(object).copied().unwrap_or(self.default)
    }

    /// Whether a `masked` field shows masked to this role: admins and roles
    /// that name the field (read or write) see it clear.
    pub fn masks(&self, object: &str, field: &str) -> bool {
        !self.admin
            && !matches!(
                self.fields.get(&format!("{object}.{field}")),
                Some(FieldRight::Read | FieldRight::Write)
            )
    }

    pub fn field(&self, object: &str, field: &str) -> FieldRight {
        self.fields
            .get(&format!("{object}.{field}"))
            .copied()
            .unwrap_or(FieldRight::Write)
    }

    pub fn admin() -> Role {
        Role {
            name: "admin".into(),
            default: ObjectRights::ALL,
            objects: HashMap::new(),
            fields: HashMap::new(),
            admin: true,
        }
    }

    /// Members read and edit everything, delete their own records, destroy nothing.
    pub fn member() -> Role {
        let default = ObjectRights {
            delete: Scope::Own,
            destroy: Scope::None,
            ..ObjectRights::ALL
        };
        Role {
            name: "member".into(),
            default,
            objects: HashMap::new(),
            fields: HashMap::new(),
            admin: false,
        }
    }

    /// Reads a definition: `{ "default": {…rights}, "objects": { "opportunity": {…} } }`.
    pub fn from_definition(name: &str, def: &Value) -> Result<Role, StoreError> {
        let base = match def.get("default") {
            Some(d) => ObjectRights::parse(d, Role::member().default, "definition.default")?,
            None => Role::member().default,
        };
        let mut objects = HashMap::new();
        if let Some(m) = def.get("objects").and_then(Value::as_object) {
            for (o, r) in m {
                objects.insert(
                    o.clone(),
                    ObjectRights::parse(r, base, &format!("definition.objects.{o}"))?,
                );
            }
        }
        let mut fields = HashMap::new();
        if let Some(m) = def.get("fields").and_then(Value::as_object) {
            for (f, r) in m {
                let path = format!("definition.fields.{f}");
                let right = match r.as_str() {
                    Some("none") => FieldRight::None,
                    Some("read") => FieldRight::Read,
                    Some("write") => FieldRight::Write,
                    _ => return Err(StoreError::bad(path, "one of none, read, write")),
                };
                if !f.contains('.') {
                    return Err(StoreError::bad(path, "name fields as `object.field`"));
                }
                fields.insert(f.clone(), right);
            }
        }
        Ok(Role {
            name: name.into(),
            default: base,
            objects,
            fields,
            admin: false,
        })
    }
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = (2..=50).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok || matches!(name, "admin" | "member") {
        return Err(StoreError::bad(
            "name",
            "2 to 50 letters, digits, `_` or `-`, not a built-in role",
        ));
    }
    Ok(())
}

/// A role of the workspace by name: built-in or custom.
pub async fn find_role(
    db: &Db,
    workspace_id: &str,
    name: &str,
) -> Result<Option<Role>, StoreError> {
    match name {
        "admin" => return Ok(Some(Role::admin())),
        "member" => return Ok(Some(Role::member())),
        _ => {}
    }
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT definition FROM rapport_role WHERE workspace_id = $1 AND name = $2",
        vec![workspace_id.into(), name.into()],
    )
    .await?;
    match rows.first() {
        Some(r) => {
            let text: String = r.try_get_by_index(0)?;
            let def: Value =
                serde_json::from_str(&text).map_err(|e| StoreError::Internal(e.to_string()))?;
            Ok(Some(Role::from_definition(name, &def)?))
        }
        None => Ok(None),
    }
}

/// Creates or replaces a custom role.
pub async fn save_role(
    db: &Db,
    actor: &crate::Actor,
    workspace_id: &str,
    name: &str,
    definition: &Value,
    replace: bool,
) -> Result<(), StoreError> {
    check_name(name)?;
    Role::from_definition(name, definition)?;
    let exists = find_role(db, workspace_id, name).await?.is_some();
    match (exists, replace) {
        (true, false) => return Err(StoreError::Conflict(format!("role `{name}` exists"))),
        (false, true) => return Err(StoreError::NotFound(format!("no role `{name}`"))),
        _ => {}
    }
    let txn = db.begin_write().await?;
    if replace {
        sys_execute(
            &txn,
            db.backend,
            "UPDATE rapport_role SET definition = $1 WHERE workspace_id = $2 AND name = $3",
            vec![
                definition.to_string().into(),
                workspace_id.into(),
                name.into(),
            ],
        )
        .await?;
    } else {
        sys_execute(
            &txn,
            db.backend,
            "INSERT INTO rapport_role (workspace_id, name, definition, created_at) VALUES ($1, $2, $3, $4)",
            vec![workspace_id.into(), name.into(), definition.to_string().into(), chrono::Utc::now().to_rfc3339().into()],
        )
        .await?;
    }
    let action = if replace {
        "ROLE_UPDATED"
    } else {
        "ROLE_CREATED"
    };
    crate::audit::admin_entry(
        &txn,
        db.backend,
        actor,
        crate::audit::AdminEntry {
            workspace_id,
            object: "_access",
            subject: name,
            action,
            detail: definition.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Custom roles of a workspace, with their definitions.
pub async fn list_roles(db: &Db, workspace_id: &str) -> Result<Vec<(String, Value)>, StoreError> {
    let rows = sys_query(
        &db.conn,
        db.backend,
        "SELECT name, definition FROM rapport_role WHERE workspace_id = $1 ORDER BY name",
        vec![workspace_id.into()],
    )
    .await?;
    let mut out = vec![
        ("admin".to_string(), json!({ "default": "all" })),
        (
            "member".to_string(),
            json!({ "default": { "read": "all", "create": true, "update": "all", "delete": "own", "destroy": "none" } }),
        ),
    ];
    for r in &rows {
        let text: String = r.try_get_by_index(1)?;
        out.push((
            r.try_get_by_index(0)?,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        ));
    }
    Ok(out)
}
