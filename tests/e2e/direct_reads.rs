//! The direct read path (`rapport_graphql::direct`) answers validated plain
//! reads without the field-by-field executor. Every answer it gives must be
//! the full executor's: each query here runs with the path
//! off, then twice with it on (the first run validates the document), and
//! the answers are compared; the direct-read counter proves the path ran.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TestServer};

/// The raw body and SQL statement count of one `POST /graphql`.
pub(crate) async fn raw(s: &TestServer, token: &str, body: &Value) -> (String, u64) {
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

const DIRECT: &str = "rapport_graphql_direct_declines_total";
const ONE_STATEMENT: &str = "rapport_graphql_one_statement_declines_total";

pub(crate) async fn counter(s: &TestServer, name: &str) -> u64 {
    let (_, metrics) = s.get("/metrics", None).await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
}

/// A counter's series for one decline reason.
pub(crate) async fn declines(s: &TestServer, metric: &str, reason: &str) -> u64 {
    counter(s, &format!("{metric}{{reason=\"{reason}\"}}")).await
}

/// Every decline of the direct path, whatever the reason.
async fn all_declines(s: &TestServer) -> u64 {
    let (_, metrics) = s.get("/metrics", None).await;
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("rapport_graphql_direct_declines_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The direct-read and one-statement counters.
async fn counters(s: &TestServer) -> (u64, u64) {
    (
        counter(s, "rapport_graphql_direct_reads_total").await,
        counter(s, "rapport_graphql_one_statement_reads_total").await,
    )
}

fn set_paths(s: &TestServer, direct: bool, one_statement: bool) {
    use std::sync::atomic::Ordering::Relaxed;
    s.app.direct_reads.store(direct, Relaxed);
    s.app.one_statement_reads.store(one_statement, Relaxed);
}

/// Which path is to answer a read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Path {
    /// The full executor (the direct path declines).
    Full,
    /// The direct path, fetching with one statement per level.
    Fetch,
    /// The direct path, the whole response from one statement.
    OneStatement,
    /// Whichever path: only the answers are compared.
    Any,
}

/// Runs `body` on the full executor, then on the direct path with and
/// without one-statement reads; asserts one answer from all, and that the
/// expected path gave it. Returns the answer.
pub(crate) async fn same_answer(s: &TestServer, token: &str, body: Value, expected: Path) -> Value {
    set_paths(s, false, false);
    let (full, full_statements) = raw(s, token, &body).await;
    set_paths(s, true, false);
    let _validates = raw(s, token, &body).await;
    let mut answers = Vec::new();
    for one_statement in [false, true] {
        set_paths(s, true, one_statement);
        let before = counters(s).await;
        let declined_before = all_declines(s).await;
        let (answer, statements) = raw(s, token, &body).await;
        let after = counters(s).await;
        let declined = all_declines(s).await - declined_before;
        let took = match (after.0 - before.0, after.1 - before.1) {
            (0, 0) => Path::Full,
            (1, 0) => Path::Fetch,
            (1, 1) => Path::OneStatement,
            other => panic!("counters moved by {other:?} for {body}"),
        };
        let wanted = match expected {
            Path::OneStatement if !one_statement => Path::Fetch,
            Path::Any => took,
            other => other,
        };
        assert_eq!(took, wanted, "path taken for {body}");
        // Every read the direct path leaves is counted, with its reason.
        let expected_declines = u64::from(took == Path::Full);
        assert_eq!(declined, expected_declines, "declines counted for {body}");
        if took == Path::OneStatement {
            assert_eq!(statements, 1, "one statement for {body}");
        }
        // A direct path that declines after reading leaves the full
        // executor to answer; one that answers reads no more than it would.
        assert!(
            took == Path::Full || statements <= full_statements,
            "{statements} statements directly, {full_statements} otherwise, for {body}"
        );
        answers.push(answer);
    }
    // Compared as JSON: the full executor orders the root fields of a
    // query by completion; the direct path in query order, as the spec says.
    let full: Value = serde_json::from_str(&full).expect("JSON");
    let mut answers: Vec<Value> = answers
        .iter()
        .map(|a| serde_json::from_str(a).expect("JSON"))
        .collect();
    for answer in &answers {
        assert_eq!(answer, &full, "the paths differ for {body}");
        // Below the root, the order of keys is the query's on every path.
        if let Some(roots) = full["data"].as_object() {
            for (key, value) in roots {
                assert_eq!(
                    answer["data"][key].to_string(),
                    value.to_string(),
                    "order differs under {key}"
                );
            }
        }
    }
    set_paths(s, true, true);
    answers.pop().expect("answers")
}

pub(crate) async fn admin_same(s: &TestServer, query: &str, variables: Value, path: Path) -> Value {
    same_answer(
        s,
        ADMIN_KEY,
        json!({ "query": query, "variables": variables }),
        path,
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
        Path::OneStatement,
    )
    .await;
    assert!(q1["data"]["companies"]["nodes"].as_array().unwrap().len() > 5);
    admin_same(&s, "{ companies(first: 50, orderBy: { name: ASC }) { nodes { id name domain
        people(first: 10) { nodes { id name { firstName lastName } email } }
        opportunities(first: 100, filter: { stage: { notIn: [WON, LOST] } }) { nodes { id name stage amount { amount currencyCode } } } } } }", json!({}), Path::OneStatement).await;
    let q3 = admin_same(&s, "{ opportunities(first: 100, filter: { stage: { in: [PROPOSAL, NEGOTIATION] }, amount: { amount: { gt: \"1000\" } } },
        orderBy: { amount: { amount: DESC } }) { nodes { id name amount { amount currencyCode } company { name } } } }", json!({}), Path::OneStatement).await;
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
    let one = admin_same(&s, q4, json!({ "id": company }), Path::OneStatement).await;
    assert_eq!(one["data"]["company"]["id"], company);
    // Not found, and not a UUID: null either way.
    let none = admin_same(
        &s,
        q4,
        json!({ "id": "00000000-0000-4000-8000-000000000000" }),
        Path::OneStatement,
    )
    .await;
    assert_eq!(none["data"]["company"], Value::Null);
    // Nothing to read: no statement at all.
    admin_same(&s, q4, json!({ "id": "not-a-uuid" }), Path::Fetch).await;

    // Response keys name the columns of PostgreSQL's lateral rows in the
    // JSON the database builds (related records inside child lists), whose
    // identifiers hold 63 bytes: a longer alias would come back cut, so
    // the fetch path answers it there. Root rows, related records joined
    // to them and child arrays name no column by key.
    let (fits, too_long) = ("k".repeat(63), "k".repeat(64));
    let aliased = |alias: &str| {
        format!(
            "{{ companies(first: 3, orderBy: {{ name: ASC }}) {{ nodes {{ people(first: 2) {{ nodes {{ {alias}: email company {{ {alias}: name }} }} }} }} }} }}"
        )
    };
    let answer = admin_same(&s, &aliased(&fits), json!({}), Path::OneStatement).await;
    let first_person =
        |answer: &Value| answer["data"]["companies"]["nodes"][0]["people"]["nodes"][0].clone();
    assert!(first_person(&answer)[&fits].is_string(), "{answer}");
    let path = if on_postgres() {
        Path::Fetch
    } else {
        Path::OneStatement
    };
    let answer = admin_same(&s, &aliased(&too_long), json!({}), path).await;
    assert!(first_person(&answer)[&too_long].is_string(), "{answer}");
    let joined = format!(
        "{{ people(first: 3, orderBy: {{ email: ASC }}) {{ nodes {{ {too_long}: email company {{ {too_long}: name }} }} }} }}"
    );
    let answer = admin_same(&s, &joined, json!({}), Path::OneStatement).await;
    assert!(answer["data"]["people"]["nodes"][0][&too_long].is_string());
    let in_child_list = format!(
        "{{ companies(first: 3, orderBy: {{ name: ASC }}) {{ nodes {{ {too_long}: name people(first: 2) {{ nodes {{ {too_long}: email }} }} }} }} }}"
    );
    let answer = admin_same(&s, &in_child_list, json!({}), Path::OneStatement).await;
    assert!(answer["data"]["companies"]["nodes"][0][&too_long].is_string());

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
        Path::Fetch,
    )
    .await;
    let end = paged["data"]["list"]["pageInfo"]["endCursor"].clone();
    assert!(end.is_string(), "{paged}");
    let next = admin_same(
        &s,
        "query Page($after: String, $n: Int) { list: companies(first: $n, after: $after, orderBy: [{ employees: DESC }, { name: ASC }]) {
            pageInfo { hasPreviousPage startCursor } nodes { id name } } }",
        json!({ "n": 7, "after": end }),
        Path::Fetch,
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
        Path::Fetch,
    )
    .await;
    let roots = "{ b: companies(first: 1) { nodes { id } } a: people(first: 1) { nodes { id } } }";
    let ordered = admin_same(&s, roots, json!({}), Path::OneStatement).await;
    let keys: Vec<&String> = ordered["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["b", "a"], "root fields in query order");

    // One operation of several, chosen by name.
    let ops = "query A { companies(first: 1) { nodes { id } } } query B { people(first: 2) { nodes { id email } } }";
    let b = same_answer(
        &s,
        ADMIN_KEY,
        json!({ "query": ops, "operationName": "B" }),
        Path::OneStatement,
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
    // The same in a child list (on PostgreSQL, an array in a root row).
    let child_list = "query($after: String, $n: Int) { companies(first: 2) { nodes { id
        people(first: $n, after: $after) { nodes { id } } } } }";
    // Validated with good values, then sent bad ones: the direct path
    // declines or fails, and the full executor reports the error.
    for query in [list, child_list] {
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
                json!({ "query": query, "variables": variables }),
                Path::Full,
            )
            .await;
            let code = answer["errors"][0]["extensions"]["code"].as_str();
            assert_eq!(code, Some("BAD_USER_INPUT"), "{variables}: {answer}");
        }
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
        let before = declines(&s, DIRECT, "not_planned").await;
        same_answer(
            &s,
            ADMIN_KEY,
            json!({ "query": query, "variables": variables }),
            Path::Full,
        )
        .await;
        // Once per direct run (with and without one statement).
        let counted = declines(&s, DIRECT, "not_planned").await - before;
        assert_eq!(counted, 2, "{query}");
    }
    // A mutation is not the direct path's, once validated as any document.
    let create = json!({ "query": "mutation { createCompany(data: { name: \"t\" }) { id } }" });
    let first = declines(&s, DIRECT, "not_validated").await;
    raw(&s, ADMIN_KEY, &create).await;
    assert_eq!(declines(&s, DIRECT, "not_validated").await, first + 1);
    let before = declines(&s, DIRECT, "not_a_query").await;
    raw(&s, ADMIN_KEY, &create).await;
    assert_eq!(declines(&s, DIRECT, "not_a_query").await, before + 1);
    s.finish().await;
}

#[tokio::test]
async fn direct_reads_keep_record_scopes_and_narrower_views() {
    let s = TestServer::start().await;
    s.create_rep_role().await;
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
    let mine = same_answer(&s, &ann, list.clone(), Path::OneStatement).await;
    assert_eq!(mine["data"]["companies"]["totalCount"], json!(2), "{mine}");
    let all = same_answer(&s, ADMIN_KEY, list.clone(), Path::OneStatement).await;
    assert_eq!(all["data"]["companies"]["totalCount"], json!(3), "{all}");

    // A masked field narrows the role's view: its reads are planned on
    // that view, and one statement leaves the masked value to the fetch
    // path, which masks it.
    s.meta(
        "mutation($s: JSON!) { createField(object: \"company\", name: \"vatNumber\", schema: $s) { name } }",
        json!({ "s": { "type": "string", "title": "VAT number", "x-rapport-field": { "masked": true } } }),
    )
    .await;
    s.post_with(
        "/graphql",
        Some(&ann),
        json!({ "query": "mutation { createCompany(data: { name: \"Ann's VAT\", vatNumber: \"DE123456789\" }) { id } }" }),
    )
    .await;
    let unmasked = json!({ "query": "{ companies(first: 5) { nodes { name } } }" });
    same_answer(&s, &ann, unmasked, Path::OneStatement).await;
    let masked = json!({ "query": "{ companies(first: 5, orderBy: { name: ASC }) { nodes { name vatNumber } } }" });
    let before = declines(&s, ONE_STATEMENT, "not_writable").await;
    let shown = same_answer(&s, &ann, masked, Path::Fetch).await;
    assert_eq!(
        declines(&s, ONE_STATEMENT, "not_writable").await,
        before + 1
    );
    let nodes = shown["data"]["companies"]["nodes"]
        .as_array()
        .expect("nodes");
    let vat = nodes
        .iter()
        .find(|n| n["name"] == "Ann's VAT")
        .and_then(|n| n["vatNumber"].as_str())
        .expect("the company with a VAT number");
    assert!(vat.contains('*') && vat != "DE123456789", "{shown}");
    s.finish().await;
}

/// Every document through every path, for every shape of role: the whole
/// catalog, record scopes, hidden objects and fields, read-only fields,
/// masked fields seen masked and seen clear. A role sees one answer
/// whichever path gives it; a document naming what the role cannot see is
/// refused the same way on all of them.
#[tokio::test]
async fn every_role_shape_gets_one_answer_on_every_path() {
    let s = TestServer::start().await;
    rapport_server::load_demo(&s.app, 1)
        .await
        .expect("demo data");
    s.meta(
        "mutation($s: JSON!) { createField(object: \"company\", name: \"vatNumber\", schema: $s) { name } }",
        json!({ "s": { "type": "string", "x-rapport-field": { "masked": true } } }),
    )
    .await;
    s.gql(
        "mutation { updateCompanies(filter: { name: { ilike: \"%a%\" } }, data: { vatNumber: \"DE123456789\" }) { id } }",
        json!({}),
    )
    .await;
    s.create_rep_role().await;
    let roles = [
        (
            "viewer",
            json!({
                "default": { "read": "all", "create": false, "update": "none", "delete": "none", "destroy": "none" },
                "objects": { "opportunity": { "read": "none" } },
                "fields": { "company.annualRevenue": "none", "company.phone": "read", "person.email": "none" }
            }),
        ),
        (
            "auditor",
            json!({
                "default": { "read": "all", "create": false, "update": "none", "delete": "none", "destroy": "none" },
                "fields": { "company.vatNumber": "read" }
            }),
        ),
    ];
    for (name, definition) in &roles {
        s.meta(
            "mutation($n: String!, $d: JSON!) { createRole(name: $n, definition: $d) }",
            json!({ "n": name, "d": definition }),
        )
        .await;
    }
    let rep = s.member_token("rep@x.example", "rep").await;
    s.post_with(
        "/graphql",
        Some(&rep),
        json!({ "query": "mutation { createCompany(data: { name: \"Rep's own\", vatNumber: \"FR987654321\" }) { id } }" }),
    )
    .await;
    let viewer = s.member_token("viewer@x.example", "viewer").await;
    let auditor = s.member_token("auditor@x.example", "auditor").await;
    let company = s
        .gql(
            "{ companies(first: 1, orderBy: { name: ASC }) { nodes { id } } }",
            json!({}),
        )
        .await["companies"]["nodes"][0]["id"]
        .clone();

    let documents = [
        ("{ companies(first: 10, orderBy: { name: ASC }) { totalCount nodes { id name domain tier employees owner { name { firstName } } } } }", json!({})),
        ("{ companies(first: 10, orderBy: { name: DESC }) { nodes { name vatNumber phone } } }", json!({})),
        ("{ companies(first: 5, orderBy: { name: ASC }) { nodes { name annualRevenue { amount currencyCode } } } }", json!({})),
        ("{ companies(first: 5, orderBy: { name: ASC }, filter: { tier: { isNull: false } }) { pageInfo { hasNextPage endCursor } edges { cursor node { ...C } } } }
          fragment C on Company { name people(first: 3, orderBy: { lastName: ASC }) { nodes { name { firstName lastName } } } }", json!({})),
        ("{ people(first: 10, orderBy: { lastName: ASC }) { nodes { name { lastName } email company { name vatNumber } } } }", json!({})),
        ("{ people(first: 10, orderBy: { lastName: ASC }) { nodes { name { lastName } company { name phone } } } }", json!({})),
        ("{ opportunities(first: 5) { nodes { name stage } } }", json!({})),
        ("{ companies(filter: { vatNumber: { eq: \"DE123456789\" } }) { nodes { name } } }", json!({})),
        ("query($id: ID!) { company(id: $id) { name vatNumber people(first: 5) { nodes { id } } } }", json!({ "id": company })),
        ("query($id: ID!) { company(id: $id) { name opportunities(first: 5) { nodes { name } } } }", json!({ "id": company })),
    ];
    let mut answered = Vec::new();
    for (role, token) in [
        ("admin", ADMIN_KEY),
        ("rep", rep.as_str()),
        ("viewer", viewer.as_str()),
        ("auditor", auditor.as_str()),
    ] {
        for (query, variables) in &documents {
            let body = json!({ "query": query, "variables": variables });
            let answer = same_answer(&s, token, body, Path::Any).await;
            answered.push((role, *query, answer));
        }
    }
    let answer = |role: &str, i: usize| {
        answered
            .iter()
            .filter(|(r, _, _)| *r == role)
            .nth(i)
            .map(|(_, _, a)| a.clone())
            .expect("an answer")
    };
    let vat_numbers = |a: &Value| -> Vec<String> {
        a["data"]["companies"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["vatNumber"].as_str().map(str::to_string))
            .collect()
    };
    // The viewer sees VAT numbers masked, the auditor and the admin clear.
    let masked = vat_numbers(&answer("viewer", 1));
    assert!(
        !masked.is_empty() && masked.iter().all(|v| v.contains('*')),
        "{masked:?}"
    );
    for role in ["auditor", "admin"] {
        let clear = vat_numbers(&answer(role, 1));
        assert!(
            clear.iter().any(|v| v == "DE123456789"),
            "{role}: {clear:?}"
        );
    }
    // Narrower views take the direct path too: one statement where nothing
    // is masked, the fetch path (which masks) where something is.
    let body = |i: usize| json!({ "query": documents[i].0, "variables": documents[i].1 });
    same_answer(&s, &viewer, body(0), Path::OneStatement).await;
    same_answer(&s, &viewer, body(1), Path::Fetch).await;
    same_answer(&s, &auditor, body(1), Path::OneStatement).await;
    same_answer(&s, &viewer, body(8), Path::Fetch).await;
    // The rep reads only their own company; the viewer cannot name what
    // is hidden from them.
    let own = answer("rep", 0);
    assert_eq!(own["data"]["companies"]["totalCount"], json!(1), "{own}");
    // A role changed after a document was validated for it: the document
    // is validated again on the role's new view, and refused there.
    let mut narrower = roles[0].1.clone();
    narrower["fields"]["company.domain"] = json!("none");
    s.meta(
        "mutation($d: JSON!) { updateRole(name: \"viewer\", definition: $d) }",
        json!({ "d": narrower }),
    )
    .await;
    let (now, _) = raw(&s, &viewer, &body(0)).await;
    assert!(now.contains("\"errors\""), "{now}");
    // Ordering by a field that becomes masked: the order would tell its
    // values apart, so the read is refused from then on, on every path.
    let ordered = json!({ "query": "{ companies(first: 5, orderBy: { vatNumber: ASC }) { nodes { name } } }" });
    same_answer(&s, &auditor, ordered.clone(), Path::OneStatement).await;
    let mut masking = roles[1].1.clone();
    masking["fields"] = json!({});
    s.meta(
        "mutation($d: JSON!) { updateRole(name: \"auditor\", definition: $d) }",
        json!({ "d": masking }),
    )
    .await;
    let (now, _) = raw(&s, &auditor, &ordered).await;
    assert!(now.contains("\"errors\""), "{now}");
    let refused = same_answer(&s, &auditor, ordered, Path::Full).await;
    assert!(refused["errors"].is_array(), "{refused}");
    let looked_up = answer("viewer", 8);
    assert!(
        looked_up["data"]["company"]["vatNumber"].is_string(),
        "{looked_up}"
    );
    for i in [2, 4, 6, 7, 9] {
        let refused = answer("viewer", i);
        assert!(refused["errors"].is_array(), "document {i}: {refused}");
    }
    s.finish().await;
}

/// Whether the tests run on PostgreSQL (SQLite otherwise).
fn on_postgres() -> bool {
    std::env::var("RAPPORT_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

#[tokio::test]
async fn one_statement_reads_write_every_kind_of_value_and_list() {
    let s = TestServer::start().await;
    s.create_object(crate::custom_object::vehicle_document())
        .await;
    let mut ids = Vec::new();
    for name in ["Acme", "Zeta", "Ohm"] {
        let d = s
            .gql(
                "mutation($n: String!) { createCompany(data: { name: $n }) { id } }",
                json!({ "n": name }),
            )
            .await;
        ids.push(d["createCompany"]["id"].clone());
    }
    let (acme, zeta) = (ids[0].clone(), ids[1].clone());
    s.gql(
        "mutation($d: [VehicleCreateInput!]!) { createVehicles(data: $d) { id } }",
        json!({ "d": [
            { "plate": "AB-100", "notes": "fleet \"car\"\nline two \\ done", "spec": "**fast**", "contactEmail": "fleet@acme.example",
              "hotline": "+4930123456", "manual": "https://acme.example/manual", "seats": 5, "weightKg": 1320.5, "discountRate": 12.5,
              "engineSize": "1.995", "price": { "amount": "32000.50", "currencyCode": "EUR" }, "electric": false,
              "firstRegistered": "2021-03-14", "lastServiceAt": "2024-05-01T10:30:00+02:00", "color": "RED",
              "features": ["GPS", "SUNROOF"], "condition": 4, "extras": { "towbar": true, "axles": [1, 2], "note": null },
              "garage": { "street1": "1 Main St", "city": "Berlin", "country": "DE", "latitude": 52.5 },
              "driver": { "firstName": "Ada", "lastName": "Lovelace" }, "companyId": acme,
              "servicedByIds": [acme, zeta], "relatedObject": "company", "relatedId": zeta },
            { "plate": "CD-200", "seats": 2, "weightKg": 900.125, "engineSize": "0.900", "price": { "amount": "9000", "currencyCode": "EUR" },
              "electric": true, "firstRegistered": "2023-07-01", "color": "BLUE", "features": ["GPS"], "companyId": zeta,
              "servicedByIds": [zeta], "relatedObject": "company", "relatedId": zeta },
            { "plate": "EF-300", "seats": 7, "engineSize": "3.2", "price": { "amount": "51000", "currencyCode": "USD" },
              "firstRegistered": "2022-11-30", "color": "GREEN", "features": [], "companyId": acme, "servicedByIds": [acme] },
            { "plate": "GH-400", "color": "BLUE" },
            { "plate": "IJ-500", "color": "RED", "companyId": acme }
        ] }),
    )
    .await;
    let gone = s
        .gql(
            "{ vehicles(filter: { plate: { eq: \"IJ-500\" } }) { nodes { id } } }",
            json!({}),
        )
        .await["vehicles"]["nodes"][0]["id"]
        .clone();
    s.gql(
        "mutation($id: ID!) { deleteVehicle(id: $id) { id } }",
        json!({ "id": gone }),
    )
    .await;

    // Every stored kind but floats, composites null and not, the three
    // kinds of child list (foreign key, junction, polymorphic), page info
    // and totals at the root and below, backward pages, deleted records.
    let every = "{ __typename
        vehicles(first: 3, orderBy: { plate: ASC }) { __typename totalCount pageInfo { __typename hasNextPage hasPreviousPage }
          edges { __typename node { __typename id version createdAt updatedAt deletedAt ownerId plate notes spec contactEmail hotline
            manual seats engineSize price { __typename amount currencyCode } electric firstRegistered lastServiceAt color features
            condition extras garage { street1 city country } driver { firstName lastName } companyId relatedObject relatedId
            company { name vehicles(orderBy: { plate: DESC }) { totalCount nodes { plate } } }
            servicedBy(first: 1, orderBy: { name: ASC }) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { name } } } } }
        companies(orderBy: { name: ASC }) { nodes { name
          servicedVehicles(orderBy: { plate: ASC }) { totalCount nodes { plate color } }
          linkedVehicles { totalCount nodes { plate } }
          vehicles(filter: { color: { in: [RED, BLUE] } }) { pageInfo { hasNextPage } nodes { plate } } } }
        tail: vehicles(last: 2, orderBy: { plate: ASC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } }
        everything: vehicles(withDeleted: true, orderBy: { plate: ASC }) { totalCount nodes { plate deletedAt } }
        electric: vehicles(filter: { electric: { eq: true } }) { nodes { plate electric } }
        found: vehicles(search: \"ab\") { nodes { plate } }
        none: vehicles(filter: { plate: { eq: \"none\" } }) { totalCount pageInfo { hasNextPage } nodes { plate } }
        counted: vehicles { totalCount }
        flags: vehicles(first: 1) { __typename pageInfo { hasPreviousPage } }
        owners: companies(orderBy: { name: ASC }) { nodes { vehicles { totalCount } servicedVehicles { pageInfo { hasPreviousPage } } } } }";
    let every = admin_same(&s, every, json!({}), Path::OneStatement).await;
    let data = &every["data"];
    assert_eq!(data["vehicles"]["totalCount"], json!(4), "{every}");
    assert_eq!(
        data["vehicles"]["pageInfo"]["hasNextPage"],
        json!(true),
        "{every}"
    );
    let first = &data["vehicles"]["edges"][0]["node"];
    let first_id = first["id"].as_str().expect("id").to_string();
    assert_eq!(first["engineSize"], json!("1.995"));
    assert_eq!(first["lastServiceAt"], json!("2024-05-01T08:30:00.000000Z"));
    assert_eq!(first["servicedBy"]["totalCount"], json!(2));
    assert_eq!(first["servicedBy"]["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(data["vehicles"]["edges"][1]["node"]["engineSize"], "0.9");
    assert_eq!(data["tail"]["pageInfo"]["hasPreviousPage"], json!(true));
    assert_eq!(data["everything"]["totalCount"], json!(5));
    assert_eq!(data["counted"]["totalCount"], json!(4));
    assert_eq!(
        data["owners"]["nodes"][0]["vehicles"]["totalCount"],
        json!(2)
    );

    // One root field: on PostgreSQL the statement returns its records as
    // rows and the server writes them (related records joined to the
    // rows, child lists as arrays of values, related records inside those
    // built by the database); the same answers as every other path.
    let gone_id = gone.as_str().expect("id").to_string();
    // Cursors are written by the fetch path; paging on from one is not.
    // Acme's two vehicles: after the first, and past the end.
    let cursors = admin_same(
        &s,
        "query($id: ID!) { company(id: $id) { vehicles(first: 2, orderBy: { plate: ASC }) { edges { cursor } } } }",
        json!({ "id": acme }),
        Path::Fetch,
    )
    .await;
    let cursors = &cursors["data"]["company"]["vehicles"]["edges"];
    let (child_cursor, past_end) = (cursors[0]["cursor"].clone(), cursors[1]["cursor"].clone());
    let totals = admin_same(
        &s,
        "query($c: String) { companies(orderBy: { name: ASC }) { nodes { name
            vehicles(after: $c, orderBy: { plate: ASC }) { totalCount pageInfo { hasPreviousPage } nodes { plate } } } } }",
        json!({ "c": past_end }),
        Path::OneStatement,
    )
    .await;
    // A page past the end is empty, and its parent's total still counts
    // every child.
    let nodes = &totals["data"]["companies"]["nodes"];
    assert_eq!(nodes[0]["vehicles"]["totalCount"], json!(2), "{totals}");
    assert_eq!(nodes[2]["vehicles"]["totalCount"], json!(1), "{totals}");
    assert_eq!(nodes[0]["vehicles"]["nodes"], json!([]), "{totals}");
    let one_root = [
        ("{ __typename vehicles(first: 3, orderBy: { plate: ASC }) { __typename pageInfo { __typename hasNextPage hasPreviousPage }
          edges { __typename node { __typename id version createdAt updatedAt deletedAt ownerId plate notes spec contactEmail hotline
            manual seats engineSize price { __typename amount currencyCode } electric firstRegistered lastServiceAt color features
            condition extras garage { street1 city country } driver { firstName lastName } companyId relatedObject relatedId
            company { name vehicles(orderBy: { plate: DESC }) { totalCount nodes { plate } } }
            servicedBy(first: 1, orderBy: { name: ASC }) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { name } } } }
          nodes { plate p: price { amount } driver { lastName } } } }", json!({})),
        ("{ companies(orderBy: { name: ASC }) { nodes { name
            servicedVehicles(orderBy: { plate: ASC }) { totalCount nodes { plate color } }
            linkedVehicles { totalCount nodes { plate } }
            vehicles(filter: { color: { in: [RED, BLUE] } }) { pageInfo { hasNextPage } nodes { plate } } } } }", json!({})),
        ("{ vehicles(last: 2, orderBy: { plate: ASC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } } }", json!({})),
        ("{ vehicles(first: 2, orderBy: { plate: DESC }) { pageInfo { hasNextPage } nodes { plate color } } }", json!({})),
        ("{ vehicles(filter: { plate: { eq: \"none\" } }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } } }", json!({})),
        ("{ vehicles(withDeleted: true, orderBy: { plate: ASC }) { nodes { plate deletedAt } } }", json!({})),
        ("query($id: ID!) { vehicle(id: $id) { __typename plate seats price { amount currencyCode } features extras
            company { name } servicedBy { totalCount nodes { name } } } }", json!({ "id": first_id })),
        ("query($id: ID!) { vehicle(id: $id) { plate } }", json!({ "id": gone_id })),
        // Child lists as arrays of values: every kind, composites null and
        // not, edges, both page flags, related records and lists inside
        // them, deleted children left out.
        ("{ companies(orderBy: { name: ASC }) { nodes { name
            vehicles(orderBy: { plate: ASC }) { __typename pageInfo { __typename hasNextPage hasPreviousPage }
              edges { __typename node { __typename id version createdAt updatedAt deletedAt ownerId plate notes spec contactEmail
                hotline manual seats engineSize price { __typename amount currencyCode } electric firstRegistered lastServiceAt
                color features condition extras garage { street1 city country } driver { firstName lastName } relatedObject
                company { name } servicedBy(first: 1, orderBy: { name: DESC }) { pageInfo { hasNextPage } nodes { name } } } }
              nodes { plate } }
            servicedVehicles(first: 1, orderBy: { plate: ASC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate price { amount } } }
            linkedVehicles(first: 1) { pageInfo { hasNextPage } nodes { plate driver { firstName } } } } } }", json!({})),
        ("query($id: ID!) { company(id: $id) { name
            vehicles(first: 1, orderBy: { plate: DESC }) { pageInfo { hasNextPage } nodes { plate garage { city } } }
            servicedVehicles(filter: { color: { eq: RED } }) { nodes { plate features } } } }", json!({ "id": acme })),
        // Related records joined to the root rows: present, absent, and
        // with their own related records and child lists.
        ("{ vehicles(withDeleted: true, orderBy: { plate: ASC }) { nodes { plate
            company { __typename id name employees vehicles(orderBy: { plate: ASC }) { nodes { plate company { name } } } }
            owner: company { name } } } }", json!({})),
        ("query($c: String) { companies(orderBy: { name: ASC }) { nodes { name
            after: vehicles(first: 1, after: $c, orderBy: { plate: ASC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } }
            none: vehicles(first: 0) { pageInfo { hasNextPage } nodes { plate } }
            all: vehicles(withDeleted: true, orderBy: { plate: DESC }) { nodes { plate deletedAt } }
            found: vehicles(search: \"ef\") { nodes { plate } } } } }", json!({ "c": child_cursor })),
    ];
    for (query, variables) in one_root {
        let before = counter(&s, "rapport_graphql_row_reads_total").await;
        let answer = admin_same(&s, query, variables, Path::OneStatement).await;
        let after = counter(&s, "rapport_graphql_row_reads_total").await;
        // `same_answer` ends with one read on the one-statement path.
        let expected = u64::from(on_postgres());
        assert_eq!(after - before, expected, "rows read for {query}: {answer}");
    }
    let single = admin_same(
        &s,
        "query($id: ID!) { vehicle(id: $id) { plate price { amount } company { name } } }",
        json!({ "id": first_id }),
        Path::OneStatement,
    )
    .await;
    assert_eq!(
        single["data"]["vehicle"],
        json!({ "plate": "AB-100", "price": { "amount": "32000.5" }, "company": { "name": "Acme" } })
    );

    // Floats: PostgreSQL writes them as Rust does; SQLite with 15 digits,
    // so the fetch path answers there.
    let floats = "{ vehicles(orderBy: { plate: ASC }) { nodes { plate weightKg discountRate garage { latitude } } } }";
    let path = if on_postgres() {
        Path::OneStatement
    } else {
        Path::Fetch
    };
    let floats = admin_same(&s, floats, json!({}), path).await;
    assert_eq!(
        floats["data"]["vehicles"]["nodes"][1]["weightKg"],
        json!(900.125)
    );
    let nested_floats = "{ companies(orderBy: { name: ASC }) { nodes { name
        vehicles(orderBy: { plate: ASC }) { nodes { plate weightKg discountRate garage { latitude } } } } } }";
    let nested_floats = admin_same(&s, nested_floats, json!({}), path).await;
    assert_eq!(
        nested_floats["data"]["companies"]["nodes"][0]["vehicles"]["nodes"][0]["weightKg"],
        json!(1320.5)
    );

    // Paging on from a cursor the fetch path gave; cursors themselves are
    // written by the fetch path.
    let cursor = admin_same(
        &s,
        "{ vehicles(first: 1, orderBy: { plate: ASC }) { edges { cursor } } }",
        json!({}),
        Path::Fetch,
    )
    .await["data"]["vehicles"]["edges"][0]["cursor"]
        .clone();
    let next = admin_same(
        &s,
        "query($c: String) { vehicles(first: 2, after: $c, orderBy: { plate: ASC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } } }",
        json!({ "c": cursor }),
        Path::OneStatement,
    )
    .await;
    assert_eq!(next["data"]["vehicles"]["nodes"][0]["plate"], "CD-200");
    let before = admin_same(
        &s,
        "query($c: String) { vehicles(last: 2, before: $c, orderBy: { plate: DESC }) { pageInfo { hasNextPage hasPreviousPage } nodes { plate } } }",
        json!({ "c": cursor }),
        Path::OneStatement,
    )
    .await;
    assert_eq!(before["data"]["vehicles"]["nodes"][0]["plate"], "EF-300");

    // Values outside their enum, which the platform never stores (it
    // refuses to drop an option in use) but a hand-edited database may
    // hold: GraphQL cannot send them, so the full executor reports it.
    let table = s.app.live().meta.layout.table("vehicle");
    let read = "{ vehicles(orderBy: { plate: ASC }) { nodes { plate color features } } }";
    admin_same(&s, read, json!({}), Path::OneStatement).await;
    // The same values in a child list: on PostgreSQL an array of values
    // in a root row, which the server checks as it writes them.
    let nested = "{ companies(orderBy: { name: ASC }) { nodes { name vehicles(orderBy: { plate: ASC }) { nodes { plate color features } } } } }";
    admin_same(&s, nested, json!({}), Path::OneStatement).await;
    let json_text = if on_postgres() {
        "'[\"GPS\", \"NAV\"]'::jsonb"
    } else {
        "'[\"GPS\",\"NAV\"]'"
    };
    for edit in [
        format!("UPDATE {table} SET \"color\" = 'PURPLE' WHERE \"plate\" = 'CD-200'"),
        format!(
            "UPDATE {table} SET \"color\" = 'RED', \"features\" = {json_text} WHERE \"plate\" = 'CD-200'"
        ),
    ] {
        hand_edit(&s, edit).await;
        refused_after_reading(&s, read, nested).await;
    }
    // A currency without its amount, which the schema's type requires.
    let priced =
        "{ vehicles(orderBy: { plate: ASC }) { nodes { plate price { amount currencyCode } } } }";
    let nested_priced = "{ companies(orderBy: { name: ASC }) { nodes { name
        vehicles(orderBy: { plate: ASC }) { nodes { plate price { amount currencyCode } } } } } }";
    for query in [priced, nested_priced] {
        admin_same(&s, query, json!({}), Path::OneStatement).await;
    }
    let edit = format!("UPDATE {table} SET \"price__amount\" = NULL WHERE \"plate\" = 'AB-100'");
    hand_edit(&s, edit).await;
    refused_after_reading(&s, priced, nested_priced).await;
    s.finish().await;
}

/// Changes stored values behind the platform's back.
async fn hand_edit(s: &TestServer, sql: String) {
    s.app
        .db
        .conn
        .execute_raw(Statement::from_string(s.app.db.db_backend(), sql))
        .await
        .expect("hand edit");
}

/// The one statement read `list` (and `nested`, the same records as child
/// lists), found a value the full executor rejects, and left the answer
/// to it: one statement more for the list, two for the list and its child
/// lists.
async fn refused_after_reading(s: &TestServer, list: &str, nested: &str) {
    for (query, expected) in [(list, 2), (nested, 3)] {
        let before = declines(s, DIRECT, "rejected_value").await;
        let (answer, statements) = raw(s, ADMIN_KEY, &json!({ "query": query })).await;
        assert!(answer.contains("\"errors\""), "{answer}");
        assert_eq!(statements, expected, "{answer}");
        let counted = declines(s, DIRECT, "rejected_value").await - before;
        assert_eq!(counted, 1, "{answer}");
    }
}

#[tokio::test]
async fn sealed_values_are_opened_not_sent_as_stored() {
    let s = TestServer::start_keyed(
        crate::harness::TestDb::new().await,
        &[crate::encryption::KEY_A],
    )
    .await;
    s.meta(
        crate::encryption::CREATE_FIELD,
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "encryptedText" } } }),
    )
    .await;
    s.gql(
        "mutation { createCompany(data: { name: \"Acme\", taxId: \"DE123456789\" }) { id } }",
        json!({}),
    )
    .await;
    let read = "{ companies { nodes { name taxId } } }";
    let before = declines(&s, ONE_STATEMENT, "not_writable").await;
    let clear = admin_same(&s, read, json!({}), Path::Fetch).await;
    // One statement cannot open a sealed value; it says so.
    let counted = declines(&s, ONE_STATEMENT, "not_writable").await - before;
    assert_eq!(counted, 1);
    assert_eq!(
        clear["data"]["companies"]["nodes"][0]["taxId"],
        "DE123456789"
    );
    admin_same(
        &s,
        "{ companies { nodes { name } } }",
        json!({}),
        Path::OneStatement,
    )
    .await;
    s.finish().await;
}
