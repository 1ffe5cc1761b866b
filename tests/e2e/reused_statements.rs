//! A read's statement is written once per document, operation and record
//! scope, then reused with each request's look-up ids
//! (`rapport_graphql::direct::reuse`). Every answer must still be the
//! request's own: each read here is compared with the full executor's.

use serde_json::{Value, json};

use crate::direct_reads::{Path, admin_same, counter, same_answer};
use crate::harness::TestServer;

const REUSED: &str = "rapport_graphql_reused_statements_total";

async fn company(s: &TestServer, name: &str, person: &str) -> String {
    let made = s
        .gql(
            "mutation($n: String!, $p: String!) { createCompany(data: { name: $n }) { id } \
             p: createPerson(data: { name: { firstName: $p, lastName: \"X\" } }) { id } }",
            json!({ "n": name, "p": person }),
        )
        .await;
    let id = made["createCompany"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    s.gql(
        "mutation($p: ID!, $c: ID!) { updatePerson(id: $p, data: { companyId: $c }) { id } }",
        json!({ "p": made["p"]["id"], "c": id }),
    )
    .await;
    id
}

#[tokio::test]
async fn reused_statements_answer_each_request_with_its_own_ids_and_variables() {
    let s = TestServer::start().await;
    let alpha = company(&s, "Alpha", "Ann").await;
    let beta = company(&s, "Beta", "Bob").await;

    // A look-up with a child list: written for Alpha, reused for Beta.
    let detail = "query($id: ID!) { company(id: $id) { id name
        people(first: 10) { nodes { name { firstName } } } } }";
    let start = counter(&s, REUSED).await;
    let a = admin_same(&s, detail, json!({ "id": alpha }), Path::OneStatement).await;
    assert_eq!(counter(&s, REUSED).await, start, "the first one is written");
    let b = admin_same(&s, detail, json!({ "id": beta }), Path::OneStatement).await;
    assert_eq!(
        counter(&s, REUSED).await,
        start + 1,
        "the second one is reused"
    );
    assert_eq!(a["data"]["company"]["name"], "Alpha", "{a}");
    assert_eq!(b["data"]["company"]["name"], "Beta", "{b}");
    assert_eq!(
        b["data"]["company"]["people"]["nodes"],
        json!([{ "name": { "firstName": "Bob" } }]),
        "{b}"
    );
    // No such company: the kept plan writes null.
    let reused = counter(&s, REUSED).await;
    let missing = json!({ "id": "00000000-0000-4000-8000-000000000000" });
    let gone = admin_same(&s, detail, missing, Path::OneStatement).await;
    assert_eq!(gone["data"]["company"], Value::Null, "{gone}");
    assert_eq!(counter(&s, REUSED).await, reused + 1);
    // An id that is not a UUID reads nothing, and needs no statement.
    let none = admin_same(&s, detail, json!({ "id": "nope" }), Path::Fetch).await;
    assert_eq!(none["data"]["company"], Value::Null, "{none}");
    // Ids the plan does not take as they are, or that are missing: the
    // full executor answers, kept plan or not. An Int is an ID's digits
    // (not a UUID, so no such company); null or nothing is refused.
    let digits = admin_same(&s, detail, json!({ "id": 5 }), Path::Full).await;
    assert_eq!(digits, json!({ "data": { "company": null } }));
    for bad in [json!({ "id": null }), json!({})] {
        let refused = admin_same(&s, detail, bad.clone(), Path::Full).await;
        assert_eq!(refused["data"], Value::Null, "{bad}: {refused}");
        let code = &refused["errors"][0]["extensions"]["code"];
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {refused}");
    }

    // Two look-ups: each id goes to its own root, swapped on reuse.
    let names = |data: &Value| [data["x"]["name"].clone(), data["y"]["name"].clone()];
    let pair =
        "query($x: ID!, $y: ID!) { x: company(id: $x) { name } y: company(id: $y) { name } }";
    let ab = json!({ "x": alpha, "y": beta });
    let ba = json!({ "x": beta, "y": alpha });
    let first = admin_same(&s, pair, ab.clone(), Path::OneStatement).await;
    let reused = counter(&s, REUSED).await;
    let swapped = admin_same(&s, pair, ba.clone(), Path::OneStatement).await;
    assert_eq!(counter(&s, REUSED).await, reused + 1);
    assert_eq!(names(&first["data"]), ["Alpha", "Beta"]);
    assert_eq!(names(&swapped["data"]), ["Beta", "Alpha"]);
    // The same id twice first: which parameter is whose cannot be told, so
    // nothing is kept; the next request's statement is written, and kept.
    let pair =
        "query($x: ID!, $y: ID!) { y: company(id: $y) { name } x: company(id: $x) { name } }";
    let reused = counter(&s, REUSED).await;
    let twice = admin_same(
        &s,
        pair,
        json!({ "x": beta, "y": beta }),
        Path::OneStatement,
    )
    .await;
    assert_eq!(names(&twice["data"]), ["Beta", "Beta"]);
    let apart = admin_same(&s, pair, ab, Path::OneStatement).await;
    assert_eq!(names(&apart["data"]), ["Alpha", "Beta"]);
    assert_eq!(counter(&s, REUSED).await, reused, "nothing was kept");
    let swapped = admin_same(&s, pair, ba, Path::OneStatement).await;
    assert_eq!(names(&swapped["data"]), ["Beta", "Alpha"]);
    assert_eq!(counter(&s, REUSED).await, reused + 1);

    // A variable that shapes the statement (a page size): never reused.
    let page =
        "query($n: Int!) { companies(first: $n, orderBy: { name: ASC }) { nodes { name } } }";
    let reused = counter(&s, REUSED).await;
    let one = admin_same(&s, page, json!({ "n": 1 }), Path::OneStatement).await;
    let two = admin_same(&s, page, json!({ "n": 2 }), Path::OneStatement).await;
    assert_eq!(
        counter(&s, REUSED).await,
        reused,
        "a varying plan is not kept"
    );
    assert_eq!(
        one["data"]["companies"]["nodes"],
        json!([{ "name": "Alpha" }])
    );
    assert_eq!(
        two["data"]["companies"]["nodes"],
        json!([{ "name": "Alpha" }, { "name": "Beta" }])
    );
    s.finish().await;
}

#[tokio::test]
async fn reused_statements_keep_each_callers_record_scope() {
    let s = TestServer::start().await;
    s.create_rep_role().await;
    let mut reps = Vec::new();
    for (email, name) in [("ann@x.example", "Ann's"), ("bob@x.example", "Bob's")] {
        let token = s.member_token(email, "rep").await;
        s.post_with(
            "/graphql",
            Some(&token),
            json!({ "query": "mutation($n: String!) { createCompany(data: { name: $n }) { id } }", "variables": { "n": name } }),
        )
        .await;
        reps.push((token, name));
    }
    let list = json!({ "query": "{ companies(orderBy: { name: ASC }) { nodes { name } } }" });
    for round in 0..2 {
        for (token, name) in &reps {
            let mine = same_answer(&s, token, list.clone(), Path::OneStatement).await;
            assert_eq!(
                mine["data"]["companies"]["nodes"],
                json!([{ "name": name }]),
                "round {round}: {mine}"
            );
        }
    }
    s.finish().await;
}

/// The plates a read's `vehicles` list answered, in order.
fn plates(answer: &Value) -> Vec<&str> {
    answer["data"]["vehicles"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no vehicles in {answer}"))
        .iter()
        .map(|n| n["plate"].as_str().expect("a plate"))
        .collect()
}

#[tokio::test]
async fn a_documents_own_values_select_as_bound_values_do() {
    // On PostgreSQL a kept statement has the document's own values written
    // in as typed literals (`rapport_query::Sql::constants`); the full
    // executor binds them. Every kind, quotes and backslashes included,
    // must select the same records either way (`admin_same` compares).
    let s = TestServer::start().await;
    s.create_object(crate::custom_object::vehicle_document())
        .await;
    let acme = company(&s, "Acme", "Ann").await;
    s.gql(
        "mutation($d: [VehicleCreateInput!]!) { createVehicles(data: $d) { id } }",
        json!({ "d": [
            { "plate": "A'B-1", "notes": "it's \"quoted\" \\ back", "seats": 5, "weightKg": 1320.5,
              "engineSize": "1.995", "price": { "amount": "32000.50", "currencyCode": "EUR" }, "electric": false,
              "firstRegistered": "2021-03-14", "lastServiceAt": "2024-05-01T10:30:00+02:00", "color": "RED",
              "features": ["GPS", "SUNROOF"], "companyId": acme },
            { "plate": "CD-2", "notes": "plain", "seats": 2, "weightKg": 900.125, "engineSize": "0.9",
              "price": { "amount": "9000", "currencyCode": "EUR" }, "electric": true,
              "firstRegistered": "2023-07-01", "lastServiceAt": "2025-01-01T00:00:00Z", "color": "BLUE", "features": ["GPS"] },
            { "plate": "EF-3", "seats": 7, "engineSize": "3.2", "price": { "amount": "51000", "currencyCode": "USD" },
              "firstRegistered": "2022-11-30", "color": "GREEN", "features": [], "companyId": acme }
        ] }),
    )
    .await;
    // (filter, the plates it selects, ordered by plate)
    let by_company = format!(r#"{{ companyId: {{ eq: "{acme}" }} }}"#);
    let cases = [
        (
            r#"{ plate: { in: ["A'B-1", "EF-3"] } }"#,
            vec!["A'B-1", "EF-3"],
        ),
        (
            r#"{ notes: { contains: "it's \"quoted\" \\ b" } }"#,
            vec!["A'B-1"],
        ),
        ("{ seats: { gt: 2, lte: 7 } }", vec!["A'B-1", "EF-3"]),
        ("{ weightKg: { gte: 1000.25 } }", vec!["A'B-1"]),
        (r#"{ engineSize: { lt: "2.5" } }"#, vec!["A'B-1", "CD-2"]),
        (
            r#"{ price: { amount: { gte: "9000.5" } } }"#,
            vec!["A'B-1", "EF-3"],
        ),
        ("{ electric: { eq: false } }", vec!["A'B-1", "EF-3"]),
        (
            r#"{ firstRegistered: { gte: "2022-01-01" } }"#,
            vec!["CD-2", "EF-3"],
        ),
        (
            r#"{ lastServiceAt: { lt: "2024-05-01T08:30:00.000001Z" } }"#,
            vec!["A'B-1"],
        ),
        ("{ color: { neq: GREEN } }", vec!["A'B-1", "CD-2"]),
        (
            "{ features: { containsAll: [GPS, SUNROOF] } }",
            vec!["A'B-1"],
        ),
        (by_company.as_str(), vec!["A'B-1", "EF-3"]),
    ];
    for (filter, expected) in cases {
        let query = format!(
            "{{ vehicles(filter: {filter}, orderBy: {{ plate: ASC }}) {{ nodes {{ plate }} }} }}"
        );
        let written = admin_same(&s, &query, json!({}), Path::OneStatement).await;
        assert_eq!(plates(&written), expected, "{query}: {written}");
        // Read again through the kept statement.
        let again = admin_same(&s, &query, json!({}), Path::OneStatement).await;
        assert_eq!(again, written, "{query}");
    }
    // A search term and a page size written in the document.
    let found = admin_same(
        &s,
        r#"{ vehicles(search: "it's", first: 1) { nodes { plate } } }"#,
        json!({}),
        Path::OneStatement,
    )
    .await;
    assert_eq!(plates(&found), ["A'B-1"], "{found}");
    s.finish().await;
}
