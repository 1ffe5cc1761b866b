//! The SQL compiled for representative queries, per backend. A change here is
//! a change in what every request sends to the database: read it as such.

use rapport_meta::{Catalog, parse_document};
use rapport_query::{
    AggregateRequest, Backend, ChildLink, ConnectionQuery, GroupByQuery, Layout, aggregate_sql,
    children_sql, connection_sql, group_by_sql,
};
use serde_json::json;

fn catalog() -> Catalog {
    let company = json!({ "type": "object", "x-rapport-object": { "name": "company", "pluralName": "companies" },
        "properties": { "name": { "type": "string" }, "revenue": { "x-rapport-field": { "type": "currency" } } } });
    let person = json!({ "type": "object", "x-rapport-object": { "name": "person", "pluralName": "people" },
        "properties": { "email": { "type": "string" },
                        "company": { "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "company", "inverse": "people" } } } });
    Catalog::build(vec![
        parse_document(&company).unwrap(),
        parse_document(&person).unwrap(),
    ])
    .unwrap()
}

const SYSTEM: &str = r#"t0."id", t0."createdAt", t0."updatedAt", t0."deletedAt", t0."version", t0."ownerId", t0."createdBy""#;

#[test]
fn root_connection_with_parent_filter_and_order() {
    let c = catalog();
    let q = ConnectionQuery {
        filter: Some(
            json!({ "email": { "ilike": "%@acme.example" }, "company": { "name": { "eq": "Acme" } } }),
        ),
        order_by: Some(json!([{ "company": { "name": "DESC" } }])),
        first: Some(10),
        ..Default::default()
    };
    let person = c.object("person").unwrap();
    let pg = connection_sql(
        &c,
        &Layout::new(Backend::Postgres, "ws_default"),
        person,
        &q,
    )
    .unwrap();
    assert_eq!(
        pg.sql.text,
        format!(
            r#"SELECT {SYSTEM}, t0."email", t0."companyId", (SELECT o1."name" FROM "ws_default"."company" o1 WHERE o1."id" = t0."companyId" AND o1."deletedAt" IS NULL) AS "__k0", t0."id" AS "__k1" FROM "ws_default"."person" t0 WHERE t0."deletedAt" IS NULL AND ((t0."email" ILIKE $1 ESCAPE '\') AND EXISTS (SELECT 1 FROM "ws_default"."company" f1 WHERE f1."id" = t0."companyId" AND f1."deletedAt" IS NULL AND ((f1."name" = $2)))) ORDER BY (SELECT o1."name" FROM "ws_default"."company" o1 WHERE o1."id" = t0."companyId" AND o1."deletedAt" IS NULL) DESC NULLS FIRST, t0."id" ASC NULLS LAST LIMIT 11"#
        )
    );
    let sqlite =
        connection_sql(&c, &Layout::new(Backend::Sqlite, "ws_default"), person, &q).unwrap();
    assert!(sqlite.sql.text.contains(r#"FROM "ws_default__person" t0"#));
    assert!(
        sqlite
            .sql
            .text
            .contains(r#"lower(t0."email") LIKE lower(?1)"#)
    );
    assert_eq!(sqlite.sql.params.len(), 2);
}

#[test]
fn child_lists_page_every_parent_in_one_statement() {
    let c = catalog();
    let company = c.object("company").unwrap();
    let layout = Layout::new(Backend::Postgres, "ws_default");
    let (link, child) =
        ChildLink::of(&c, &layout, company, company.field("people").unwrap()).unwrap();
    let q = ConnectionQuery {
        first: Some(10),
        ..Default::default()
    };
    let ids = [
        "0190e6f0-0000-7000-8000-000000000001".to_string(),
        "0190e6f0-0000-7000-8000-000000000002".to_string(),
    ];
    let plan = children_sql(&c, &layout, c.object(&child).unwrap(), &link, &ids, &q).unwrap();
    // The parents travel as one uuid[] parameter: one text for any count.
    assert_eq!(plan.sql.params.len(), 1);
    assert_eq!(
        plan.sql.text,
        format!(
            r#"SELECT * FROM (SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent" ORDER BY s."__k0" ASC NULLS LAST) AS "__rn" FROM (SELECT {SYSTEM}, t0."email", t0."companyId", t0."id" AS "__k0", t0."companyId" AS "__parent", COUNT(*) OVER (PARTITION BY t0."companyId") AS "__total" FROM "ws_default"."person" t0 WHERE t0."deletedAt" IS NULL AND t0."companyId" = ANY($1)) s) r WHERE r."__rn" <= 11 ORDER BY r."__parent", r."__rn""#
        )
    );
}

#[test]
fn aggregates_and_groups() {
    let c = catalog();
    let company = c.object("company").unwrap();
    let requests = [
        AggregateRequest {
            function: "count".into(),
            field: None,
        },
        AggregateRequest {
            function: "sum".into(),
            field: Some("revenue".into()),
        },
    ];
    let (pg, _) = aggregate_sql(
        &c,
        &Layout::new(Backend::Postgres, "ws"),
        company,
        None,
        None,
        &requests,
    )
    .unwrap();
    assert_eq!(
        pg.text,
        r#"SELECT COUNT(*), SUM(t0."revenue__amount") FROM "ws"."company" t0 WHERE t0."deletedAt" IS NULL"#
    );
    let (sqlite, _) = aggregate_sql(
        &c,
        &Layout::new(Backend::Sqlite, "ws"),
        company,
        None,
        None,
        &requests,
    )
    .unwrap();
    assert_eq!(
        sqlite.text,
        r#"SELECT COUNT(*), SUM(CAST(t0."revenue__amount" AS REAL)) FROM "ws__company" t0 WHERE t0."deletedAt" IS NULL"#
    );

    let q = GroupByQuery {
        by: vec!["createdAt".into()],
        granularity: "MONTH".into(),
        first: 12,
        ..Default::default()
    };
    let (pg, _, _) = group_by_sql(&c, &Layout::new(Backend::Postgres, "ws"), company, &q).unwrap();
    assert_eq!(
        pg.text,
        r#"SELECT to_char(date_trunc('month', (t0."createdAt" AT TIME ZONE 'UTC')), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "__g0", COUNT(*) FROM "ws"."company" t0 WHERE t0."deletedAt" IS NULL GROUP BY 1 ORDER BY 1 ASC NULLS LAST LIMIT 12"#
    );
}

#[test]
fn bad_input_is_refused_with_its_path() {
    let c = catalog();
    let person = c.object("person").unwrap();
    let layout = Layout::new(Backend::Sqlite, "ws");
    let bad = |filter: serde_json::Value| {
        let q = ConnectionQuery {
            filter: Some(filter),
            ..Default::default()
        };
        connection_sql(&c, &layout, person, &q)
            .unwrap_err()
            .to_string()
    };
    assert!(bad(json!({ "nope": { "eq": 1 } })).starts_with("filter.nope"));
    assert!(bad(json!({ "email": { "gt": "a" } })).starts_with("filter.email.gt"));
    assert!(
        bad(json!({ "company": { "name": { "startsWith": 3 } } }))
            .starts_with("filter.company.name.startsWith")
    );
    let q = ConnectionQuery {
        first: Some(501),
        ..Default::default()
    };
    assert!(
        connection_sql(&c, &layout, person, &q)
            .unwrap_err()
            .to_string()
            .starts_with("first")
    );
}

#[test]
fn a_page_reads_only_the_values_it_shows() {
    let c = catalog();
    let person = c.object("person").unwrap();
    let layout = Layout::new(Backend::Postgres, "ws_default");
    let q = ConnectionQuery {
        first: Some(5),
        stored: Some(vec!["email".into()]),
        computed: Some(vec![]),
        ..Default::default()
    };
    let plan = connection_sql(&c, &layout, person, &q).unwrap();
    assert_eq!(
        plan.sql.text,
        r#"SELECT t0."id", t0."email", t0."id" AS "__k0" FROM "ws_default"."person" t0 WHERE t0."deletedAt" IS NULL ORDER BY t0."id" ASC NULLS LAST LIMIT 6"#
    );
    // A relation is read by its id column; composites by all their parts.
    let q = ConnectionQuery {
        stored: Some(vec!["companyId".into()]),
        ..q
    };
    let plan = connection_sql(&c, &layout, person, &q).unwrap();
    assert!(
        plan.sql
            .text
            .starts_with(r#"SELECT t0."id", t0."companyId", t0."id" AS"#)
    );
    let company = c.object("company").unwrap();
    let q = ConnectionQuery {
        stored: Some(vec!["revenue".into()]),
        ..q
    };
    let plan = connection_sql(&c, &layout, company, &q).unwrap();
    assert!(plan.sql.text.starts_with(
        r#"SELECT t0."id", t0."revenue__amount", t0."revenue__currencyCode", t0."id" AS"#
    ));
}
