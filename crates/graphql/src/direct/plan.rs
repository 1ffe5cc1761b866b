//! What a read document asks for, worked out against the catalog: the
//! records' fields, the relations to fetch, the arguments of each list.
//! Anything outside the plain read subset yields `None`, and the request
//! goes to the full executor.

use async_graphql::Variables;
use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
    VariableDefinition,
};
use async_graphql::{Name, Positioned, Value as GqlValue};
use rapport_meta::{Catalog, FieldType, ObjectDef, RelationKind};
use rapport_query::ConnectionQuery;
use serde_json::Value;

use crate::arguments;
use crate::resolve::shown;
use crate::shared_types::{ADDRESS_PARTS, CURRENCY_PARTS, FULL_NAME_PARTS};

/// One root field of the operation.
pub(crate) enum Root<'c> {
    Typename,
    /// `company(id:)`; `None` when the id is not a UUID (answers null).
    Get {
        object: &'c ObjectDef,
        id: Option<String>,
        sel: RecordSel<'c>,
    },
    /// `companies(…)`.
    List {
        object: &'c ObjectDef,
        query: Box<ConnectionQuery>,
        conn: ConnSel<'c>,
    },
}

/// A selection on records of one object.
pub(crate) struct RecordSel<'c> {
    pub object: &'c ObjectDef,
    pub type_name: String,
    pub items: Vec<(Name, Item<'c>)>,
    /// What the selection reads: computed fields, stored values.
    pub computed: Vec<String>,
    pub stored: Vec<String>,
}

pub(crate) enum Item<'c> {
    Typename,
    Value {
        key: String,
        required: bool,
        /// Enum values the value (or each list item) must be one of.
        options: Option<&'c [rapport_meta::SelectOption]>,
        /// Shown masked to the caller (`access::mask`).
        masked: bool,
    },
    Members {
        key: String,
        members: Vec<(Name, Member)>,
    },
    CreatedBy(Vec<(Name, Member)>),
    ToOne {
        id_key: String,
        sel: RecordSel<'c>,
        slot: usize,
    },
    List {
        field: String,
        query: Box<ConnectionQuery>,
        conn: ConnSel<'c>,
        slot: usize,
    },
}

/// A member of a composite value (or of `createdBy`).
pub(crate) enum Member {
    Typename(&'static str),
    Part { key: &'static str, required: bool },
}

pub(crate) struct ConnSel<'c> {
    pub type_name: String,
    pub items: Vec<(Name, ConnItem<'c>)>,
}

impl ConnSel<'_> {
    /// `CompanyEdge` for `CompanyConnection`.
    pub fn edge_type_name(&self) -> String {
        format!("{}Edge", self.type_name.trim_end_matches("Connection"))
    }
}

pub(crate) enum ConnItem<'c> {
    Typename,
    Nodes(RecordSel<'c>),
    Edges(Vec<(Name, EdgeItem<'c>)>),
    PageInfo(Vec<(Name, Info)>),
    TotalCount,
}

pub(crate) enum EdgeItem<'c> {
    Typename,
    Cursor,
    Node(RecordSel<'c>),
}

pub(crate) enum Info {
    Typename,
    HasNext,
    HasPrevious,
    Start,
    End,
}

/// The fields of one selection set, fragments flattened; `None` on what
/// the plan does not cover (directives, other type conditions, a response
/// key given twice, which would need field merging).
fn flatten<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    type_name: &str,
    out: &mut Vec<&'d Positioned<Field>>,
    depth: usize,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                if !f.node.directives.is_empty() {
                    return None;
                }
                out.push(f);
            }
            Selection::FragmentSpread(spread) => {
                if !spread.node.directives.is_empty() {
                    return None;
                }
                let frag = doc.fragments.get(&spread.node.fragment_name.node)?;
                if !frag.node.directives.is_empty()
                    || frag.node.type_condition.node.on.node != type_name
                {
                    return None;
                }
                flatten(
                    doc,
                    &frag.node.selection_set.node,
                    type_name,
                    out,
                    depth + 1,
                )?;
            }
            Selection::InlineFragment(inline) => {
                if !inline.node.directives.is_empty()
                    || inline
                        .node
                        .type_condition
                        .as_ref()
                        .is_some_and(|c| c.node.on.node != type_name)
                {
                    return None;
                }
                flatten(
                    doc,
                    &inline.node.selection_set.node,
                    type_name,
                    out,
                    depth + 1,
                )?;
            }
        }
    }
    Some(())
}

fn fields_of<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    type_name: &str,
) -> Option<Vec<&'d Positioned<Field>>> {
    let mut out = Vec::new();
    flatten(doc, set, type_name, &mut out, 0)?;
    // A selection has a few fields: comparing them pairwise is cheaper
    // than hashing each (planning runs on every request).
    for (i, f) in out.iter().enumerate() {
        let key = &f.node.response_key().node;
        if out[..i].iter().any(|g| g.node.response_key().node == *key) {
            return None;
        }
    }
    Some(out)
}

/// Which fields the caller sees only masked: `(object, field)`.
pub type Masks<'m> = &'m (dyn Fn(&str, &str) -> bool + Sync);

/// Builds plans: the document, the caller's variables, the catalog (the
/// caller's view of it) and what the caller sees masked.
pub(crate) struct Planner<'c, 'd> {
    catalog: &'c Catalog,
    masks: Masks<'d>,
    doc: &'d ExecutableDocument,
    variables: &'d Variables,
    definitions: &'d [Positioned<VariableDefinition>],
    pub slots: usize,
    /// Whether a variable shaped the plan anywhere but in a root look-up's
    /// id: then the plan, and its statement, hold for these variables only
    /// (see [`super::reuse`]).
    pub varies: std::cell::Cell<bool>,
}

impl<'c, 'd> Planner<'c, 'd> {
    pub fn new(
        catalog: &'c Catalog,
        masks: Masks<'d>,
        doc: &'d ExecutableDocument,
        op: &'d OperationDefinition,
        variables: &'d Variables,
    ) -> Self {
        Planner {
            catalog,
            masks,
            doc,
            variables,
            definitions: &op.variable_definitions,
            slots: 0,
            varies: Default::default(),
        }
    }

    /// The operation's root fields, or `None` when it is not a plain read.
    pub fn roots(&mut self, op: &'d OperationDefinition) -> Option<Vec<(Name, Root<'c>)>> {
        if !op.directives.is_empty() || !op.variable_definitions.iter().all(plain_variable) {
            return None;
        }
        let mut roots = Vec::new();
        for f in fields_of(self.doc, &op.selection_set.node, "Query")? {
            let key = f.node.response_key().node.clone();
            let name = f.node.name.node.as_str();
            if name == "__typename" {
                roots.push((key, Root::Typename));
                continue;
            }
            if let Some(object) = self.catalog.objects().iter().find(|o| o.name == name) {
                let id = self.root_id(&f.node)?;
                let sel = self.record_sel(object, &f.node.selection_set.node)?;
                roots.push((key, Root::Get { object, id, sel }));
            } else if let Some(object) = self
                .catalog
                .objects()
                .iter()
                .find(|o| o.plural_name == name)
            {
                let args = self.args(&f.node, ROOT_LIST_ARGS)?;
                let conn = self.conn_sel(object, &f.node.selection_set.node)?;
                let query = list_query(self.catalog, object, args, &conn)?;
                roots.push((
                    key,
                    Root::List {
                        object,
                        query,
                        conn,
                    },
                ));
            } else {
                return None;
            }
        }
        Some(roots)
    }

    /// Each root look-up's id, in root order, as [`Planner::roots`] would
    /// plan them; `None` where it would decline.
    pub fn root_ids(&self, op: &'d OperationDefinition) -> Option<Vec<Option<String>>> {
        let mut ids = Vec::new();
        for f in fields_of(self.doc, &op.selection_set.node, "Query")? {
            let name = f.node.name.node.as_str();
            if self.catalog.objects().iter().any(|o| o.name == name) {
                ids.push(self.root_id(&f.node)?);
            }
        }
        Some(ids)
    }

    /// A root look-up's id: `None` to decline, `Some(None)` when it is not
    /// a UUID (the look-up answers null).
    fn root_id(&self, field: &Field) -> Option<Option<String>> {
        // The id is the statement's parameter: a variable there leaves
        // the plan the same for any value.
        let varied = self.varies.get();
        let args = self.args(field, &["id"]);
        self.varies.set(varied);
        let id = match args?.get("id") {
            Some(Value::String(id)) => id.clone(),
            _ => return None,
        };
        Some(uuid::Uuid::parse_str(&id).is_ok().then_some(id))
    }

    /// A field's arguments as JSON, variables substituted; `None` for an
    /// argument the plan does not know or a value it does not take as is.
    fn args(&self, field: &Field, allowed: &[&str]) -> Option<serde_json::Map<String, Value>> {
        let mut out = serde_json::Map::new();
        for (name, value) in &field.arguments {
            if !allowed.contains(&name.node.as_str()) {
                return None;
            }
            let value = value
                .node
                .clone()
                .into_const_with(|var| self.variable(&var).ok_or(()))
                .ok()?;
            let json = value.into_json().ok()?;
            // GraphQL turns an Int literal into an ID string; the plan does not.
            if name.node == "filter" && has_number_id(&json) {
                return None;
            }
            out.insert(name.node.to_string(), json);
        }
        Some(out)
    }

    /// A variable's value; `None` when absent without a default and not
    /// nullable, or of a type the plan does not coerce.
    fn variable(&self, name: &Name) -> Option<GqlValue> {
        self.varies.set(true);
        let def = self
            .definitions
            .iter()
            .find(|d| d.node.name.node == *name)?;
        let value = match self.variables.get(name) {
            Some(v) => v.clone(),
            None => match &def.node.default_value {
                Some(d) => d.node.clone(),
                None => GqlValue::Null,
            },
        };
        let ty = &def.node.var_type.node;
        let BaseType::Named(base) = &ty.base else {
            return None;
        };
        let fits = match (&value, base.as_str()) {
            (GqlValue::Null, _) => ty.nullable,
            (GqlValue::String(_), "ID" | "String") => true,
            (GqlValue::Number(n), "Int") => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            (GqlValue::Boolean(_), "Boolean") => true,
            _ => false,
        };
        fits.then_some(value)
    }

    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn record_sel(
        &mut self,
        object: &'c ObjectDef,
        set: &'d SelectionSet,
    ) -> Option<RecordSel<'c>> {
        let type_name = object.type_name();
        let fields = fields_of(self.doc, set, &type_name)?;
        let mut items = Vec::with_capacity(fields.len());
        for f in &fields {
            let item = self.record_item(object, &f.node)?;
            items.push((f.node.response_key().node.clone(), item));
        }
        let shown = shown(object, |n| fields.iter().any(|f| f.node.name.node == n));
        Some(RecordSel {
            object,
            type_name,
            items,
            computed: shown.computed,
            stored: shown.stored,
        })
    }

    fn record_item(&mut self, object: &'c ObjectDef, f: &'d Field) -> Option<Item<'c>> {
        let name = f.name.node.as_str();
        let value = |key: &str, required: bool| Item::Value {
            key: key.to_string(),
            required,
            options: None,
            masked: false,
        };
        match name {
            "__typename" => return Some(Item::Typename),
            "id" | "createdAt" | "updatedAt" | "version" => return Some(value(name, true)),
            "deletedAt" | "ownerId" => return Some(value(name, false)),
            "createdBy" => {
                let members = members(self.doc, &f.selection_set.node, "Actor", ACTOR_PARTS)?;
                return Some(Item::CreatedBy(members));
            }
            "owner" => {
                let target = self.catalog.object("workspaceMember")?;
                let sel = self.record_sel(target, &f.selection_set.node)?;
                let slot = self.slot();
                return Some(Item::ToOne {
                    id_key: "ownerId".into(),
                    sel,
                    slot,
                });
            }
            _ => {}
        }
        // `companyId`, `relatedObject`, `relatedId`: a relation's stored side.
        let stored_side = |suffix: &str, kinds: &[RelationKind]| {
            name.strip_suffix(suffix)
                .and_then(|base| object.field(base))
                .and_then(|d| d.relation_kind())
                .is_some_and(|k| kinds.contains(&k))
        };
        if stored_side("Id", &[RelationKind::ManyToOne, RelationKind::Polymorphic])
            || stored_side("Object", &[RelationKind::Polymorphic])
        {
            return Some(value(name, false));
        }
        let def = object.field(name)?;
        match def.relation.as_ref().map(|r| (r.kind, r.target.as_str())) {
            Some((RelationKind::ManyToOne, target)) => {
                let target = self.catalog.object(target)?;
                let sel = self.record_sel(target, &f.selection_set.node)?;
                let slot = self.slot();
                Some(Item::ToOne {
                    id_key: format!("{name}Id"),
                    sel,
                    slot,
                })
            }
            // A polymorphic link shows only its stored side.
            Some((RelationKind::Polymorphic, _)) => None,
            Some((_, target)) => {
                let target = self.catalog.object(target)?;
                let args = self.args(f, CHILD_LIST_ARGS)?;
                let conn = self.conn_sel(target, &f.selection_set.node)?;
                let query = list_query(self.catalog, target, args, &conn)?;
                let slot = self.slot();
                Some(Item::List {
                    field: def.name.clone(),
                    query,
                    conn,
                    slot,
                })
            }
            None => {
                if let Some(composite) = def.field_type.composite() {
                    let parts = match composite.type_name() {
                        "Currency" => CURRENCY_PARTS,
                        "Address" => ADDRESS_PARTS,
                        _ => FULL_NAME_PARTS,
                    };
                    let members = members(
                        self.doc,
                        &f.selection_set.node,
                        composite.type_name(),
                        parts,
                    )?;
                    return Some(Item::Members {
                        key: def.name.clone(),
                        members,
                    });
                }
                let enumerated =
                    matches!(def.value_type(), FieldType::Select | FieldType::MultiSelect);
                Some(Item::Value {
                    key: def.name.clone(),
                    required: false,
                    options: enumerated.then_some(def.options.as_slice()),
                    masked: def.masked && (self.masks)(&object.name, &def.name),
                })
            }
        }
    }

    fn conn_sel(&mut self, object: &'c ObjectDef, set: &'d SelectionSet) -> Option<ConnSel<'c>> {
        let type_name = format!("{}Connection", object.type_name());
        let mut items = Vec::new();
        for f in fields_of(self.doc, set, &type_name)? {
            let key = f.node.response_key().node.clone();
            if !f.node.arguments.is_empty() {
                return None;
            }
            let item = match f.node.name.node.as_str() {
                "__typename" => ConnItem::Typename,
                "totalCount" => ConnItem::TotalCount,
                "nodes" => ConnItem::Nodes(self.record_sel(object, &f.node.selection_set.node)?),
                "pageInfo" => {
                    let mut info = Vec::new();
                    for p in fields_of(self.doc, &f.node.selection_set.node, "PageInfo")? {
                        let part = match p.node.name.node.as_str() {
                            "__typename" => Info::Typename,
                            "hasNextPage" => Info::HasNext,
                            "hasPreviousPage" => Info::HasPrevious,
                            "startCursor" => Info::Start,
                            "endCursor" => Info::End,
                            _ => return None,
                        };
                        info.push((p.node.response_key().node.clone(), part));
                    }
                    ConnItem::PageInfo(info)
                }
                "edges" => {
                    let edge_type = format!("{}Edge", object.type_name());
                    let mut edge = Vec::new();
                    for e in fields_of(self.doc, &f.node.selection_set.node, &edge_type)? {
                        let part = match e.node.name.node.as_str() {
                            "__typename" => EdgeItem::Typename,
                            "cursor" => EdgeItem::Cursor,
                            "node" => {
                                EdgeItem::Node(self.record_sel(object, &e.node.selection_set.node)?)
                            }
                            _ => return None,
                        };
                        edge.push((e.node.response_key().node.clone(), part));
                    }
                    ConnItem::Edges(edge)
                }
                _ => return None,
            };
            items.push((key, item));
        }
        Some(ConnSel { type_name, items })
    }
}

const ROOT_LIST_ARGS: &[&str] = &[
    "filter",
    "orderBy",
    "first",
    "after",
    "last",
    "before",
    "search",
    "withDeleted",
];
const CHILD_LIST_ARGS: &[&str] = &[
    "filter",
    "orderBy",
    "first",
    "after",
    "search",
    "withDeleted",
];

/// `createdBy`'s members, shaped like the composites' parts.
const ACTOR_PARTS: &[(&str, &str, &str)] = &[("kind", "String", ""), ("name", "String", "")];

/// Members of a composite (or `createdBy`) selection.
fn members(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    type_name: &'static str,
    parts: &'static [(&'static str, &'static str, &'static str)],
) -> Option<Vec<(Name, Member)>> {
    let mut out = Vec::new();
    for f in fields_of(doc, set, type_name)? {
        let name = f.node.name.node.as_str();
        let member = if name == "__typename" {
            Member::Typename(type_name)
        } else {
            let (key, _, _) = parts.iter().find(|(p, _, _)| *p == name)?;
            Member::Part {
                key,
                // Currency's parts and the actor's are non-null.
                required: matches!(type_name, "Currency" | "Actor"),
            }
        };
        out.push((f.node.response_key().node.clone(), member));
    }
    Some(out)
}

/// A list's query: its arguments, and what its pages show; `None` (the plan
/// declines) when the arguments are refused, so the fetch path answers
/// with the error.
fn list_query(
    catalog: &Catalog,
    object: &ObjectDef,
    args: serde_json::Map<String, Value>,
    conn: &ConnSel<'_>,
) -> Option<Box<ConnectionQuery>> {
    let mut q = arguments::list_query(catalog, object, &Value::Object(args)).ok()?;
    // Filters were read against the caller's view; orderings are checked
    // on it too (a hidden or masked field cannot order what they see).
    if !q.order_by.is_empty() {
        let layout = rapport_query::Layout::new(rapport_query::Backend::Sqlite, "");
        rapport_query::order_keys(catalog, &layout, object, &q.order_by).ok()?;
    }
    let mut computed: Vec<String> = Vec::new();
    let mut stored: Vec<String> = Vec::new();
    let mut add = |sel: &RecordSel<'_>| {
        for c in &sel.computed {
            if !computed.contains(c) {
                computed.push(c.clone());
            }
        }
        for s in &sel.stored {
            if !stored.contains(s) {
                stored.push(s.clone());
            }
        }
    };
    for (_, item) in &conn.items {
        match item {
            ConnItem::Nodes(sel) => add(sel),
            ConnItem::Edges(edge) => {
                for (_, e) in edge {
                    if let EdgeItem::Node(sel) = e {
                        add(sel);
                    }
                }
            }
            _ => {}
        }
    }
    q.computed = Some(computed);
    q.stored = Some(stored);
    q.ends_only = !conn.items.iter().any(|(_, item)| match item {
        ConnItem::Edges(edge) => edge.iter().any(|(_, e)| matches!(e, EdgeItem::Cursor)),
        _ => false,
    });
    Some(Box::new(q))
}

/// Variables the plan takes as they come: scalars it need not coerce.
fn plain_variable(def: &Positioned<VariableDefinition>) -> bool {
    let def = &def.node;
    def.directives.is_empty()
        && matches!(&def.var_type.node.base, BaseType::Named(n)
            if matches!(n.as_str(), "ID" | "String" | "Int" | "Boolean"))
}

/// Whether a filter compares an id with a number (`id: { eq: 5 }`), which
/// GraphQL would first turn into the string "5".
fn has_number_id(filter: &Value) -> bool {
    match filter {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let id_key = k == "id" || k.ends_with("Id");
            (id_key && contains_number(v)) || has_number_id(v)
        }),
        Value::Array(a) => a.iter().any(has_number_id),
        _ => false,
    }
}

fn contains_number(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        Value::Object(m) => m.values().any(contains_number),
        Value::Array(a) => a.iter().any(contains_number),
        _ => false,
    }
}
