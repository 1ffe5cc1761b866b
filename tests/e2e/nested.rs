//! Nested relations load in a number of statements that does not grow with
//! the number of parents, with correct paging per parent.

use serde_json::{Value, json};

use crate::harness::TestServer;

async fn seed(s: &TestServer, companies: usize) -> Vec<String> {
    let data: Vec<Value> = (0..companies)
        .map(|i| json!({ "name": format!("Company {i:03}") }))
        .collect();
    let created = s
        .gql(
            "mutation($d: [CompanyCreateInput!]!) { createCompanies(data: $d) { id } }",
            json!({ "d": data }),
        )
        .await;
    let ids: Vec<String> = created["createCompanies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let mut people = Vec::new();
    let mut deals = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // A varying number of people per company: 0..=14, so some have more than a page.
        for j in 0..(i % 15) {
            people.push(json!({ "name": { "firstName": format!("P{j:02}"), "lastName": format!("of {i}") }, "companyId": id }));
        }
        for j in 0..(i % 4) {
            deals.push(json!({ "name": format!("Deal {i}-{j}"), "companyId": id, "amount": { "amount": format!("{}", 1000 * (j + 1)), "currencyCode": "EUR" } }));
        }
    }
    for chunk in people.chunks(500) {
        s.gql(
            "mutation($d: [PersonCreateInput!]!) { createPeople(data: $d) { id } }",
            json!({ "d": chunk }),
        )
        .await;
    }
    for chunk in deals.chunks(500) {
        s.gql(
            "mutation($d: [OpportunityCreateInput!]!) { createOpportunities(data: $d) { id } }",
            json!({ "d": chunk }),
        )
        .await;
    }
    ids
}

const QUERY: &str = "query($n: Int) { companies(first: $n, orderBy: [{ name: ASC }]) { nodes { name
    people(first: 10, orderBy: [{ name: { firstName: ASC } }]) { totalCount pageInfo { hasNextPage endCursor } nodes { name { firstName } company { name }
        opportunities { totalCount nodes { name company { name } } } } }
    opportunities(orderBy: [{ name: ASC }]) { totalCount nodes { name pointOfContact { name { firstName } } } } } } }";

#[tokio::test]
async fn statements_do_not_grow_with_parents() {
    let s = TestServer::start().await;
    seed(&s, 50).await;
    // The first run goes through the full executor, the later ones take
    // the direct read path: the bound holds on both.
    let (small, few) = s.gql_counted(QUERY, json!({ "n": 5 })).await;
    let (_, few_direct) = s.gql_counted(QUERY, json!({ "n": 5 })).await;
    let (big, many) = s.gql_counted(QUERY, json!({ "n": 50 })).await;
    s.app
        .direct_reads
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let (_, many_full) = s.gql_counted(QUERY, json!({ "n": 50 })).await;
    // companies; people; people's company; people's opportunities;
    // opportunities' company; company opportunities; their contacts (the
    // direct path skips a look-up that has no ids to look up).
    assert!(many_full <= 7, "50 companies took {many_full} statements");
    assert_eq!(
        few, many_full,
        "5 companies took {few}, 50 took {many_full}"
    );
    assert!(many <= many_full, "directly: {many}");
    assert_eq!(
        few_direct, many,
        "directly, 5 companies took {few_direct}, 50 took {many}"
    );
    assert_eq!(small["companies"]["nodes"].as_array().unwrap().len(), 5);

    let companies = big["companies"]["nodes"].as_array().unwrap();
    assert_eq!(companies.len(), 50);
    for (i, c) in companies.iter().enumerate() {
        let expected_people = i % 15;
        let people = &c["people"];
        assert_eq!(people["totalCount"], expected_people, "company {i}");
        let nodes = people["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), expected_people.min(10), "company {i} page");
        assert_eq!(people["pageInfo"]["hasNextPage"], expected_people > 10);
        let firsts: Vec<&str> = nodes
            .iter()
            .map(|p| p["name"]["firstName"].as_str().unwrap())
            .collect();
        let mut sorted = firsts.clone();
        sorted.sort();
        assert_eq!(firsts, sorted);
        for p in nodes {
            assert_eq!(p["company"]["name"], c["name"]);
        }
        assert_eq!(c["opportunities"]["totalCount"], i % 4);
    }

    // The next page of one company's people continues where the first stopped.
    let q = "query($a: String) { companies(filter: { name: { eq: \"Company 014\" } }) { nodes { people(first: 10, after: $a, orderBy: [{ name: { firstName: ASC } }]) { nodes { name { firstName } } pageInfo { hasNextPage endCursor } } } } }";
    let p1 = s.gql(q, json!({})).await["companies"]["nodes"][0]["people"].clone();
    let p2 = s.gql(q, json!({ "a": p1["pageInfo"]["endCursor"] })).await["companies"]["nodes"][0]["people"].clone();
    let names: Vec<&str> = p2["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"]["firstName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["P10", "P11", "P12", "P13"]);
    assert_eq!(p2["pageInfo"]["hasNextPage"], false);
    s.finish().await;
}

/// Pages read only the values their selection shows; every way a
/// selection can need a value still gets it: named fields, fragments,
/// `edges { node }`, a relation through its id, a polymorphic link, the
/// owner, and the same record shown twice with different fields.
#[tokio::test]
async fn a_selection_gets_every_value_it_shows() {
    let s = TestServer::start().await;
    let company = s
        .gql(
            "mutation { createCompany(data: { name: \"Shown Co\", domain: \"shown.example\", annualRevenue: { amount: \"5\", currencyCode: \"EUR\" } }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    let person = s
        .gql(
            "mutation($c: ID!) { createPerson(data: { name: { firstName: \"Ada\", lastName: \"L\" }, email: \"ada@shown.example\", companyId: $c }) { id } }",
            json!({ "c": company }),
        )
        .await["createPerson"]["id"]
        .clone();
    s.gql(
        "mutation($p: ID!) { createTask(data: { title: \"Call Ada\", relatedObject: \"person\", relatedId: $p }) { id } }",
        json!({ "p": person }),
    )
    .await;
    let r = s
        .gql(
            "fragment Who on Person { email company { domain ...Money } }
             fragment Money on Company { annualRevenue { amount currencyCode } }
             { people(filter: { email: { eq: \"ada@shown.example\" } }) {
                 nodes { ...Who name { firstName } companyId createdBy { kind } version }
                 edges { node { company { name } } } }
               tasks { nodes { title relatedObject relatedId } } }",
            json!({}),
        )
        .await;
    let node = &r["people"]["nodes"][0];
    assert_eq!(node["email"], "ada@shown.example", "{r}");
    assert_eq!(node["name"]["firstName"], "Ada");
    assert_eq!(node["companyId"], company);
    assert_eq!(node["company"]["domain"], "shown.example");
    assert_eq!(node["company"]["annualRevenue"]["currencyCode"], "EUR");
    assert_eq!(node["createdBy"]["kind"], "apiKey");
    assert_eq!(node["version"], 1);
    assert_eq!(
        r["people"]["edges"][0]["node"]["company"]["name"],
        "Shown Co"
    );
    assert_eq!(
        r["tasks"]["nodes"][0],
        json!({ "title": "Call Ada", "relatedObject": "person", "relatedId": person })
    );
    s.finish().await;
}
