//! Explicit sharing with members and teams, and business operations held to
//! the caller's write scopes.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

const PASSWORD: &str = "a long password";

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

struct World {
    s: TestServer,
    members: std::collections::HashMap<&'static str, String>,
    tokens: std::collections::HashMap<&'static str, String>,
    team_a: String,
}

impl World {
    /// Reps own their records; ann in team A, bob in A's sub-team A1, cid in B.
    async fn new() -> World {
        let s = TestServer::start().await;
        s.create_rep_role().await;
        let t = s
            .gql(
                "mutation { a: createTeam(data: { name: \"A\" }) { id } b: createTeam(data: { name: \"B\" }) { id } }",
                json!({}),
            )
            .await;
        let (team_a, team_b) = (id(&t["a"]), id(&t["b"]));
        let a1 = s
            .gql(
                "mutation($a: ID!) { createTeam(data: { name: \"A1\", parentTeamId: $a }) { id } }",
                json!({ "a": team_a }),
            )
            .await;
        let team_a1 = id(&a1["createTeam"]);
        let mut members = std::collections::HashMap::new();
        let mut tokens = std::collections::HashMap::new();
        for (name, team) in [("ann", &team_a), ("bob", &team_a1), ("cid", &team_b)] {
            let email = format!("{name}@x.example");
            let (m, token) = s.join(&email, name, "rep", PASSWORD).await;
            s.gql(
                "mutation($m: ID!, $t: ID!) { updateWorkspaceMember(id: $m, data: { teamId: $t }) { id } }",
                json!({ "m": m, "t": team }),
            )
            .await;
            tokens.insert(name, token);
            members.insert(name, m);
        }
        World {
            s,
            members,
            tokens,
            team_a,
        }
    }

    async fn as_(&self, who: &str, query: &str, variables: Value) -> Value {
        self.s
            .post_with(
                "/graphql",
                Some(&self.tokens[who]),
                json!({ "query": query, "variables": variables }),
            )
            .await
            .1
    }

    async fn ok(&self, who: &str, query: &str, variables: Value) -> Value {
        let r = self.as_(who, query, variables).await;
        assert!(r.get("errors").is_none(), "{who}: {r}\n{query}");
        r["data"].clone()
    }

    async fn company_names(&self, who: &str) -> Vec<String> {
        let d = self
            .ok(
                who,
                "{ companies(orderBy: { name: ASC }) { totalCount nodes { name } } }",
                json!({}),
            )
            .await;
        let names: Vec<String> = d["companies"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(d["companies"]["totalCount"], names.len(), "count agrees");
        names
    }
}

const SHARE: &str = "mutation($id: ID!, $m: ID, $t: ID, $a: ShareAccess) { shareRecord(object: \"company\", id: $id, memberId: $m, teamId: $t, access: $a) { memberId teamId access } }";
const UNSHARE: &str = "mutation($id: ID!, $m: ID, $t: ID) { unshareRecord(object: \"company\", id: $id, memberId: $m, teamId: $t) }";
const RENAME: &str =
    "mutation($id: ID!, $n: String!) { updateCompany(id: $id, data: { name: $n }) { name } }";

#[tokio::test]
async fn shares_widen_record_scopes_and_nothing_more() {
    let w = World::new().await;
    let acme = id(&w
        .ok(
            "ann",
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]);
    let gamma = id(&w
        .ok(
            "cid",
            "mutation { createCompany(data: { name: \"Gamma\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]);
    assert_eq!(w.company_names("ann").await, ["Acme"]);

    // Read share: ann sees Gamma everywhere, may not change or delete it.
    let shared = w
        .ok("cid", SHARE, json!({ "id": gamma, "m": w.members["ann"] }))
        .await;
    assert_eq!(shared["shareRecord"]["access"], "READ");
    assert_eq!(w.company_names("ann").await, ["Acme", "Gamma"]);
    let one = w
        .ok(
            "ann",
            "query($id: ID!) { company(id: $id) { name } }",
            json!({ "id": gamma }),
        )
        .await;
    assert_eq!(one["company"]["name"], "Gamma");
    let e = w
        .as_("ann", RENAME, json!({ "id": gamma, "n": "Mine" }))
        .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN", "{e}");
    let e = w
        .as_(
            "ann",
            "mutation($id: ID!) { deleteCompany(id: $id) { id } }",
            json!({ "id": gamma }),
        )
        .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN", "{e}");
    // Only those who may update a record share it.
    let e = w
        .as_("ann", SHARE, json!({ "id": gamma, "m": w.members["bob"] }))
        .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN", "{e}");
    let e = w
        .as_("bob", SHARE, json!({ "id": acme, "m": w.members["bob"] }))
        .await;
    assert_eq!(
        code(&e["errors"][0]),
        "NOT_FOUND",
        "invisible stays invisible: {e}"
    );

    // Write share: updates allowed, deletes still not.
    w.ok(
        "cid",
        SHARE,
        json!({ "id": gamma, "m": w.members["ann"], "a": "WRITE" }),
    )
    .await;
    let r = w
        .ok("ann", RENAME, json!({ "id": gamma, "n": "Gamma Ltd" }))
        .await;
    assert_eq!(r["updateCompany"]["name"], "Gamma Ltd");
    let e = w
        .as_(
            "ann",
            "mutation($id: ID!) { deleteCompany(id: $id) { id } }",
            json!({ "id": gamma }),
        )
        .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN", "{e}");

    // A team share reaches the team's sub-teams; ending it ends the reach.
    assert_eq!(w.company_names("bob").await, Vec::<String>::new());
    w.ok("cid", SHARE, json!({ "id": gamma, "t": w.team_a }))
        .await;
    assert_eq!(w.company_names("bob").await, ["Gamma Ltd"]);
    let removed = w
        .ok("cid", UNSHARE, json!({ "id": gamma, "t": w.team_a }))
        .await;
    assert_eq!(removed["unshareRecord"], true);
    assert_eq!(w.company_names("bob").await, Vec::<String>::new());

    // Who it is shared with, and the history.
    let list = w
        .ok(
            "cid",
            "query($id: ID!) { recordShares(object: \"company\", id: $id) { memberId access } }",
            json!({ "id": gamma }),
        )
        .await;
    assert_eq!(
        list["recordShares"],
        json!([{ "memberId": w.members["ann"], "access": "WRITE" }])
    );
    let timeline =
        w.s.gql(
            "query($id: ID!) { recordTimeline(object: \"company\", id: $id) { kind } }",
            json!({ "id": gamma }),
        )
        .await
        .to_string();
    assert!(
        timeline.contains("SHARED") && timeline.contains("UNSHARED"),
        "{timeline}"
    );

    // Bad inputs.
    for vars in [
        json!({ "id": gamma }),
        json!({ "id": gamma, "m": w.members["ann"], "t": w.team_a }),
        json!({ "id": gamma, "m": "00000000-0000-7000-8000-000000000000" }),
        json!({ "id": gamma, "m": "not an id" }),
    ] {
        let e = w.as_("cid", SHARE, vars.clone()).await;
        assert_eq!(code(&e["errors"][0]), "BAD_USER_INPUT", "{vars}: {e}");
    }
    w.s.finish().await;
}

#[tokio::test]
async fn business_operations_stay_within_write_scopes() {
    let w = World::new().await;
    let lead = id(&w
        .ok(
            "cid",
            "mutation { createLead(data: { name: { firstName: \"Grace\" }, companyName: \"Navy Labs\" }) { id } }",
            json!({}),
        )
        .await["createLead"]);
    w.ok(
        "cid",
        "mutation($id: ID!, $m: ID) { shareRecord(object: \"lead\", id: $id, memberId: $m) { access } }",
        json!({ "id": lead, "m": w.members["ann"] }),
    )
    .await;
    let before = w.s.count_all("companies").await;
    let e = w
        .as_(
            "ann",
            "mutation($id: ID!) { convertLead(id: $id) { company { id } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(
        code(&e["errors"][0]),
        "FORBIDDEN",
        "a read share does not convert: {e}"
    );
    assert_eq!(
        w.s.count_all("companies").await,
        before,
        "nothing half-written"
    );

    // Merging needs update on the kept record and delete on the others.
    let acme = id(&w
        .ok(
            "ann",
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]);
    let dup = id(&w
        .ok(
            "cid",
            "mutation { createCompany(data: { name: \"Acme Inc\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]);
    w.ok(
        "cid",
        SHARE,
        json!({ "id": dup, "m": w.members["ann"], "a": "WRITE" }),
    )
    .await;
    let e = w
        .as_(
            "ann",
            "mutation($k: ID!, $m: [ID!]!) { mergeRecords(object: \"company\", keepId: $k, mergeIds: $m) { keptId } }",
            json!({ "k": acme, "m": [dup] }),
        )
        .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN", "{e}");
    assert_eq!(
        w.company_names("cid").await,
        ["Acme Inc"],
        "the duplicate stays"
    );
    w.s.finish().await;
}

#[tokio::test]
async fn computed_values_read_only_what_the_caller_sees() {
    let w = World::new().await;
    let s = &w.s;
    let c = s
        .gql(
            "mutation($ann: ID!, $cid: ID!) { acme: createCompany(data: { name: \"Acme\", ownerId: $ann }) { id }
                gamma: createCompany(data: { name: \"Gamma\", ownerId: $cid }) { id } }",
            json!({ "ann": w.members["ann"], "cid": w.members["cid"] }),
        )
        .await;
    let (acme, gamma) = (id(&c["acme"]), id(&c["gamma"]));
    s.gql(
        "mutation($c: ID!, $ann: ID!, $cid: ID!) { createOpportunities(data: [
            { name: \"mine\", companyId: $c, ownerId: $ann, stage: PROPOSAL, amount: { amount: \"100\", currencyCode: \"EUR\" } },
            { name: \"theirs\", companyId: $c, ownerId: $cid, stage: PROPOSAL, amount: { amount: \"400\", currencyCode: \"EUR\" } }]) { id } }",
        json!({ "c": acme, "ann": w.members["ann"], "cid": w.members["cid"] }),
    )
    .await;
    s.meta(
        "mutation($s: JSON!) { createField(object: \"person\", name: \"employer\", schema: $s) { name } }",
        json!({ "s": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "company.name", "resultType": "text" } } }),
    )
    .await;
    s.gql(
        "mutation($g: ID!, $ann: ID!) { createPerson(data: { name: { firstName: \"P\" }, companyId: $g, ownerId: $ann }) { id } }",
        json!({ "g": gamma, "ann": w.members["ann"] }),
    )
    .await;

    let q = "{ companies { nodes { name openPipeline } } people { nodes { employer } } }";
    let admin = s.gql(q, json!({})).await;
    let pipeline = |d: &Value| {
        d["companies"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "Acme")
            .map(|n| n["openPipeline"].as_str().unwrap().parse::<f64>().unwrap())
    };
    assert_eq!(pipeline(&admin), Some(500.0));
    assert_eq!(admin["people"]["nodes"][0]["employer"], "Gamma");
    let ann = w.ok("ann", q, json!({})).await;
    assert_eq!(
        pipeline(&ann),
        Some(100.0),
        "a rollup sums only visible children"
    );
    assert_eq!(
        ann["people"]["nodes"][0]["employer"],
        Value::Null,
        "a formula does not read a parent out of scope"
    );
    w.s.finish().await;
}
