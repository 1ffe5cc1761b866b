//! Big schemas and many tenants, in memory: how long a workspace of
//! `objects` × `fields` takes to become a GraphQL schema, and how much
//! memory `tenants` workspaces' schemas hold when all are loaded at once.

use std::time::Instant;

use rapport_meta::{Catalog, parse_document};
use serde_json::{Map, Value, json};

/// A workspace of generated objects, each with `fields` fields of mixed
/// types, every tenth a relation to the previous object.
pub fn documents(objects: usize, fields: usize) -> Vec<Value> {
    (0..objects)
        .map(|o| {
            let mut props = Map::new();
            props.insert("name".into(), json!({ "type": "string" }));
            for f in 1..fields {
                let name = format!("f{f}");
                let prop = match f % 10 {
                    0 if o > 0 => json!({ "x-rapport-field": { "type": "relation", "kind": "manyToOne",
                        "target": format!("thing{}", o - 1), "inverse": format!("things{o}f{f}") } }),
                    1 => json!({ "type": "integer" }),
                    2 => json!({ "type": "number" }),
                    3 => json!({ "type": "boolean" }),
                    4 => json!({ "type": "string", "format": "date" }),
                    5 => json!({ "type": "string", "enum": ["A", "B", "C"] }),
                    6 => json!({ "x-rapport-field": { "type": "currency" } }),
                    7 => json!({ "type": "string", "format": "email" }),
                    _ => json!({ "type": "string" }),
                };
                props.insert(name, prop);
            }
            json!({
                "type": "object",
                "x-rapport-object": { "name": format!("thing{o}"), "pluralName": format!("things{o}"),
                    "titleField": "name" },
                "properties": props,
                "required": ["name"],
            })
        })
        .collect()
}

fn catalog(docs: &[Value]) -> Catalog {
    let objects = docs
        .iter()
        .map(|d| parse_document(d).expect("generated documents parse"))
        .collect();
    Catalog::build(objects).expect("generated documents make a catalog")
}

/// Milliseconds to turn documents into a served schema (parse, catalog,
/// GraphQL schema), the median of `runs`.
pub fn rebuild_ms(objects: usize, fields: usize, runs: usize) -> f64 {
    let docs = documents(objects, fields);
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            let c = catalog(&docs);
            let schema = rapport_graphql::build_schema(&c, None).expect("schema");
            std::hint::black_box(schema);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Resident memory of this process, in MiB (Linux).
pub fn resident_mib() -> f64 {
    status_mib("VmRSS:")
}

/// The most this process has held resident so far, in MiB (Linux).
pub fn peak_resident_mib() -> f64 {
    status_mib("VmHWM:")
}

fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Resident memory before and after holding `tenants` schemas of `objects`
/// × `fields` each, all loaded at once (the worst case, with no eviction).
pub fn tenants_mib(tenants: usize, objects: usize, fields: usize) -> (f64, f64) {
    let before = resident_mib();
    let docs = documents(objects, fields);
    let held: Vec<_> = (0..tenants)
        .map(|_| {
            // What a loaded workspace holds: its catalog, its input
            // validators and its GraphQL schema.
            let c = catalog(&docs);
            let validators: Vec<_> = c
                .objects()
                .iter()
                .map(rapport_meta::RecordValidator::new)
                .collect();
            let schema = rapport_graphql::build_schema(&c, None).expect("schema");
            (c, validators, schema)
        })
        .collect();
    let after = resident_mib();
    std::hint::black_box(held);
    (before, after)
}
