//! The authorization rules: what a caller may do — their role, the filters
//! that express the record scopes (`own`, `team`) and shares of each right,
//! the catalog their role sees, and what they see masked. Every frontend
//! (GraphQL, the command line, imports, files) asks here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rapport_meta::{Catalog, Computed};
use rapport_query::{Filter, Scopes, WriteOp};
use rapport_store::{FieldRight, Role, Scope, WriteGuard, WriteRule};
use serde_json::Value;

/// What the rules refuse; mapped to the contract's codes by each frontend.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AccessError {
    /// The role may not do this (`FORBIDDEN`); the reason is shown.
    #[error("{0}")]
    Forbidden(String),
}

#[derive(Debug, Clone)]
pub struct Access {
    pub role: Arc<Role>,
    /// The caller's workspaceMember record (none for an API key).
    pub member_id: Option<String>,
    /// Members of the caller's team and its sub-teams, the caller included.
    pub team_members: Arc<Vec<String>>,
    /// Records shared with the caller or their teams, by object.
    pub shared: Arc<HashMap<String, Shared>>,
    /// The catalog the role sees (`catalog_view`), when narrower than the
    /// workspace's: what records returned as JSON may show.
    pub view: Option<Arc<Catalog>>,
}

/// Ids of one object's records shared with the caller.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// Readable: every share.
    pub read: Vec<String>,
    /// Writable: shares with `write` access.
    pub write: Vec<String>,
}

impl Shared {
    /// Groups grants by object.
    pub fn by_object(grants: Vec<rapport_store::Grant>) -> HashMap<String, Shared> {
        let mut out: HashMap<String, Shared> = HashMap::new();
        for g in grants {
            let entry = out.entry(g.object).or_default();
            if g.access == rapport_store::ShareAccess::Write {
                entry.write.push(g.record_id.clone());
            }
            entry.read.push(g.record_id);
        }
        out
    }
}

impl Access {
    /// Unrestricted: every right over every record.
    pub fn full() -> Access {
        Access {
            role: Arc::new(Role::admin()),
            member_id: None,
            team_members: Arc::new(Vec::new()),
            shared: Arc::new(HashMap::new()),
            view: None,
        }
    }

    /// A scope's filter widened by what is shared (own and team scopes only:
    /// a share never grants what the role lacks on the object).
    fn widened(&self, object: &str, scope: Scope, write: bool) -> Option<Filter> {
        let base = self.filter(scope)?;
        if !matches!(scope, Scope::Own | Scope::Team) {
            return Some(base);
        }
        let ids = self
            .shared
            .get(object)
            .map(|s| if write { &s.write } else { &s.read })
            .filter(|ids| !ids.is_empty());
        Some(match ids {
            Some(ids) => Filter::any([base, Filter::one_of("id", ids.iter().cloned())]),
            None => base,
        })
    }

    /// The filter records must match under `scope`; `None` when all may.
    pub fn filter(&self, scope: Scope) -> Option<Filter> {
        match scope {
            Scope::All => None,
            Scope::None => Some(Filter::nothing()),
            Scope::Own => Some(match &self.member_id {
                Some(m) => Filter::eq("ownerId", m.as_str()),
                None => Filter::nothing(),
            }),
            Scope::Team => Some(Filter::one_of("ownerId", self.team_members.iter().cloned())),
        }
    }

    /// Read scopes of every object that is not open to all.
    pub fn read_scopes(&self, catalog: &Catalog) -> Scopes {
        let mut scopes = Scopes::default();
        // Runs on every request: where the role reads every record by
        // default, only the objects it names can be scoped.
        for name in objects_read_as(catalog, &self.role, |s| s != Scope::All) {
            if let Some(f) = self.widened(name, self.role.rights(name).read, false) {
                scopes.objects.insert(name.to_string(), f);
            }
        }
        for (o, f) in catalog.masked_fields() {
            if self.role.masks(&o.name, &f.name) {
                scopes.unsearchable.insert(format!("{}.{}", o.name, f.name));
            }
        }
        for (field, right) in &self.role.fields {
            if *right == FieldRight::None {
                scopes.unsearchable.insert(field.clone());
            }
        }
        scopes
    }

    /// Removes from a record (GraphQL-shaped JSON) what the role may not
    /// read, and masks what it may read only masked. Values may be history
    /// pairs `[old, new]`: each side is masked.
    pub fn redact(
        &self,
        catalog: &Catalog,
        object: &str,
        record: &mut serde_json::Map<String, Value>,
    ) {
        if let Some(o) = catalog.object(object) {
            for f in o
                .fields
                .iter()
                .filter(|f| f.masked && self.role.masks(object, &f.name))
            {
                match record.get_mut(&f.name) {
                    Some(Value::String(text)) => *text = mask(text),
                    Some(Value::Array(pair)) => {
                        for side in pair.iter_mut() {
                            if let Value::String(text) = side {
                                *text = mask(text);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // What the role's catalog does not have — hidden fields, relations
        // to hidden objects, computed fields built on hidden or masked
        // fields — is left out.
        if self.view.is_some() {
            record.retain(|key, _| self.shows(object, key));
        }
    }

    /// Whether the role's catalog has `key` of `object`: a field, a
    /// relation's `…Id`, or a system field.
    fn shows(&self, object: &str, key: &str) -> bool {
        let Some(view) = &self.view else {
            return true;
        };
        if rapport_meta::SYSTEM_FIELDS.contains(&key) {
            return true;
        }
        let Some(o) = view.object(object) else {
            return false;
        };
        o.field(key).is_some()
            || key
                .strip_suffix("Id")
                .and_then(|f| o.field(f))
                .is_some_and(|f| f.relation.is_some())
    }

    /// Whether the role reads `object.field` as it is stored: not hidden,
    /// not masked.
    pub fn sees_clear(&self, catalog: &Catalog, object: &str, field: &str) -> bool {
        let masked = catalog
            .object(object)
            .and_then(|o| o.field(field))
            .is_some_and(|f| f.masked && self.role.masks(object, field));
        !masked && self.shows(object, field)
    }

    /// The first key of a record to create (an import's line) that names
    /// a field the role may not write: hidden, read-only, or a relation to
    /// an object it cannot read. Such a field is absent from the role's
    /// create input, so imports refuse it as `create` does.
    pub fn unwritable<'a>(
        &self,
        catalog: &Catalog,
        object: &str,
        record: &'a serde_json::Map<String, Value>,
    ) -> Option<&'a str> {
        let o = catalog.object(object)?;
        record.keys().map(String::as_str).find(|key| {
            let field = o.field(key).or_else(|| {
                key.strip_suffix("Ids")
                    .or_else(|| key.strip_suffix("Id"))
                    .and_then(|base| o.field(base))
                    .filter(|f| f.relation.is_some())
            });
            let Some(f) = field else { return false };
            let writable_in_view = match &self.view {
                None => true,
                Some(view) => view
                    .object(object)
                    .and_then(|v| v.field(&f.name))
                    .is_some_and(|v| !v.read_only),
            };
            self.role.field(object, &f.name) != FieldRight::Write || !writable_in_view
        })
    }

    /// Leaves in a record to match against (`findDuplicates`) only the
    /// fields the role sees clear: a match on a hidden or masked field
    /// would tell its value.
    pub fn matchable(
        &self,
        catalog: &Catalog,
        object: &str,
        data: &mut serde_json::Map<String, Value>,
    ) {
        data.retain(|key, _| self.sees_clear(catalog, object, key));
    }

    /// The caller's write rights over every object, for business operations.
    pub fn write_guard(&self, catalog: &Catalog) -> WriteGuard {
        let mut guard = WriteGuard {
            owner: self.member_id.clone(),
            ..Default::default()
        };
        if self.role.admin {
            return guard;
        }
        for o in catalog.objects() {
            for op in [WriteOp::Create, WriteOp::Update, WriteOp::Delete] {
                let rule = match self.write_filter(&o.name, op) {
                    Ok(None) => continue,
                    Ok(Some(filter)) => WriteRule::Within(filter),
                    Err(AccessError::Forbidden(reason)) => WriteRule::Denied(reason),
                };
                guard.rules.insert((o.name.clone(), op), rule);
            }
        }
        guard
    }

    /// The filter a write of kind `op` must stay within, or `FORBIDDEN`.
    pub fn write_filter(&self, object: &str, op: WriteOp) -> Result<Option<Filter>, AccessError> {
        let rights = self.role.rights(object);
        // An object the role may not read is not the role's to write.
        let scope = match op {
            _ if rights.read == Scope::None => Scope::None,
            WriteOp::Update | WriteOp::Restore => rights.update,
            WriteOp::Delete => rights.delete,
            WriteOp::Destroy => rights.destroy,
            WriteOp::Create if rights.create => Scope::All,
            WriteOp::Create => Scope::None,
        };
        if scope == Scope::None {
            return Err(AccessError::Forbidden(format!(
                "the `{}` role may not {op} {object} records",
                self.role.name
            )));
        }
        Ok(match op {
            WriteOp::Update | WriteOp::Restore => self.widened(object, scope, true),
            // Deleting stays with the record scope: a share never grants it.
            _ => self.filter(scope),
        })
    }
}

/// The catalog's objects whose read scope for `role` passes `wanted`. When
/// the role's default does not, only the objects it names can: a big
/// catalog's objects are not walked on every request.
fn objects_read_as<'a>(
    catalog: &'a Catalog,
    role: &'a Role,
    wanted: impl Fn(Scope) -> bool,
) -> Vec<&'a str> {
    let names: Box<dyn Iterator<Item = &'a str>> = if wanted(role.default.read) {
        Box::new(catalog.objects().iter().map(|o| o.name.as_str()))
    } else {
        Box::new(
            role.objects
                .keys()
                .filter(|name| catalog.object(name).is_some())
                .map(String::as_str),
        )
    };
    names
        .filter(|name| wanted(role.rights(name).read))
        .collect()
}

/// The catalog a role sees: objects and fields it may not read are left out,
/// with the relations (and computed fields) that lead to them; fields it may
/// only read become read-only. `Ok(None)` when it sees everything; an error
/// (never a silent fallback to the full schema) when no view can be built.
pub fn catalog_view(catalog: &Catalog, role: &Role) -> Result<Option<Catalog>, String> {
    let hidden = objects_read_as(catalog, role, |s| s == Scope::None);
    let masks = catalog
        .masked_fields()
        .any(|(o, f)| role.masks(&o.name, &f.name));
    if hidden.is_empty() && role.fields.is_empty() && !masks {
        return Ok(None);
    }
    let mut objects: Vec<rapport_meta::ObjectDef> = catalog
        .objects()
        .iter()
        .filter(|o| !hidden.contains(&o.name.as_str()))
        .map(|o| {
            let mut o = o.clone();
            let name = o.name.clone();
            o.fields.retain(|f| {
                !f.generated
                    && f.relation
                        .as_ref()
                        .is_none_or(|r| !hidden.contains(&r.target.as_str()))
                    && role.field(&name, &f.name) != FieldRight::None
            });
            for f in o.fields.iter_mut() {
                if role.field(&name, &f.name) == FieldRight::Read {
                    f.read_only = true;
                }
                if f.masked && role.masks(&name, &f.name) {
                    f.filterable = false;
                }
            }
            let kept: Vec<String> = o.fields.iter().map(|f| f.name.clone()).collect();
            if o.title_field.as_ref().is_some_and(|t| !kept.contains(t)) {
                o.title_field = None;
            }
            o.search_fields.retain(|s| kept.contains(s));
            if let Some(Value::Array(sets)) = o.extra.get_mut("duplicateCriteria") {
                sets.retain(|set| {
                    set.as_array().is_some_and(|names| {
                        names
                            .iter()
                            .all(|n| n.as_str().is_some_and(|n| kept.iter().any(|k| k == n)))
                    })
                });
            }
            o
        })
        .collect();
    // A computed field that reads a field the role sees only masked would
    // show it clear (or let filters and orderings guess it): hidden too.
    let masked: HashSet<(&str, &str)> = catalog
        .masked_fields()
        .filter(|(o, f)| role.masks(&o.name, &f.name))
        .map(|(o, f)| (o.name.as_str(), f.name.as_str()))
        .collect();
    if !masked.is_empty() {
        let reading: Vec<(String, String)> = objects
            .iter()
            .flat_map(|o| o.fields.iter().map(move |f| (o, f)))
            .filter(|(o, f)| reads_masked(catalog, o, f, &masked))
            .map(|(o, f)| (o.name.clone(), f.name.clone()))
            .collect();
        for o in objects.iter_mut() {
            o.fields
                .retain(|f| !reading.contains(&(o.name.clone(), f.name.clone())));
        }
    }
    // Computed fields built on what is now hidden fail the catalog's checks
    // (a formula of a dropped formula too): drop them until none does.
    for _ in 0..64 {
        match Catalog::build(objects.clone()) {
            Ok(view) => return Ok(Some(view)),
            Err(rapport_meta::MetaError::Invalid { path, reason }) => {
                let mut parts = path.split('/');
                let (Some(object), Some("properties"), Some(field)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!("{path}: {reason}"));
                };
                let o = objects
                    .iter_mut()
                    .find(|o| o.name == object)
                    .ok_or_else(|| format!("{path}: {reason}"))?;
                let before = o.fields.len();
                o.fields.retain(|f| f.name != field);
                if o.fields.len() == before {
                    return Err(format!("{path}: {reason}"));
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the role's view does not settle".into())
}

/// Whether a computed field reads (through its relations) a field in
/// `masked`.
fn reads_masked(
    catalog: &Catalog,
    object: &rapport_meta::ObjectDef,
    field: &rapport_meta::FieldDef,
    masked: &HashSet<(&str, &str)>,
) -> bool {
    match &field.computed {
        Some(Computed::Formula { expression, .. }) => {
            let mut paths = Vec::new();
            rapport_meta::formula_paths(expression, &mut paths);
            paths.iter().any(|path| {
                let mut at = Some(object);
                for segment in path {
                    let Some(o) = at else { return false };
                    if masked.contains(&(o.name.as_str(), segment.as_str())) {
                        return true;
                    }
                    at = o
                        .field(segment)
                        .and_then(|f| f.relation.as_ref())
                        .and_then(|r| catalog.object(&r.target));
                }
                false
            })
        }
        Some(Computed::Rollup {
            relation,
            field: measured,
            filter,
            ..
        }) => {
            let Some(child) = object
                .field(relation)
                .and_then(|f| f.relation.as_ref())
                .and_then(|r| catalog.object(&r.target))
            else {
                return false;
            };
            let mut names: Vec<&str> = measured.iter().map(String::as_str).collect();
            if let Some(filter) = filter {
                filter_keys(filter, &mut names);
            }
            names
                .iter()
                .any(|n| masked.contains(&(child.name.as_str(), n)))
        }
        _ => false,
    }
}

/// Every key of a filter document, at any depth (field names among them).
fn filter_keys<'a>(filter: &'a Value, out: &mut Vec<&'a str>) {
    let mut stack = vec![filter];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k);
                    stack.push(v);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

/// `+1 555 010 0199` → `+15*******199`; `ada@example.com` → `a***@example.com`.
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let keep_start = 3.min(chars.len() / 4);
    let keep_end = 4.min(chars.len() / 3);
    let mut out: String = chars[..keep_start].iter().collect();
    out.push_str(&"*".repeat(chars.len() - keep_start - keep_end));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}
