//! Documents built to crash or exhaust the server, sent to both endpoints
//! with and without a token: each is refused with a code before it runs,
//! and the server answers the next request.

use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TestServer, code};

/// Posts `query` to `path` and returns the first error, failing if the
/// request was answered without one or the connection dropped.
async fn refused(s: &TestServer, path: &str, key: Option<&str>, body: Value) -> Value {
    let (_, r) = s.post_with(path, key, body).await;
    r["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: expected a refusal, got {r}"))[0]
        .clone()
}

async fn still_serving(s: &TestServer) {
    let d = s.gql("{ companies { totalCount } }", json!({})).await;
    assert!(d["companies"]["totalCount"].is_number());
}

/// `F{n}` spreads `F{n-1}` twice: 2^n fields once expanded.
fn doubling_fragments(on: &str, levels: usize) -> String {
    let mut q = format!("{{ ...F{levels} }} fragment F0 on {on} {{ __typename }}");
    for i in 1..=levels {
        q.push_str(&format!(
            " fragment F{i} on {on} {{ ...F{0} ...F{0} }}",
            i - 1
        ));
    }
    q
}

#[tokio::test]
async fn fragment_cycles_are_refused_on_both_endpoints_with_or_without_a_token() {
    let s = TestServer::start().await;
    let cycles = [
        ("/metadata", "{ ...A } fragment A on MetaQuery { ...A }"),
        ("/graphql", "{ ...A } fragment A on Query { ...A }"),
        (
            "/graphql",
            "{ companies { nodes { ...A } } } fragment A on Company { people { nodes { company { ...B } } } } fragment B on Company { ...A }",
        ),
    ];
    for (path, query) in cycles {
        for key in [None, Some(ADMIN_KEY)] {
            let (status, r) = s.post_with(path, key, json!({ "query": query })).await;
            if key.is_none() && path == "/graphql" {
                assert_eq!(status, 401, "{r}");
                continue;
            }
            let e = &r["errors"][0];
            assert_eq!(code(e), "BAD_USER_INPUT", "{path} {key:?}: {r}");
            assert!(
                e["message"].as_str().unwrap().contains("spreads itself"),
                "{r}"
            );
        }
    }
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn doubling_fragments_are_refused_by_their_expanded_cost() {
    let s = TestServer::start().await;
    for (path, on, key) in [
        ("/metadata", "MetaQuery", None),
        ("/metadata", "MetaQuery", Some(ADMIN_KEY)),
        ("/graphql", "Query", Some(ADMIN_KEY)),
    ] {
        let e = refused(
            &s,
            path,
            key,
            json!({ "query": doubling_fragments(on, 26) }),
        )
        .await;
        assert_eq!(code(&e), "QUERY_TOO_COMPLEX", "{path}: {e}");
    }
    // A few levels cost little and run.
    let (_, r) = s
        .post_with(
            "/graphql",
            Some(ADMIN_KEY),
            json!({ "query": doubling_fragments("Query", 3) }),
        )
        .await;
    assert_eq!(r["data"]["__typename"], "Query", "{r}");
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn deeply_nested_inputs_are_refused_as_bad_input() {
    let s = TestServer::start().await;
    let deep_list = format!("{}1{}", "[".repeat(3000), "]".repeat(3000));
    let deep_object = format!("{}1{}", "{a: ".repeat(3000), "}".repeat(3000));
    let deep_and = format!(
        "{{ companies(filter: {}{{ name: {{ eq: \"x\" }} }}{}) {{ totalCount }} }}",
        "{ and: [".repeat(1000),
        "] }".repeat(1000)
    );
    for (path, key, query) in [
        (
            "/graphql",
            Some(ADMIN_KEY),
            format!("{{ companies(filter: {{ name: {{ in: {deep_list} }} }}) {{ totalCount }} }}"),
        ),
        ("/graphql", Some(ADMIN_KEY), deep_and.clone()),
        (
            "/metadata",
            None,
            format!("mutation {{ login(email: {deep_object}, password: \"x\") {{ token }} }}"),
        ),
        (
            "/metadata",
            Some(ADMIN_KEY),
            format!("mutation {{ createObject(schema: {deep_list}) {{ name }} }}"),
        ),
    ] {
        let e = refused(&s, path, key, json!({ "query": query })).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{path}: {e}");
    }
    // The same depths as variables: JSON nested past the input depth.
    let nested_and = (0..1000).fold(
        json!({ "name": { "eq": "x" } }),
        |f, _| json!({ "and": [f] }),
    );
    let nested_json = (0..3000).fold(json!(1), |v, _| json!([v]));
    let nested_shallow = (0..40).fold(
        json!({ "name": { "eq": "x" } }),
        |f, _| json!({ "and": [f] }),
    );
    for (path, query, variables) in [
        (
            "/graphql",
            "query($f: CompanyFilter) { companies(filter: $f) { totalCount } }",
            json!({ "f": nested_and }),
        ),
        (
            "/graphql",
            "query($f: CompanyFilter) { companies(filter: $f) { totalCount } }",
            json!({ "f": nested_shallow }),
        ),
        (
            "/metadata",
            "mutation($s: JSON!) { createObject(schema: $s) { name } }",
            json!({ "s": nested_json }),
        ),
    ] {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let res = s
            .client
            .post(format!("{}{path}", s.base))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the connection holds");
        let r: Value = res.json().await.expect("JSON answer");
        assert_eq!(code(&r["errors"][0]), "BAD_USER_INPUT", "{path}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("nested deeper than 32"), "{r}");
    }
    // Within the limit, nesting works.
    let fine = (0..10).fold(
        json!({ "name": { "eq": "x" } }),
        |f, _| json!({ "and": [f] }),
    );
    let d = s
        .gql(
            "query($f: CompanyFilter) { companies(filter: $f) { totalCount } }",
            json!({ "f": fine }),
        )
        .await;
    assert_eq!(d["companies"]["totalCount"], 0);
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn a_list_costs_its_page_so_many_aliases_of_big_pages_are_refused() {
    let s = TestServer::start().await;
    let aliases: String = (0..1000)
        .map(|i| format!(" a{i}: companies(first: 500) {{ nodes {{ id name }} }}"))
        .collect();
    let e = s.gql_error(&format!("{{{aliases} }}"), json!({})).await;
    assert_eq!(code(&e), "QUERY_TOO_COMPLEX", "{e}");
    assert!(e["message"].as_str().unwrap().contains("costs"), "{e}");
    // The page counts through a variable too.
    let nested = "query($n: Int) { companies(first: $n) { nodes { people(first: $n) { nodes { id name { firstName } email phone } } } } }";
    let e = s.gql_error(nested, json!({ "n": 500 })).await;
    assert_eq!(code(&e), "QUERY_TOO_COMPLEX", "{e}");
    let d = s.gql(nested, json!({ "n": 5 })).await;
    assert!(d["companies"]["nodes"].is_array());
    // The metadata API's lists count as lists.
    let aliases: String = (0..100)
        .map(|i| format!(" a{i}: objects(includeSystem: true) {{ fields {{ name type }} }}"))
        .collect();
    let e = s.meta_error(&format!("{{{aliases} }}"), json!({})).await;
    assert_eq!(code(&e), "QUERY_TOO_COMPLEX", "{e}");
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn anonymous_sign_up_and_login_have_a_budget_per_client() {
    let s = TestServer::start().await;
    let login = json!({ "query": "mutation { login(email: \"nobody@example.com\", password: \"wrong password\") { token } }" });
    let limit = s
        .app
        .anonymous_limit
        .load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..limit {
        let (status, r) = s.post_with("/metadata", None, login.clone()).await;
        assert_ne!(status, 429, "{r}");
    }
    let (status, r) = s.post_with("/metadata", None, login).await;
    assert_eq!(
        (status.as_u16(), code(&r["errors"][0])),
        (429, "RATE_LIMITED")
    );
    assert!(r["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    let sign_up = json!({ "query": "mutation { signUp(email: \"new@example.com\", password: \"a long password\", workspaceName: \"W\") { token } }" });
    let (status, _) = s.post_with("/metadata", None, sign_up).await;
    assert_eq!(status, 429);
    // Callers with a token have their own budget.
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn bad_names_are_bad_input_never_internal() {
    let s = TestServer::start().await;
    let create_field = "mutation($n: String!, $s: JSON!) { createField(object: \"company\", name: $n, schema: $s) { name } }";
    for name in ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"] {
        let e = s
            .meta_error(
                create_field,
                json!({ "n": name, "s": { "type": "string" } }),
            )
            .await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{name}: {e}");
    }
    // NUL in any name or label, on SQLite as on PostgreSQL.
    for (query, variables) in [
        (
            "mutation($n: String!) { createRole(name: $n, definition: {}) }",
            json!({ "n": "a\u{0}b" }),
        ),
        (
            "mutation($n: String!) { createApiKey(name: $n) { id } }",
            json!({ "n": "key\u{0}" }),
        ),
        (
            create_field,
            json!({ "n": "good", "s": { "type": "string", "title": "La\u{0}bel" } }),
        ),
        (
            "mutation { createApiKey(name: \"lit\\u0000eral\") { id } }",
            json!({}),
        ),
    ] {
        let e = s.meta_error(query, variables).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{query}: {e}");
    }
    let (_, r) = s
        .post_with(
            "/metadata",
            None,
            json!({ "query": "mutation($w: String!) { signUp(email: \"nul@example.com\", password: \"a long password\", workspaceName: $w) { token } }",
                    "variables": { "w": "W\u{0}" } }),
        )
        .await;
    assert_eq!(code(&r["errors"][0]), "BAD_USER_INPUT", "{r}");

    // More columns than the database allows: refused, saying how many are left.
    let postgres = s.db.pg_admin.is_some();
    let limit = if postgres { 1600 } else { 2000 };
    // An address takes 8 columns, and an object has at most 500 fields.
    let wide = |addresses: usize| {
        let properties: serde_json::Map<String, Value> = (0..addresses)
            .map(|i| {
                (
                    format!("a{i}"),
                    json!({ "x-rapport-field": { "type": "address" } }),
                )
            })
            .collect();
        json!({ "type": "object", "x-rapport-object": { "name": "wide", "pluralName": "wides" }, "properties": properties })
    };
    let create = "mutation($s: JSON!) { createObject(schema: $s) { name } }";
    let e = s
        .meta_error(create, json!({ "s": wide(limit / 8 + 1) }))
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains(&limit.to_string()),
        "{e}"
    );
    s.meta(create, json!({ "s": wide(limit / 8 - 2) })).await;
    let e = s
        .meta_error(
            "mutation($s: JSON!) { updateObject(name: \"wide\", schema: $s) { name } }",
            json!({ "s": wide(limit / 8 + 1) }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT", "{e}");
    assert!(e["message"].as_str().unwrap().contains("left"), "{e}");
    // A document over the meta-schema's limits is named, not echoed back.
    let over: serde_json::Map<String, Value> = (0..600)
        .map(|i| (format!("f{i}"), json!({ "type": "integer" })))
        .collect();
    let e = s
        .meta_error(create, json!({ "s": { "type": "object", "x-rapport-object": { "name": "over", "pluralName": "overs" }, "properties": over } }))
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().len() < 300, "{e}");
    still_serving(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn the_request_budget_covers_the_sdl_and_object_documents() {
    let s = TestServer::start().await;
    s.app
        .rate_limit
        .store(3, std::sync::atomic::Ordering::Relaxed);
    for path in [
        "/graphql/schema.graphql",
        "/metadata/objects/company.json",
        "/graphql/schema.graphql",
    ] {
        let (status, _) = s.get(path, Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{path}");
    }
    for path in ["/graphql/schema.graphql", "/metadata/objects/company.json"] {
        let (status, body) = s.get(path, Some(ADMIN_KEY)).await;
        assert_eq!(status, 429, "{path}: {body}");
    }
    s.finish().await;
}
