//! Statements of plain reads, written once per document and reused. On a
//! record look-up with its child lists, writing the statement took about
//! a sixth of the server's CPU per request (`perf`, Q4 of the benchmark),
//! and an app sends the same few documents again and again.
//!
//! A statement is kept per query text, operation and record scope, in the
//! live schema it was written for, so a metadata change starts afresh.
//! It is kept only when the plan is the document's alone
//! ([`super::plan::Planner::varies`]): the one thing a request may change
//! is each root look-up's id, a parameter replaced on reuse. Plans a
//! variable shapes (a filter's value, a page size) are written each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::Name;
use rapport_meta::Catalog;
use rapport_query::{Layout, Scalar, Scopes, Sql, encode};
use sea_query::Value;

use super::plan::Root;
use super::rows::{self, RowPlan};
use super::statement;

/// Statements kept per live schema; the set starts over when full, as an
/// app has few documents and a flood of distinct ones is not worth keeping.
const MAX_KEPT: usize = 1000;

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
    fn of(catalog: &Catalog, layout: &Layout, roots: &[(Name, Root<'_>)]) -> Compiled {
        if let Some((sql, plan)) = rows::compile(catalog, layout, roots) {
            return Compiled::Rows(sql, plan);
        }
        match statement::compile(catalog, layout, roots) {
            Some(sql) => Compiled::Json(sql),
            None => Compiled::Neither,
        }
    }

    fn sql(&self) -> Option<&Sql> {
        match self {
            Compiled::Rows(sql, _) | Compiled::Json(sql) => Some(sql),
            Compiled::Neither => None,
        }
    }
}

/// One kept statement.
struct Kept {
    operation: Option<String>,
    scopes: Option<Arc<Scopes>>,
    compiled: Arc<Compiled>,
    /// The parameter holding each root look-up's id, in root order.
    ids: Vec<usize>,
}

/// The statements kept for one live schema.
#[derive(Default)]
pub struct Statements {
    kept: Mutex<Shelf>,
}

#[derive(Default)]
struct Shelf {
    by_query: HashMap<String, Vec<Kept>>,
    count: usize,
}

/// A read's statement, ready to run.
pub(crate) struct Ready {
    pub compiled: Arc<Compiled>,
    /// The statement with this request's ids; `None` for [`Compiled::Neither`].
    pub sql: Option<Sql>,
    /// Whether it was kept from an earlier request.
    pub reused: bool,
}

impl Statements {
    /// The statement for `roots`, planned from `query`'s `operation`:
    /// the kept one with this request's ids, or a new one (kept when it may
    /// be).
    pub(crate) fn ready(
        &self,
        query: &str,
        operation: Option<&str>,
        catalog: &Catalog,
        layout: &Layout,
        roots: &[(Name, Root<'_>)],
        varies: bool,
    ) -> Ready {
        // A look-up of a malformed id reads nothing: its statement differs.
        let ids: Option<Vec<&str>> = roots
            .iter()
            .filter_map(|(_, r)| match r {
                Root::Get { id, .. } => Some(id.as_deref()),
                _ => None,
            })
            .collect();
        let (Some(ids), false) = (ids, varies) else {
            return fresh(catalog, layout, roots);
        };
        let Some(values) = ids
            .iter()
            .map(|id| encode(layout.backend, Scalar::Uuid, &(*id).into()).ok())
            .collect::<Option<Vec<Value>>>()
        else {
            return fresh(catalog, layout, roots);
        };
        if let Some((compiled, at)) = self.find(query, operation, layout) {
            let sql = compiled.sql().map(|template| {
                let mut sql = template.clone();
                for (&i, value) in at.iter().zip(values) {
                    sql.params[i] = value;
                }
                sql
            });
            return Ready {
                compiled,
                sql,
                reused: true,
            };
        }
        let made = fresh(catalog, layout, roots);
        let at = match made.compiled.sql() {
            Some(sql) => match id_params(sql, &ids, &values) {
                Some(at) => at,
                None => return made,
            },
            None => Vec::new(),
        };
        self.keep(query, operation, layout, made.compiled.clone(), at);
        made
    }

    fn find(
        &self,
        query: &str,
        operation: Option<&str>,
        layout: &Layout,
    ) -> Option<(Arc<Compiled>, Vec<usize>)> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.by_query
            .get(query)?
            .iter()
            .find(|k| k.operation.as_deref() == operation && same_scopes(&k.scopes, &layout.scopes))
            .map(|k| (k.compiled.clone(), k.ids.clone()))
    }

    fn keep(
        &self,
        query: &str,
        operation: Option<&str>,
        layout: &Layout,
        compiled: Arc<Compiled>,
        ids: Vec<usize>,
    ) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.count >= MAX_KEPT {
            kept.by_query.clear();
            kept.count = 0;
        }
        let entries = kept.by_query.entry(query.to_string()).or_default();
        // Two requests may have written it at once.
        if entries
            .iter()
            .any(|k| k.operation.as_deref() == operation && same_scopes(&k.scopes, &layout.scopes))
        {
            return;
        }
        entries.push(Kept {
            operation: operation.map(str::to_string),
            scopes: layout.scopes.clone(),
            compiled,
            ids,
        });
        kept.count += 1;
    }
}

fn fresh(catalog: &Catalog, layout: &Layout, roots: &[(Name, Root<'_>)]) -> Ready {
    let compiled = Compiled::of(catalog, layout, roots);
    let sql = compiled.sql().cloned();
    Ready {
        compiled: Arc::new(compiled),
        sql,
        reused: false,
    }
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
    use rapport_query::Backend;

    fn uuid_param(id: &str) -> Value {
        encode(Backend::Postgres, Scalar::Uuid, &id.into()).expect("uuid")
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
}
