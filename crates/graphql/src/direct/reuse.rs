//! Plans and statements of plain reads, made once per document and
//! reused. On a record look-up with its child lists, planning the read
//! and writing its statement took about a quarter of the server's CPU per
//! request (`perf`, Q4 of the benchmark), and an app sends the same few
//! documents again and again.
//!
//! A plan and its statement are kept per query text, operation and record
//! scope, in the live schema they were made for, so a metadata change
//! starts afresh. They are kept only when the plan is the document's
//! alone ([`super::plan::Planner::varies`]): the one thing a request may
//! change is each root look-up's id, a parameter replaced on reuse. Plans
//! a variable shapes (a filter's value, a page size) are made each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition};
use async_graphql::{Name, Variables};
use rapport_meta::Catalog;
use rapport_query::{Backend, Layout, Scalar, Scopes, Sql, encode};
use sea_query::Value;
use yoke::{Yoke, Yokeable};

use super::Sight;
use super::plan::{Planner, Root};
use super::rows::{self, RowPlan};
use super::statement;

/// Plans kept per live schema (a few kilobytes each); the set starts over
/// when full, as an app has few documents and a flood of distinct ones is
/// not worth keeping. (64 workspaces are loaded at once by default.)
const MAX_KEPT: usize = 256;

/// A plan's root fields; their records borrow from the catalog.
#[derive(Yokeable)]
pub(crate) struct Roots<'c>(Vec<(Name, Root<'c>)>);

/// A read's plan, held with the catalog it borrows from, so that it can be
/// kept beyond the request.
pub(crate) struct Plan {
    roots: Yoke<Roots<'static>, Arc<Catalog>>,
    /// Relation slots the fetch path fills.
    pub slots: usize,
    varies: bool,
}

impl Plan {
    /// The plan of `op` for these variables; `None` when it is not a plain
    /// read.
    pub fn make(
        sight: &Sight<'_>,
        doc: &ExecutableDocument,
        op: &OperationDefinition,
        variables: &Variables,
    ) -> Option<Plan> {
        let (mut slots, mut varies) = (0, false);
        let roots = Yoke::try_attach_to_cart(sight.catalog.clone(), |catalog: &Catalog| {
            let mut planner = Planner::new(catalog, sight.masks, doc, op, variables);
            let roots = planner.roots(op).ok_or(())?;
            (slots, varies) = (planner.slots, planner.varies.get());
            Ok::<_, ()>(Roots(roots))
        })
        .ok()?;
        Some(Plan {
            roots,
            slots,
            varies,
        })
    }

    pub fn roots(&self) -> &[(Name, Root<'_>)] {
        &self.roots.get().0
    }
}

/// What a read compiles to.
pub(crate) enum Compiled {
    /// Root records as rows, written by the server ([`rows`]).
    Rows(Sql, RowPlan),
    /// The whole response built by the database ([`statement`]).
    Json(Sql),
    /// No one statement can answer: the fetch path does.
    Neither,
}

impl Compiled {
    /// With `constants`, the document's own values are written into the
    /// statement ([`Sql::constants`]).
    fn of(
        catalog: &Catalog,
        layout: &Layout,
        roots: &[(Name, Root<'_>)],
        constants: bool,
    ) -> Compiled {
        if let Some((sql, plan)) = rows::compile(catalog, layout, roots, constants) {
            return Compiled::Rows(sql, plan);
        }
        match statement::compile(catalog, layout, roots, constants) {
            Some(sql) => Compiled::Json(sql),
            None => Compiled::Neither,
        }
    }

    pub fn sql(&self) -> Option<&Sql> {
        match self {
            Compiled::Rows(sql, _) | Compiled::Json(sql) => Some(sql),
            Compiled::Neither => None,
        }
    }
}

/// A kept plan and statement.
pub(crate) struct Kept {
    operation: Option<String>,
    scopes: Option<Arc<Scopes>>,
    pub plan: Arc<Plan>,
    pub compiled: Arc<Compiled>,
    /// The parameter holding each root look-up's id, in root order.
    ids: Vec<usize>,
}

impl Kept {
    /// The kept statement with these ids (as [`Planner::root_ids`] gives
    /// them); `None` when one is not a UUID (its look-up needs no
    /// statement, so the statement differs).
    pub fn with_ids(&self, ids: &[Option<String>], backend: Backend) -> Option<Sql> {
        if ids.len() != self.ids.len() {
            return None;
        }
        let mut sql = self.compiled.sql()?.clone();
        for (&at, id) in self.ids.iter().zip(ids) {
            sql.params[at] = id_value(backend, id.as_deref()?)?;
        }
        Some(sql)
    }

    fn is_for(
        &self,
        operation: Option<&str>,
        scopes: &Option<Arc<Scopes>>,
        catalog: &Arc<Catalog>,
    ) -> bool {
        self.operation.as_deref() == operation
            && same_scopes(&self.scopes, scopes)
            && Arc::ptr_eq(self.plan.roots.backing_cart(), catalog)
    }
}

/// The plans and statements kept for one live schema.
#[derive(Default)]
pub struct Statements {
    kept: Mutex<Shelf>,
}

#[derive(Default)]
struct Shelf {
    by_query: HashMap<String, Vec<Arc<Kept>>>,
    count: usize,
}

impl Statements {
    /// What is kept for `query`'s `operation`, the caller's scopes and the
    /// catalog they see (their role's view: one per role definition).
    pub(crate) fn kept(
        &self,
        query: &str,
        operation: Option<&str>,
        layout: &Layout,
        catalog: &Arc<Catalog>,
    ) -> Option<Arc<Kept>> {
        let shelf = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        shelf
            .by_query
            .get(query)?
            .iter()
            .find(|k| k.is_for(operation, &layout.scopes, catalog))
            .cloned()
    }

    /// What a new `plan` of `query`'s `operation` compiles to, kept with
    /// the plan when they may be reused.
    pub(crate) fn compile(
        &self,
        query: &str,
        operation: Option<&str>,
        layout: &Layout,
        plan: &Arc<Plan>,
    ) -> Arc<Compiled> {
        let roots = plan.roots();
        // A plan no variable shapes holds only the document's values (and
        // look-up ids, which stay parameters).
        let constants = !plan.varies;
        let compiled = Arc::new(Compiled::of(
            plan.roots.backing_cart(),
            layout,
            roots,
            constants,
        ));
        // A look-up of a malformed id reads nothing: its statement differs.
        let ids: Option<Vec<&str>> = roots
            .iter()
            .filter_map(|(_, r)| match r {
                Root::Get { id, .. } => Some(id.as_deref()),
                _ => None,
            })
            .collect();
        let (Some(ids), false, Some(sql)) = (ids, plan.varies, compiled.sql()) else {
            return compiled;
        };
        let values: Option<Vec<Value>> =
            ids.iter().map(|id| id_value(layout.backend, id)).collect();
        let Some(at) = values.and_then(|values| id_params(sql, &ids, &values)) else {
            return compiled;
        };
        self.keep(
            query,
            Kept {
                operation: operation.map(str::to_string),
                scopes: layout.scopes.clone(),
                plan: plan.clone(),
                compiled: compiled.clone(),
                ids: at,
            },
        );
        compiled
    }

    fn keep(&self, query: &str, kept: Kept) {
        let mut shelf = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if shelf.count >= MAX_KEPT {
            shelf.by_query.clear();
            shelf.count = 0;
        }
        let entries = shelf.by_query.entry(query.to_string()).or_default();
        // Two requests may have made it at once.
        let catalog = kept.plan.roots.backing_cart();
        if entries
            .iter()
            .any(|k| k.is_for(kept.operation.as_deref(), &kept.scopes, catalog))
        {
            return;
        }
        entries.push(Arc::new(kept));
        shelf.count += 1;
    }
}

/// A look-up id as the statement binds it.
fn id_value(backend: Backend, id: &str) -> Option<Value> {
    encode(backend, Scalar::Uuid, &id.into()).ok()
}

fn same_scopes(a: &Option<Arc<Scopes>>, b: &Option<Arc<Scopes>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

/// The parameter holding each id, or `None` unless every id is in exactly
/// one parameter and nowhere in the text: only then is replacing those
/// parameters the same as writing the statement for other ids.
fn id_params(sql: &Sql, ids: &[&str], values: &[Value]) -> Option<Vec<usize>> {
    ids.iter()
        .zip(values)
        .map(|(id, value)| {
            let canonical = uuid::Uuid::parse_str(id).ok()?.to_string();
            if sql.text.contains(id) || sql.text.contains(&canonical) {
                return None;
            }
            let mut at = sql.params.iter().enumerate().filter(|(_, p)| *p == value);
            match (at.next(), at.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid_param(id: &str) -> Value {
        id_value(Backend::Postgres, id).expect("uuid")
    }

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";

    #[test]
    fn ids_are_found_only_where_replacing_them_is_safe() {
        let mut sql = Sql::new(Backend::Postgres);
        sql.push("SELECT 1 WHERE id = ")
            .param(Value::BigInt(Some(5)))
            .push(" AND x = ")
            .param(uuid_param(A))
            .push(" AND y = ")
            .param(uuid_param(B));
        let values = [uuid_param(A), uuid_param(B)];
        assert_eq!(id_params(&sql, &[A, B], &values), Some(vec![1, 2]));
        assert_eq!(id_params(&sql, &[B], &values[1..]), Some(vec![2]));

        // The same id twice: which parameter is the look-up's is unknown.
        let mut twice = sql.clone();
        twice.push(" AND z = ").param(uuid_param(A));
        assert_eq!(id_params(&twice, &[A], &values[..1]), None);

        // Written into the text: a parameter would not change it.
        let mut inline = Sql::new(Backend::Postgres);
        inline
            .push(&format!("SELECT 1 WHERE id = '{A}' AND w = "))
            .param(uuid_param(A));
        assert_eq!(id_params(&inline, &[A], &values[..1]), None);

        // Not a parameter at all.
        let none = Sql::new(Backend::Postgres);
        assert_eq!(id_params(&none, &[A], &values[..1]), None);
    }

    fn catalog() -> Arc<Catalog> {
        use rapport_meta::parse_document;
        use serde_json::json;
        let company = json!({ "type": "object", "x-rapport-object": { "name": "company", "pluralName": "companies" },
            "properties": { "name": { "type": "string" } } });
        let person = json!({ "type": "object", "x-rapport-object": { "name": "person", "pluralName": "people" },
            "properties": { "email": { "type": "string" }, "age": { "type": "integer" },
                "company": { "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "company", "inverse": "people" } } } });
        let objects = [company, person].map(|d| parse_document(&d).unwrap());
        Arc::new(Catalog::build(objects.into()).unwrap())
    }

    /// The statement kept for `query` (one operation) with `variables`.
    fn compiled(query: &str, variables: serde_json::Value) -> Arc<Compiled> {
        let catalog = catalog();
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let async_graphql::parser::types::DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation");
        };
        let variables = Variables::from_json(variables);
        let sight = Sight {
            catalog: &catalog,
            masks: &|_: &str, _: &str| false,
        };
        let plan = Arc::new(Plan::make(&sight, &doc, &op.node, &variables).expect("a plan"));
        let layout = Layout::new(Backend::Postgres, "ws");
        Statements::default().compile(query, None, &layout, &plan)
    }

    #[test]
    fn a_documents_own_values_are_written_in_and_variables_stay_bound() {
        let look_up = "query($id: ID!) { company(id: $id) { name
            people(first: 5, filter: { email: { eq: \"a@b.example\" }, age: { gt: 30 } }) { nodes { email } } } }";
        let kept = compiled(look_up, serde_json::json!({ "id": A }));
        let sql = kept.sql().expect("a statement");
        assert_eq!(sql.params, vec![uuid_param(A)], "{}", sql.text);
        assert!(sql.text.contains("'a@b.example'::text"), "{}", sql.text);
        assert!(sql.text.contains("'30'::int8"), "{}", sql.text);

        // The same read with the filter's value in a variable: each
        // request may differ, so the values are bound.
        let shaped = "query($id: ID!, $e: String!) { company(id: $id) { name
            people(first: 5, filter: { email: { eq: $e }, age: { gt: 30 } }) { nodes { email } } } }";
        let fresh = compiled(shaped, serde_json::json!({ "id": A, "e": "a@b.example" }));
        let sql = fresh.sql().expect("a statement");
        assert!(!sql.text.contains("a@b.example"), "{}", sql.text);
        assert!(
            sql.params
                .contains(&Value::String(Some("a@b.example".into()))),
            "{:?}",
            sql.params
        );
    }
}
