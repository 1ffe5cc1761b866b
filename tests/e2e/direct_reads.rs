//! The direct read path (`rapport_graphql::direct`) answers validated plain
//! reads without the field-by-field executor. Every answer it gives must be
//! the full executor's: each query here runs with the path
//! off, then twice with it on (the first run validates the document), and
//! the answers are compared; the direct-read counter proves the path ran.

use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TestServer};

/// The raw body and SQL statement count of one `POST /graphql`.
async fn raw(s: &TestServer, token: &str, body: &Value) -> (String, u64) {
    let res = s
        .client
        .post(format!("{}/graphql", s.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let statements = res
        .headers()
        .get("x-rapport-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (res.text().await.expect("body"), statements)
}

async fn direct_reads(s: &TestServer) -> u64 {
    let (_, metrics) = s.get("/metrics", None).await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("rapport_graphql_direct_reads_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no direct read counter in {metrics}"))
}

fn set_direct(s: &TestServer, on: bool) {
    s.app
        .direct_reads
        .store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Runs `body` with the direct path off and on; asserts one answer, and
/// whether the direct path gave it. Returns the answer.
async fn same_answer(s: &TestServer, token: &str, body: Value, direct: bool) -> Value {
    set_direct(s, false);
    let (full, full_statements) = raw(s, token, &body).await;
    set_direct(s, true);
    let _validates = raw(s, token, &body).await;
    let before = direct_reads(s).await;
    let (answer, statements) = raw(s, token, &body).await;
    let took_direct = direct_reads(s).await - before == 1;
    assert_eq!(
        took_direct, direct,
        "direct path taken: {took_direct} for {body}"
    );
    // Compared as JSON: the full executor orders the root fields of a
    // query by completion; the direct path in query order, as the spec says.
    let (answer, full): (Value, Value) = (
        serde_json::from_str(&answer).expect("JSON"),
        serde_json::from_str(&full).expect("JSON"),
    );
    assert_eq!(answer, full, "the two paths differ for {body}");
    // Below the root, the order of keys is the query's on both paths.
    if let Some(roots) = full["data"].as_object() {
        for (key, value) in roots {
            assert_eq!(
                answer["data"][key].to_string(),
                value.to_string(),
                "order differs under {key}"
            );
        }
    }
    assert!(
        statements <= full_statements,
        "{statements} statements directly, {full_statements} otherwise, for {body}"
    );
    answer
}

async fn admin_same(s: &TestServer, query: &str, variables: Value) -> Value {
    same_answer(
        s,
        ADMIN_KEY,
        json!({ "query": query, "variables": variables }),
        true,
    )
    .await
}

#[tokio::test]
async fn direct_reads_answer_as_the_full_executor_does() {
    let s = TestServer::start().await;
    rapport_server::load_demo(&s.app, 1)
        .await
        .expect("demo data");

    // The benchmark's shapes.
    let q1 = admin_same(
        &s,
        "{ companies(first: 50, orderBy: { name: ASC }) { nodes { id name domain } } }",
        json!({}),
    )
    .await;
    assert!(q1["data"]["companies"]["nodes"].as_array().unwrap().len() > 5);
    admin_same(&s, "{ companies(first: 50, orderBy: { name: ASC }) { nodes { id name domain
        people(first: 10) { nodes { id name { firstName lastName } email } }
        opportunities(first: 100, filter: { stage: { notIn: [WON, LOST] } }) { nodes { id name stage amount { amount currencyCode } } } } } }", json!({})).await;
    let q3 = admin_same(&s, "{ opportunities(first: 100, filter: { stage: { in: [PROPOSAL, NEGOTIATION] }, amount: { amount: { gt: \"1000\" } } },
        orderBy: { amount: { amount: DESC } }) { nodes { id name amount { amount currencyCode } company { name } } } }", json!({})).await;
    assert!(
        !q3["data"]["opportunities"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let company = q1["data"]["companies"]["nodes"][0]["id"].clone();
    let q4 = "query($id: ID!) { company(id: $id) { id name
        people(first: 50) { nodes { id name { firstName lastName } email } }
        opportunities(first: 50) { nodes { id name stage amount { amount currencyCode } } }
        tasks(first: 50) { nodes { id title status } } } }";
    let one = admin_same(&s, q4, json!({ "id": company })).await;
    assert_eq!(one["data"]["company"]["id"], company);
    // Not found, and not a UUID: null either way.
    let none = admin_same(
        &s,
        q4,
        json!({ "id": "00000000-0000-4000-8000-000000000000" }),
    )
    .await;
    assert_eq!(none["data"]["company"], Value::Null);
    admin_same(&s, q4, json!({ "id": "not-a-uuid" })).await;

    // Aliases, fragments, __typename, edges and cursors, page info, counts.
    let paged = admin_same(
        &s,
        "query Page($after: String, $n: Int) { __typename
          list: companies(first: $n, after: $after, orderBy: [{ employees: DESC }, { name: ASC }]) {
            __typename totalCount
            pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
            edges { __typename cursor node { ...Company } } } }
         fragment Company on Company { __typename id title: name employees
           annualRevenue { __typename amount currencyCode } address { city country }
           ... on Company { createdAt updatedAt deletedAt version ownerId
             createdBy { __typename kind name } owner { id name { firstName } } }
           openPipeline wonRevenue parentCompany { id name } parentCompanyId
           people(first: 3, orderBy: { email: ASC }) { totalCount pageInfo { hasNextPage endCursor }
             edges { cursor node { id email company { id tier } } } } }",
        json!({ "n": 7 }),
    )
    .await;
    let end = paged["data"]["list"]["pageInfo"]["endCursor"].clone();
    assert!(end.is_string(), "{paged}");
    let next = admin_same(
        &s,
        "query Page($after: String, $n: Int) { list: companies(first: $n, after: $after, orderBy: [{ employees: DESC }, { name: ASC }]) {
            pageInfo { hasPreviousPage startCursor } nodes { id name } } }",
        json!({ "n": 7, "after": end }),
    )
    .await;
    assert_eq!(
        next["data"]["list"]["pageInfo"]["hasPreviousPage"],
        json!(true)
    );

    // Several root fields, filters through and/or/not, search, deleted
    // records, polymorphic links, formulas, child lists of child lists.
    admin_same(
        &s,
        "{ big: opportunities(first: 20, filter: { or: [{ stage: { eq: WON } }, { and: [{ amount: { amount: { gte: \"5000\" } } }, { not: { stage: { eq: LOST } } }] }] }, orderBy: { closeDate: DESC_NULLS_LAST }) {
             nodes { id stage weightedAmount closeDate pointOfContact { name { lastName } company { name people(first: 2) { nodes { email } } } } } }
           notes(first: 10) { nodes { title relatedObject relatedId } }
           tasks(first: 10, filter: { status: { isNull: false } }) { nodes { title status dueAt assignee { email } } }
           found: companies(search: \"a\", first: 5) { totalCount nodes { name } }
           all: companies(withDeleted: true, last: 3) { nodes { name deletedAt } } }",
        json!({}),
    )
    .await;
    let roots = "{ b: companies(first: 1) { nodes { id } } a: people(first: 1) { nodes { id } } }";
    let ordered = admin_same(&s, roots, json!({})).await;
    let keys: Vec<&String> = ordered["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["b", "a"], "root fields in query order");

    // One operation of several, chosen by name.
    let ops = "query A { companies(first: 1) { nodes { id } } } query B { people(first: 2) { nodes { id email } } }";
    let b = same_answer(
        &s,
        ADMIN_KEY,
        json!({ "query": ops, "operationName": "B" }),
        true,
    )
    .await;
    assert_eq!(b["data"]["people"]["nodes"].as_array().unwrap().len(), 2);

    s.finish().await;
}

#[tokio::test]
async fn bad_reads_get_the_full_executors_error() {
    let s = TestServer::start().await;
    rapport_server::load_demo(&s.app, 1)
        .await
        .expect("demo data");
    let list =
        "query($after: String, $n: Int) { companies(first: $n, after: $after) { nodes { id } } }";
    // Validated with good values, then sent bad ones: the direct path
    // declines or fails, and the full executor reports the error.
    for variables in [
        json!({ "after": "not a cursor" }),
        json!({ "n": -1 }),
        json!({ "n": 3_000_000_000i64 }),
        json!({ "n": "ten" }),
        json!({ "after": 5 }),
    ] {
        let answer = same_answer(
            &s,
            ADMIN_KEY,
            json!({ "query": list, "variables": variables }),
            false,
        )
        .await;
        let code = answer["errors"][0]["extensions"]["code"].as_str();
        assert_eq!(code, Some("BAD_USER_INPUT"), "{variables}: {answer}");
    }
    // What the plan does not cover goes to the full executor: directives,
    // filters in variables, introspection, aggregates, mutations.
    for (query, variables) in [
        (
            "query($s: Boolean!) { companies(first: 2) { nodes { id name @skip(if: $s) } } }",
            json!({ "s": true }),
        ),
        (
            "query($f: CompanyFilter) { companies(filter: $f) { nodes { id } } }",
            json!({ "f": { "name": { "startsWith": "A" } } }),
        ),
        ("{ __schema { queryType { name } } }", json!({})),
        ("{ companiesAggregate { count } }", json!({})),
    ] {
        same_answer(
            &s,
            ADMIN_KEY,
            json!({ "query": query, "variables": variables }),
            false,
        )
        .await;
    }
    s.finish().await;
}

#[tokio::test]
async fn direct_reads_keep_record_scopes_and_narrower_views_do_not_take_them() {
    let s = TestServer::start().await;
    let rep = json!({
        "default": { "read": "own", "create": true, "update": "own", "delete": "own", "destroy": "none" },
        "objects": { "workspaceMember": { "read": "all" }, "team": { "read": "all" } }
    });
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"rep\", definition: $d) }",
        json!({ "d": rep }),
    )
    .await;
    let ann = s.member_token("ann@x.example", "rep").await;
    for name in ["Ann's one", "Ann's two"] {
        s.post_with(
            "/graphql",
            Some(&ann),
            json!({ "query": "mutation($n: String!) { createCompany(data: { name: $n }) { id } }", "variables": { "n": name } }),
        )
        .await;
    }
    s.gql(
        "mutation { createCompany(data: { name: \"Not Ann's\" }) { id } }",
        json!({}),
    )
    .await;

    let list = json!({ "query": "{ companies(orderBy: { name: ASC }) { totalCount nodes { name owner { name { firstName } } } } }" });
    let mine = same_answer(&s, &ann, list.clone(), true).await;
    assert_eq!(mine["data"]["companies"]["totalCount"], json!(2), "{mine}");
    let all = same_answer(&s, ADMIN_KEY, list.clone(), true).await;
    assert_eq!(all["data"]["companies"]["totalCount"], json!(3), "{all}");

    // A masked field narrows the role's view: its reads take the full path
    // (which masks), never the direct one.
    s.meta(
        "mutation($s: JSON!) { createField(object: \"company\", name: \"vatNumber\", schema: $s) { name } }",
        json!({ "s": { "type": "string", "title": "VAT number", "x-rapport-field": { "masked": true } } }),
    )
    .await;
    let masked = json!({ "query": "{ companies(first: 5) { nodes { name } } }" });
    same_answer(&s, &ann, masked, false).await;
    s.finish().await;
}
