//! The SQL compiled for every statement shape and filter operator, per
//! database, as golden files: `tests/golden/<case>/request.json` says what
//! is compiled (and `role.json`, if present, the caller's record scopes);
//! `postgres.sql` and `sqlite.sql` hold the statement, pretty-printed, and
//! its parameters. The catalog is the standard objects (`schema/objects`)
//! and `tests/golden/vehicle.json`, which has a field of every type.
//!
//! A change here is a change in what requests send to the database: read the
//! diff as such. `RAPPORT_UPDATE_SNAPSHOTS=1 cargo test -p rapport-query
//! --test golden` rewrites the files.

use std::path::PathBuf;

use rapport_meta::{AggregateFn, Catalog, ObjectDef};
use rapport_query::{
    AggregateRequest, Backend, ChildLink, ConnectionQuery, DateGranularity, Filter, GroupByQuery,
    Layout, Order, QueryError, Scopes, Sql, aggregate_sql, children_sql, connection_sql, count_sql,
    encode_cursor, group_by_sql, records_by_ids_sql,
};
use serde_json::Value;

mod support;

use support::{catalog, golden_dir};

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    })
}

/// A list's query from the request's `query` member (the API's argument
/// names; `afterKeys` and `beforeKeys` are a cursor's values).
fn connection_query(
    catalog: &Catalog,
    object: &ObjectDef,
    q: &Value,
) -> Result<ConnectionQuery, QueryError> {
    let text = |k: &str| q.get(k).and_then(Value::as_str).map(str::to_string);
    let cursor = |k: &str| {
        q.get(k)
            .and_then(Value::as_array)
            .map(|keys| encode_cursor(keys))
    };
    Ok(ConnectionQuery {
        filter: filter(catalog, object, q)?,
        order_by: Order::parse_list(q.get("orderBy").unwrap_or(&Value::Null))?,
        search: text("search"),
        with_deleted: q.get("withDeleted").and_then(Value::as_bool) == Some(true),
        first: q.get("first").and_then(Value::as_i64),
        after: cursor("afterKeys"),
        last: q.get("last").and_then(Value::as_i64),
        before: cursor("beforeKeys"),
        computed: q.get("computed").and_then(strings),
        stored: q.get("stored").and_then(strings),
        ends_only: false,
    })
}

fn filter(catalog: &Catalog, object: &ObjectDef, q: &Value) -> Result<Option<Filter>, QueryError> {
    q.get("filter")
        .map(|f| Filter::parse(catalog, object, f, "filter"))
        .transpose()
}

fn aggregates(v: &Value) -> Vec<AggregateRequest> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|a| AggregateRequest {
            function: AggregateFn::parse(a["function"].as_str().expect("a function"))
                .expect("an aggregate function"),
            field: a.get("field").and_then(Value::as_str).map(str::to_string),
        })
        .collect()
}

fn scope(catalog: &Catalog, object: &str, filter: &Value) -> Filter {
    let object = catalog.object(object).expect("a scoped object");
    Filter::parse(catalog, object, filter, "scope").expect("a valid scope")
}

fn scopes(catalog: &Catalog, role: &Value) -> Scopes {
    Scopes {
        objects: role
            .get("objects")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), scope(catalog, k, v)))
                    .collect()
            })
            .unwrap_or_default(),
        unsearchable: role
            .get("unsearchable")
            .and_then(strings)
            .unwrap_or_default()
            .into_iter()
            .collect(),
    }
}

/// The statement a request compiles to on one database, or its refusal.
fn compile(catalog: &Catalog, layout: &Layout, request: &Value) -> Result<Sql, String> {
    let object = request["object"].as_str().expect("object");
    let obj = catalog.object(object).expect("a known object");
    let q = &request["query"];
    let refused = |e: QueryError| format!("{e:?}");
    match request["statement"].as_str().expect("statement") {
        "connection" => connection_query(catalog, obj, q)
            .and_then(|cq| connection_sql(catalog, layout, obj, &cq))
            .map(|p| p.sql)
            .map_err(refused),
        "children" => {
            let field = obj
                .field(request["field"].as_str().expect("field"))
                .expect("a list field");
            let (link, child) = ChildLink::of(catalog, layout, obj, field).expect("a list");
            let parents = strings(&request["parentIds"]).expect("parentIds");
            let child = catalog.object(&child).expect("the child object");
            connection_query(catalog, child, q)
                .and_then(|cq| children_sql(catalog, layout, child, &link, &parents, &cq))
                .map(|p| p.sql)
                .map_err(refused)
        }
        "count" => connection_query(catalog, obj, q)
            .and_then(|cq| {
                count_sql(
                    catalog,
                    layout,
                    obj,
                    cq.filter.as_ref(),
                    cq.search.as_deref(),
                    cq.with_deleted,
                )
            })
            .map_err(refused),
        "aggregate" => connection_query(catalog, obj, q)
            .and_then(|cq| {
                aggregate_sql(
                    catalog,
                    layout,
                    obj,
                    cq.filter.as_ref(),
                    cq.search.as_deref(),
                    &aggregates(&request["aggregates"]),
                )
            })
            .map(|(sql, _)| sql)
            .map_err(refused),
        "groupBy" => {
            let g = GroupByQuery {
                by: strings(&request["by"]).expect("by"),
                filter: match filter(catalog, obj, q) {
                    Ok(f) => f,
                    Err(e) => return Err(refused(e)),
                },
                granularity: DateGranularity::parse(
                    request["granularity"].as_str().unwrap_or("DAY"),
                )
                .expect("a granularity"),
                first: request["first"].as_i64().unwrap_or(100),
                aggregates: aggregates(&request["aggregates"]),
            };
            group_by_sql(catalog, layout, obj, &g)
                .map(|(sql, _, _)| sql)
                .map_err(refused)
        }
        "byIds" => records_by_ids_sql(
            catalog,
            layout,
            obj,
            &strings(&request["ids"]).expect("ids"),
            request["withDeleted"].as_bool() == Some(true),
            q.get("computed").and_then(strings).as_deref(),
            q.get("stored").and_then(strings).as_deref(),
        )
        .map(|(sql, _)| sql)
        .map_err(refused),
        other => panic!("unknown statement `{other}`"),
    }
}

/// Breaks a statement into lines: before each clause and condition, and
/// into an indented block for each sub-query. Quoted text is left whole.
fn pretty(text: &str) -> String {
    const BREAKS: &[&str] = &[
        " FROM ",
        " WHERE ",
        " AND ",
        " OR ",
        " ORDER BY ",
        " GROUP BY ",
        " LIMIT ",
        " LEFT JOIN ",
        " JOIN ",
        " UNION ALL ",
    ];
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = 0;
    let indent = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while i < text.len() {
        let c = text[i..].chars().next().expect("a char");
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += c.len_utf8();
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' if text[i + 1..].starts_with("SELECT ") => {
                depth += 1;
                out.push('(');
                indent(&mut out, depth);
                i += 1;
                continue;
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ' ' => {
                if let Some(b) = BREAKS.iter().find(|b| text[i..].starts_with(**b)) {
                    indent(&mut out, depth);
                    out.push_str(&b[1..]);
                    i += b.len();
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn rendered(result: Result<Sql, String>) -> String {
    match result {
        Ok(sql) => {
            let mut out = pretty(&sql.text);
            out.push('\n');
            for (i, p) in sql.params.iter().enumerate() {
                out.push_str(&format!("-- ${} = {p:?}\n", i + 1));
            }
            out
        }
        Err(refusal) => format!("-- refused: {refusal}\n"),
    }
}

#[test]
fn statements_match_their_golden_files() {
    let catalog = catalog();
    let update = std::env::var_os("RAPPORT_UPDATE_SNAPSHOTS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the golden cases are missing");
    let mut differ = Vec::new();
    for case in &cases {
        let read = |name: &str| -> Option<Value> {
            let text = std::fs::read_to_string(case.join(name)).ok()?;
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")))
        };
        let request =
            read("request.json").unwrap_or_else(|| panic!("{}: no request.json", case.display()));
        let role = read("role.json");
        for (backend, file) in [
            (Backend::Postgres, "postgres.sql"),
            (Backend::Sqlite, "sqlite.sql"),
        ] {
            let mut layout = Layout::new(backend, "ws_golden");
            if let Some(role) = &role {
                layout = layout.scoped(scopes(&catalog, role));
            }
            let got = rendered(compile(&catalog, &layout, &request));
            let path = case.join(file);
            if update {
                std::fs::write(&path, &got).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(got.as_str()) {
                differ.push(format!("{}:\n{got}", path.display()));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "SQL differs from its golden file (RAPPORT_UPDATE_SNAPSHOTS=1 rewrites them):\n\n{}",
        differ.join("\n")
    );
}

#[test]
fn pretty_printing_keeps_quoted_text_whole() {
    let text = r#"SELECT t0."a AND b" FROM "x" t0 WHERE t0."n" = ' AND ' AND t0."id" IN (SELECT 1 FROM y)"#;
    let printed = pretty(text);
    assert_eq!(
        printed,
        "SELECT t0.\"a AND b\"\nFROM \"x\" t0\nWHERE t0.\"n\" = ' AND '\nAND t0.\"id\" IN (\n  SELECT 1\n  FROM y)"
    );
}
