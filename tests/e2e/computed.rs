//! Formulas, rollups and auto-numbers: defined through the metadata API,
//! checked when defined, always current, filterable and sortable.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

async fn field(s: &TestServer, object: &str, name: &str, schema: Value) -> Value {
    s.meta(
        "mutation($o: String!, $n: String!, $s: JSON!) { createField(object: $o, name: $n, schema: $s) { name type } }",
        json!({ "o": object, "n": name, "s": schema }),
    )
    .await
}

async fn field_error(s: &TestServer, object: &str, name: &str, schema: Value) -> Value {
    s.meta_error(
        "mutation($o: String!, $n: String!, $s: JSON!) { createField(object: $o, name: $n, schema: $s) { name } }",
        json!({ "o": object, "n": name, "s": schema }),
    )
    .await
}

fn formula(expression: &str, result: &str) -> Value {
    json!({ "readOnly": true, "x-rapport-field": { "type": "formula", "expression": expression, "resultType": result } })
}

#[tokio::test]
async fn formulas_and_rollups_stay_current() {
    let s = TestServer::start().await;
    // `opportunity.weightedAmount` (amount × stage probability) is a standard formula.
    field(
        &s,
        "opportunity",
        "isBig",
        formula("amount.amount >= 10000", "boolean"),
    )
    .await;
    field(
        &s,
        "opportunity",
        "label",
        formula("concat(upper(name), ' @ ', company.name)", "text"),
    )
    .await;
    field(
        &s,
        "opportunity",
        "daysOpen",
        formula("daysBetween(closeDate, today())", "integer"),
    )
    .await;
    field(&s, "company", "activePipeline", json!({ "x-rapport-field": { "type": "rollup", "relation": "opportunities",
        "function": "sum", "field": "amount", "filter": { "stage": { "notIn": ["WON", "LOST"] } } } })).await;
    field(
        &s,
        "company",
        "wonDeals",
        json!({ "x-rapport-field": { "type": "rollup", "relation": "opportunities",
        "function": "count", "filter": { "stage": { "eq": "WON" } } } }),
    )
    .await;
    field(
        &s,
        "company",
        "weightedPipeline",
        json!({ "x-rapport-field": { "type": "rollup", "relation": "opportunities",
        "function": "sum", "field": "weightedAmount" } }),
    )
    .await;

    let c = s
        .gql(
            "mutation { createCompanies(data: [{ name: \"Acme\" }, { name: \"Zeta\" }]) { id } }",
            json!({}),
        )
        .await;
    let (acme, zeta) = (
        c["createCompanies"][0]["id"].as_str().unwrap().to_string(),
        c["createCompanies"][1]["id"].as_str().unwrap().to_string(),
    );
    let created = s
        .gql(
            "mutation($d: [OpportunityCreateInput!]!) { createOpportunities(data: $d) { id name weightedAmount isBig label } }",
            json!({ "d": [
                { "name": "big", "companyId": acme, "stage": "PROPOSAL", "amount": { "amount": "20000", "currencyCode": "EUR" }, "closeDate": "2020-01-01" },
                { "name": "small", "companyId": acme, "stage": "NEW", "amount": { "amount": "1000", "currencyCode": "EUR" } },
                { "name": "won", "companyId": zeta, "stage": "WON", "amount": { "amount": "5000", "currencyCode": "EUR" } }
            ] }),
        )
        .await;
    let big = &created["createOpportunities"][0];
    assert_eq!(
        big["weightedAmount"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        10000.0,
        "{big}"
    );
    assert_eq!(big["isBig"], true);
    assert_eq!(big["label"], "BIG @ Acme");
    let big_id = big["id"].as_str().unwrap().to_string();

    let q = "{ companies(orderBy: [{ activePipeline: DESC }]) { nodes { name activePipeline wonDeals weightedPipeline } } }";
    let d = s.gql(q, json!({})).await;
    let num = |v: &Value| {
        v.as_str()
            .map(|s| s.parse::<f64>().unwrap())
            .or(v.as_f64())
            .unwrap()
    };
    let nodes = d["companies"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes[0]["name"], "Acme");
    assert_eq!(num(&nodes[0]["activePipeline"]), 21000.0);
    assert_eq!(nodes[0]["wonDeals"], 0);
    assert_eq!(
        num(&nodes[0]["weightedPipeline"]),
        10100.0,
        "a rollup over a formula"
    );
    assert_eq!(num(&nodes[1]["activePipeline"]), 0.0);
    assert_eq!(nodes[1]["wonDeals"], 1);

    // A child changes: the parent's rollups follow at once.
    s.gql(
        "mutation($id: ID!) { updateOpportunity(id: $id, data: { stage: WON }) { id } }",
        json!({ "id": big_id }),
    )
    .await;
    let d = s
        .gql(
            "query($id: ID!) { company(id: $id) { activePipeline wonDeals } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(num(&d["company"]["activePipeline"]), 1000.0);
    assert_eq!(d["company"]["wonDeals"], 1);
    s.gql(
        "mutation($id: ID!) { deleteOpportunity(id: $id) { id } }",
        json!({ "id": big_id }),
    )
    .await;
    let d = s
        .gql(
            "query($id: ID!) { company(id: $id) { wonDeals } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(d["company"]["wonDeals"], 0, "deleted children do not count");

    // Filter, sort and aggregate on computed fields.
    let d = s.gql("{ opportunities(filter: { weightedAmount: { gte: \"100\" }, isBig: { eq: false } }, orderBy: [{ weightedAmount: DESC }]) { nodes { name } } }", json!({})).await;
    assert_eq!(
        d["opportunities"]["nodes"],
        json!([{ "name": "won" }, { "name": "small" }])
    );
    let d = s
        .gql(
            "{ companies(filter: { wonDeals: { gte: 1 } }) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["companies"]["nodes"], json!([{ "name": "Zeta" }]));
    let d = s
        .gql(
            "{ opportunitiesAggregate { sum { weightedAmount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        num(&d["opportunitiesAggregate"]["sum"]["weightedAmount"]),
        5100.0
    );
    let d = s.gql("{ opportunities(filter: { label: { startsWith: \"SMALL\" } }) { nodes { daysOpen } } }", json!({})).await;
    assert!(
        d["opportunities"]["nodes"][0]["daysOpen"].is_null(),
        "no close date, no days"
    );

    // Formulas are read-only.
    let e = s
        .gql_error(
            "mutation { createOpportunity(data: { name: \"x\", weightedAmount: \"1\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    s.finish().await;
}

#[tokio::test]
async fn formulas_are_checked_when_defined() {
    let s = TestServer::start().await;
    let cases = [
        (
            formula("amount.amount * nope", "decimal"),
            "has no field `nope`",
        ),
        (formula("name * 2", "number"), "needs numbers"),
        (formula("amount * 2", "number"), "has parts"),
        (formula("company * 2", "number"), "is a relation"),
        (formula("stage.colour", "text"), "no option"),
        (formula("name", "number"), "gives a text"),
        (formula("if(name, 1, 2)", "number"), "condition"),
        (formula("1 +", "number"), "ends too early"),
        (formula("nope(1)", "number"), "unknown function"),
    ];
    for (schema, words) in cases {
        let e = field_error(&s, "opportunity", "bad", schema.clone()).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{schema}: {e}");
        let text = e["message"].as_str().unwrap();
        assert!(text.contains(words), "{schema}: `{text}` lacks `{words}`");
        assert!(
            e["extensions"]["field"]
                .as_str()
                .unwrap()
                .contains("/properties/bad/x-rapport-field"),
            "{e}"
        );
    }
    let e = field_error(&s, "company", "bad", json!({ "x-rapport-field": { "type": "rollup", "relation": "name", "function": "sum", "field": "x" } })).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a list relation"),
        "{e}"
    );
    let e = field_error(&s, "company", "bad", json!({ "x-rapport-field": { "type": "rollup", "relation": "people", "function": "sum", "field": "jobTitle" } })).await;
    assert!(
        e["message"].as_str().unwrap().contains("cannot take `sum`"),
        "{e}"
    );
    let e = field_error(&s, "company", "bad", json!({ "x-rapport-field": { "type": "rollup", "relation": "people", "function": "median", "field": "jobTitle" } })).await;
    assert_eq!(
        e["extensions"]["field"], "/properties/bad/x-rapport-field/function",
        "{e}"
    );

    // Cycles between computed fields are refused.
    field(&s, "opportunity", "first", formula("1", "number")).await;
    field(&s, "opportunity", "second", formula("first + 1", "number")).await;
    let e = s
        .meta_error("mutation($s: JSON!) { updateField(object: \"opportunity\", name: \"first\", schema: $s) { name } }", json!({ "s": formula("second + 1", "number") }))
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("depends on itself"),
        "{e}"
    );
    s.finish().await;
}

#[tokio::test]
async fn auto_numbers_are_unique_and_number_existing_records() {
    let s = TestServer::start().await;
    s.create_object(json!({ "type": "object", "x-rapport-object": { "name": "ticket", "pluralName": "tickets" },
        "properties": { "subject": { "type": "string" }, "number": { "x-rapport-field": { "type": "autoNumber", "prefix": "TCK-", "digits": 4 } } } }))
        .await;
    let d = s.gql("mutation { a: createTicket(data: { subject: \"one\" }) { number } b: createTickets(data: [{ subject: \"two\" }, { subject: \"three\" }]) { number } }", json!({})).await;
    assert_eq!(d["a"]["number"], "TCK-0001");
    assert_eq!(
        d["b"],
        json!([{ "number": "TCK-0002" }, { "number": "TCK-0003" }])
    );
    let e = s
        .gql_error(
            "mutation { createTicket(data: { subject: \"x\", number: \"TCK-9\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT", "auto-numbers are read-only");
    let d = s.gql("{ tickets(filter: { number: { neq: \"TCK-0001\" } }, orderBy: [{ number: DESC }]) { nodes { number } } }", json!({})).await;
    assert_eq!(
        d["tickets"]["nodes"],
        json!([{ "number": "TCK-0003" }, { "number": "TCK-0002" }])
    );

    // Added to an object with records: they are numbered in creation order.
    s.gql(
        "mutation { createCompanies(data: [{ name: \"First\" }, { name: \"Second\" }]) { id } }",
        json!({}),
    )
    .await;
    field(
        &s,
        "company",
        "accountNumber",
        json!({ "x-rapport-field": { "type": "autoNumber", "prefix": "AC", "digits": 3 } }),
    )
    .await;
    let d = s
        .gql(
            "mutation { createCompany(data: { name: \"Third\" }) { accountNumber } }",
            json!({}),
        )
        .await;
    assert_eq!(d["createCompany"]["accountNumber"], "AC003");
    let d = s
        .gql(
            "{ companies(orderBy: [{ accountNumber: ASC }]) { nodes { name accountNumber } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["companies"]["nodes"],
        json!([
            { "name": "First", "accountNumber": "AC001" }, { "name": "Second", "accountNumber": "AC002" }, { "name": "Third", "accountNumber": "AC003" }
        ])
    );
    s.finish().await;
}

#[tokio::test]
async fn computed_fields_shown_through_fragments_are_computed() {
    // Pages compute only the computed fields their selection shows; fragments
    // and inline fragments count as showing them.
    let s = TestServer::start().await;
    s.gql(
        "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
        json!({}),
    )
    .await;
    let c = s.gql("{ companies { nodes { id } } }", json!({})).await["companies"]["nodes"][0]["id"]
        .clone();
    s.gql(
        "mutation($c: ID!) { createOpportunity(data: { name: \"D\", companyId: $c, stage: PROPOSAL, amount: { amount: \"1000\", currencyCode: \"EUR\" } }) { id } }",
        json!({ "c": c }),
    )
    .await;
    let d = s
        .gql(
            "{ companies { nodes { ...C opportunities { edges { node { ... on Opportunity { weightedAmount } } } } } } }
             fragment C on Company { openPipeline }",
            json!({}),
        )
        .await;
    let company = &d["companies"]["nodes"][0];
    assert_eq!(company["openPipeline"], "1000", "{d}");
    assert!(
        company["opportunities"]["edges"][0]["node"]["weightedAmount"].is_string(),
        "{d}"
    );
    let d = s
        .gql(
            "query($c: ID!) { company(id: $c) { openPipeline } opportunities { nodes { company { ...C } } } }
             fragment C on Company { openPipeline }",
            json!({ "c": c }),
        )
        .await;
    assert_eq!(d["company"]["openPipeline"], "1000", "{d}");
    assert_eq!(
        d["opportunities"]["nodes"][0]["company"]["openPipeline"], "1000",
        "{d}"
    );
    let d = s.gql("{ companies { nodes { name } } }", json!({})).await;
    assert_eq!(d["companies"]["nodes"][0]["name"], "Acme");
    s.finish().await;
}
