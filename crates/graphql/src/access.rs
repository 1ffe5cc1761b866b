//! What the caller may do: their role, and the filters that express the
//! record scopes (`own`, `team`) of each right.

use std::sync::Arc;

use async_graphql::{Error, ErrorExtensions};
use rapport_meta::Catalog;
use rapport_query::Scopes;
use rapport_store::{Role, Scope};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Access {
    pub role: Arc<Role>,
    /// The caller's workspaceMember record (none for an API key).
    pub member_id: Option<String>,
    /// Members of the caller's team and its sub-teams, the caller included.
    pub team_members: Arc<Vec<String>>,
}

fn nothing() -> Value {
    json!({ "id": { "in": [] } })
}

impl Access {
    /// Unrestricted: every right over every record.
    pub fn full() -> Access {
        Access {
            role: Arc::new(Role::admin()),
            member_id: None,
            team_members: Arc::new(Vec::new()),
        }
    }

    /// The filter records must match under `scope`; `None` when all may.
    pub fn filter(&self, scope: Scope) -> Option<Value> {
        match scope {
            Scope::All => None,
            Scope::None => Some(nothing()),
            Scope::Own => Some(match &self.member_id {
                Some(m) => json!({ "ownerId": { "eq": m } }),
                None => nothing(),
            }),
            Scope::Team => Some(json!({ "ownerId": { "in": self.team_members.as_slice() } })),
        }
    }

    /// Read scopes of every object that is not open to all.
    pub fn read_scopes(&self, catalog: &Catalog) -> Scopes {
        let mut scopes = Scopes::default();
        for o in catalog.objects() {
            if let Some(f) = self.filter(self.role.rights(&o.name).read) {
                scopes.objects.insert(o.name.clone(), f);
            }
        }
        scopes
    }

    /// The filter a write of kind `op` must stay within, or `FORBIDDEN`.
    pub fn write_filter(&self, object: &str, op: &str) -> Result<Option<Value>, Error> {
        let rights = self.role.rights(object);
        let scope = match op {
            "update" | "restore" => rights.update,
            "delete" => rights.delete,
            "destroy" => rights.destroy,
            _ => {
                if rights.create {
                    Scope::All
                } else {
                    Scope::None
                }
            }
        };
        if scope == Scope::None {
            return Err(Error::new(format!(
                "the `{}` role may not {op} {object} records",
                self.role.name
            ))
            .extend_with(|_, e| e.set("code", "FORBIDDEN")));
        }
        Ok(self.filter(scope))
    }
}

/// The catalog a role sees: objects it may not read are left out, with the
/// relations (and computed fields) that lead to them. `None` when it sees all.
pub fn catalog_view(catalog: &Catalog, role: &Role) -> Option<Catalog> {
    let hidden: Vec<&str> = catalog
        .objects()
        .iter()
        .filter(|o| role.rights(&o.name).read == Scope::None)
        .map(|o| o.name.as_str())
        .collect();
    if hidden.is_empty() {
        return None;
    }
    let mut objects: Vec<rapport_meta::ObjectDef> = catalog
        .objects()
        .iter()
        .filter(|o| !hidden.contains(&o.name.as_str()))
        .map(|o| {
            let mut o = o.clone();
            o.fields.retain(|f| {
                !f.generated
                    && f.relation
                        .as_ref()
                        .is_none_or(|r| !hidden.contains(&r.target.as_str()))
            });
            o
        })
        .collect();
    // Computed fields built on what is now hidden fail the catalog's checks: drop them.
    for _ in 0..64 {
        match Catalog::build(objects.clone()) {
            Ok(view) => return Some(view),
            Err(rapport_meta::MetaError::Invalid { path, .. }) => {
                let mut parts = path.split('/');
                let (Some(object), Some("properties"), Some(field)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return None;
                };
                let o = objects.iter_mut().find(|o| o.name == object)?;
                let before = o.fields.len();
                o.fields.retain(|f| f.name != field);
                if o.fields.len() == before {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    None
}
