//! Roles and record scopes, enforced where SQL is built: lists, counts,
//! aggregates, search, nested relations, filters through relations, writes.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

async fn post(s: &TestServer, path: &str, token: &str, query: &str, variables: Value) -> Value {
    s.post_with(
        path,
        Some(token),
        json!({ "query": query, "variables": variables }),
    )
    .await
    .1
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {v}"))
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn record_scopes_hold_on_every_path() {
    let s = TestServer::start().await;
    let rep = json!({
        "default": { "read": "own", "create": true, "update": "own", "delete": "own", "destroy": "none" },
        "objects": { "opportunity": { "read": "team", "update": "team" },
                     "workspaceMember": { "read": "all" }, "team": { "read": "all" },
                     "contract": { "read": "none" } }
    });
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"rep\", definition: $d) }",
        json!({ "d": rep }),
    )
    .await;
    let t = s.gql("mutation { a: createTeam(data: { name: \"A\" }) { id } b: createTeam(data: { name: \"B\" }) { id } }", json!({})).await;
    let (team_a, team_b) = (id(&t["a"]), id(&t["b"]));
    let sub = s
        .gql(
            "mutation($a: ID!) { createTeam(data: { name: \"A1\", parentTeamId: $a }) { id } }",
            json!({ "a": team_a }),
        )
        .await;
    let team_a1 = id(&sub["createTeam"]);
    let mut members = std::collections::HashMap::new();
    let mut tokens = std::collections::HashMap::new();
    for (name, team) in [
        ("ann", &team_a),
        ("bob", &team_a),
        ("dan", &team_a1),
        ("cid", &team_b),
    ] {
        let (m, token) = s
            .join(&format!("{name}@x.example"), name, "rep", "a long password")
            .await;
        tokens.insert(name, token);
        s.gql("mutation($m: ID!, $t: ID!) { updateWorkspaceMember(id: $m, data: { teamId: $t }) { id } }", json!({ "m": m, "t": team })).await;
        members.insert(name, m);
    }
    let c = s
        .gql(
            "mutation($ann: ID!, $bob: ID!, $cid: ID!) { createCompanies(data: [
                { name: \"Acme\", ownerId: $ann }, { name: \"Beta\", ownerId: $bob }, { name: \"Gamma\", ownerId: $cid }]) { id } }",
            json!({ "ann": members["ann"], "bob": members["bob"], "cid": members["cid"] }),
        )
        .await;
    let cs: Vec<String> = c["createCompanies"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    s.gql(
        "mutation($acme: ID!, $ann: ID!, $bob: ID!) { createPeople(data: [
            { name: { firstName: \"P1\" }, companyId: $acme, ownerId: $ann }, { name: { firstName: \"P2\" }, companyId: $acme, ownerId: $bob }]) { id } }",
        json!({ "acme": cs[0], "ann": members["ann"], "bob": members["bob"] }),
    )
    .await;
    let o = s
        .gql(
            "mutation($c: [ID!]!, $ann: ID!, $bob: ID!, $dan: ID!, $cid: ID!) { createOpportunities(data: [
                { name: \"oAnn\", companyId: $c0, ownerId: $ann, amount: { amount: \"100\", currencyCode: \"EUR\" } },
                { name: \"oBob\", companyId: $c1, ownerId: $bob, amount: { amount: \"200\", currencyCode: \"EUR\" } },
                { name: \"oDan\", companyId: $c0, ownerId: $dan, amount: { amount: \"300\", currencyCode: \"EUR\" } },
                { name: \"oCid\", companyId: $c2, ownerId: $cid, amount: { amount: \"400\", currencyCode: \"EUR\" } }]) { id } }"
                .replace("$c: [ID!]!, ", "$c0: ID!, $c1: ID!, $c2: ID!, ")
                .as_str(),
            json!({ "c0": cs[0], "c1": cs[1], "c2": cs[2], "ann": members["ann"], "bob": members["bob"], "dan": members["dan"], "cid": members["cid"] }),
        )
        .await;
    let os: Vec<String> = o["createOpportunities"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();

    let ann = tokens["ann"].clone();

    // Own scope on companies and people; team scope (with sub-teams) on deals.
    let r = post(&s, "/graphql", &ann, "{ companies { totalCount nodes { name } } companiesAggregate { count }
        opportunities { totalCount nodes { name } } opportunitiesAggregate { count sum { amount } }
        opportunitiesGroupBy(by: [stage]) { count } beta: companies(search: \"beta\") { totalCount } }", json!({})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = &r["data"];
    assert_eq!(names(&d["companies"]), ["Acme"]);
    assert_eq!(
        (
            d["companies"]["totalCount"].as_i64(),
            d["companiesAggregate"]["count"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        names(&d["opportunities"]),
        ["oAnn", "oBob", "oDan"],
        "team A and its sub-team A1, not team B"
    );
    assert_eq!(
        d["opportunitiesAggregate"]["sum"]["amount"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        600.0
    );
    assert_eq!(
        d["opportunitiesGroupBy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["count"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );
    assert_eq!(
        d["beta"]["totalCount"], 0,
        "search does not find what the scope hides"
    );

    // By id and through relations.
    let r = post(&s, "/graphql", &ann, "query($beta: ID!, $acme: ID!, $oBob: ID!) {
        beta: company(id: $beta) { name }
        acme: company(id: $acme) { people { totalCount nodes { name { firstName } } } opportunities { totalCount } }
        oBob: opportunity(id: $oBob) { name company { name } }
        viaParent: opportunities(filter: { company: { name: { eq: \"Beta\" } } }) { totalCount }
        viaChild: companies(filter: { people: { some: { name: { firstName: { eq: \"P2\" } } } } }) { totalCount }
        ordered: opportunities(orderBy: [{ company: { name: DESC_NULLS_LAST } }]) { nodes { name } } }",
        json!({ "beta": cs[1], "acme": cs[0], "oBob": os[1] })).await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = &r["data"];
    assert!(d["beta"].is_null(), "another's company is invisible by id");
    assert_eq!(
        d["acme"]["people"]["nodes"],
        json!([{ "name": { "firstName": "P1" } }]),
        "nested lists keep the scope"
    );
    assert_eq!(d["acme"]["people"]["totalCount"], 1);
    assert_eq!(
        d["acme"]["opportunities"]["totalCount"], 2,
        "oAnn and oDan, both in team scope"
    );
    assert_eq!(d["oBob"]["name"], "oBob");
    assert!(
        d["oBob"]["company"].is_null(),
        "a visible deal's invisible parent stays hidden"
    );
    assert_eq!(
        d["viaParent"]["totalCount"], 0,
        "a filter through a hidden parent matches nothing"
    );
    assert_eq!(
        d["viaChild"]["totalCount"], 0,
        "a filter through hidden children matches nothing"
    );
    assert_eq!(
        d["ordered"]["nodes"][0]["name"], "oAnn",
        "ordering by a hidden parent's name does not rank by it"
    );

    // Writes.
    let e = post(
        &s,
        "/graphql",
        &ann,
        "mutation($id: ID!) { updateCompany(id: $id, data: { name: \"x\" }) { id } }",
        json!({ "id": cs[1] }),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "NOT_FOUND");
    let e = post(
        &s,
        "/graphql",
        &ann,
        "mutation($c: ID!) { createPerson(data: { name: { firstName: \"P\" }, companyId: $c }) { id } }",
        json!({ "c": cs[1] }),
    )
    .await;
    assert_eq!(
        (
            code(&e["errors"][0]),
            &e["errors"][0]["extensions"]["field"]
        ),
        ("BAD_USER_INPUT", &json!("companyId")),
        "a company the scope hides cannot be linked to: {e}"
    );
    let r = post(&s, "/graphql", &ann, "mutation($id: ID!) { updateOpportunity(id: $id, data: { nextStep: \"call\" }) { nextStep } }", json!({ "id": os[1] })).await;
    assert_eq!(
        r["data"]["updateOpportunity"]["nextStep"], "call",
        "team may update"
    );
    let e = post(
        &s,
        "/graphql",
        &ann,
        "mutation($id: ID!) { deleteOpportunity(id: $id) { id } }",
        json!({ "id": os[1] }),
    )
    .await;
    assert_eq!(
        code(&e["errors"][0]),
        "FORBIDDEN",
        "but deletes only her own"
    );
    let e = post(
        &s,
        "/graphql",
        &ann,
        "mutation($id: ID!) { destroyCompany(id: $id) }",
        json!({ "id": cs[0] }),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");
    let r = post(
        &s,
        "/graphql",
        &ann,
        "mutation { updateOpportunities(filter: {}, data: { nextStep: \"all\" }) { name } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["updateOpportunities"].as_array().unwrap().len(),
        3,
        "by filter: only what she may update"
    );
    let r = post(
        &s,
        "/graphql",
        &ann,
        "mutation { createCompany(data: { name: \"Mine\" }) { owner { email } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["createCompany"]["owner"]["email"], "ann@x.example",
        "new records are the creator's"
    );

    // Objects the role may not read are not in its schema at all.
    let e = post(
        &s,
        "/graphql",
        &ann,
        "{ contracts { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "BAD_USER_INPUT");
    let (_, sdl) = s.get_with("/graphql/schema.graphql", &ann).await;
    assert!(
        !sdl.contains("type Contract ") && sdl.contains("type Company "),
        "the role's SDL"
    );
    let e = post(&s, "/metadata", &ann, "mutation { createField(object: \"company\", name: \"x\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");
    let m = post(
        &s,
        "/metadata",
        &ann,
        "{ objects(includeSystem: true) { name } contract: object(name: \"contract\") { name } }",
        json!({}),
    )
    .await;
    assert!(m["data"]["contract"].is_null(), "{m}");
    assert!(
        !m["data"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "contract"),
        "unreadable objects are not listed"
    );

    // The admin sees everything; a member-less key with an `own` role sees nothing.
    assert_eq!(
        s.gql("{ opportunities { totalCount } }", json!({})).await["opportunities"]["totalCount"],
        4
    );
    let key = s
        .meta(
            "mutation { createApiKey(name: \"robot\", role: \"rep\") { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        &s,
        "/graphql",
        &key,
        "{ companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["companies"]["totalCount"], 0);
    s.finish().await;
}

#[tokio::test]
async fn hidden_and_read_only_fields() {
    let s = TestServer::start().await;
    let analyst = json!({
        "default": { "read": "all", "create": false, "update": "all", "delete": "none", "destroy": "none" },
        "fields": { "company.annualRevenue": "none", "company.phone": "read" }
    });
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"analyst\", definition: $d) }",
        json!({ "d": analyst }),
    )
    .await;
    s.gql("mutation { createCompany(data: { name: \"Acme\", phone: \"+4930111\", annualRevenue: { amount: \"5000000\", currencyCode: \"EUR\" } }) { id } }", json!({})).await;
    let key = s
        .meta(
            "mutation { createApiKey(name: \"bi\", role: \"analyst\") { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();

    let r = post(
        &s,
        "/graphql",
        &key,
        "{ companies { nodes { name phone } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["companies"]["nodes"],
        json!([{ "name": "Acme", "phone": "+4930111" }])
    );
    for q in [
        "{ companies { nodes { annualRevenue { amount } } } }",
        "{ companies(filter: { annualRevenue: { amount: { gt: \"1\" } } }) { totalCount } }",
        "{ companies(orderBy: [{ annualRevenue: { amount: DESC } }]) { totalCount } }",
        "{ companiesAggregate { sum { annualRevenue } } }",
        "mutation { updateCompanies(filter: {}, data: { phone: \"+1\" }) { id } }",
    ] {
        let e = post(&s, "/graphql", &key, q, json!({})).await;
        assert_eq!(code(&e["errors"][0]), "BAD_USER_INPUT", "{q}: {e}");
    }
    let e = post(
        &s,
        "/graphql",
        &key,
        "mutation { createCompany(data: { name: \"x\" }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");
    let r = post(
        &s,
        "/graphql",
        &key,
        "{ findDuplicates(object: \"company\", data: { name: \"acme\" }) { record } }",
        json!({}),
    )
    .await;
    let record = &r["data"]["findDuplicates"][0]["record"];
    assert_eq!(record["name"], "Acme", "{r}");
    assert!(
        record.get("annualRevenue").is_none(),
        "operations redact hidden fields: {record}"
    );
    let (_, sdl) = s.get_with("/graphql/schema.graphql", &key).await;
    let company = sdl
        .split("type Company {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    assert!(!company.contains("annualRevenue") && company.contains("phone"));
    s.finish().await;
}

#[tokio::test]
async fn metadata_and_access_changes_are_audited() {
    let s = TestServer::start().await;
    s.meta("mutation { createField(object: \"company\", name: \"tierScore\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"viewer\", definition: $d) }",
        json!({ "d": { "default": { "create": false } } }),
    )
    .await;
    let key = s
        .meta(
            "mutation { createApiKey(name: \"ro\", role: \"viewer\") { id key } }",
            json!({}),
        )
        .await["createApiKey"]
        .clone();
    s.meta(
        "mutation($id: String!) { revokeApiKey(id: $id) }",
        json!({ "id": key["id"] }),
    )
    .await;
    let c = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await;
    let company = c["createCompany"]["id"].as_str().unwrap().to_string();
    s.gql(
        "mutation($id: ID!) { updateCompany(id: $id, data: { tierScore: 3 }) { id } }",
        json!({ "id": company }),
    )
    .await;

    let d = s
        .meta(
            "query($id: String!) { m: auditLog(object: \"_metadata\") { recordId action actor changes }
                                   a: auditLog(object: \"_access\") { recordId action }
                                   r: auditLog(object: \"company\", recordId: $id) { action changes } }",
            json!({ "id": company }),
        )
        .await;
    let m = &d["m"][0];
    assert_eq!(
        (
            m["recordId"].as_str(),
            m["action"].as_str(),
            m["actor"].as_str()
        ),
        (Some("company"), Some("addField"), Some("apiKey:admin"))
    );
    assert_eq!(m["changes"]["field"], "tierScore");
    let actions: Vec<&str> = d["a"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["KEY_REVOKED", "KEY_CREATED", "ROLE_CREATED"]);
    assert_eq!(d["r"][0]["action"], "UPDATED");
    assert_eq!(d["r"][0]["changes"]["tierScore"], json!([null, 3]));

    let member = s
        .meta("mutation { createApiKey(name: \"m\") { key } }", json!({}))
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let e = post(
        &s,
        "/metadata",
        &member,
        "{ auditLog(object: \"_access\") { action } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");
    s.finish().await;
}

#[tokio::test]
async fn erasing_a_subject_removes_personal_data_but_keeps_the_numbers() {
    let s = TestServer::start().await;
    let p = s
        .gql("mutation { createPerson(data: { name: { firstName: \"Grace\", lastName: \"Hopper\" }, email: \"grace@navy.example\", phone: \"+15550100\", jobTitle: \"Admiral\" }) { id } }", json!({}))
        .await;
    let person = id(&p["createPerson"]);
    s.gql("mutation($p: ID!) { updatePerson(id: $p, data: { jobTitle: \"Rear admiral\" }) { id } createOpportunity(data: { name: \"Navy deal\", pointOfContactId: $p, amount: { amount: \"900\", currencyCode: \"USD\" } }) { id }
            createLead(data: { companyName: \"Navy\", email: \"grace@navy.example\", status: CONVERTED, convertedPersonId: $p }) { id } }", json!({ "p": person })).await;
    let member = s
        .meta("mutation { createApiKey(name: \"m\") { key } }", json!({}))
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let e = post(
        &s,
        "/graphql",
        &member,
        "mutation($p: ID!) { eraseSubject(personId: $p) { id } }",
        json!({ "p": person }),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");

    let r = s.gql("mutation($p: ID!) { eraseSubject(personId: $p) { name { firstName lastName } email phone jobTitle opportunities { totalCount } } }", json!({ "p": person })).await;
    assert_eq!(
        r["eraseSubject"],
        json!({ "name": { "firstName": "[erased]", "lastName": null }, "email": null, "phone": null, "jobTitle": null, "opportunities": { "totalCount": 1 } })
    );
    let d = s.gql("{ leads { nodes { email companyName status } } opportunitiesAggregate { count sum { amount } } }", json!({})).await;
    assert_eq!(
        d["leads"]["nodes"],
        json!([{ "email": null, "companyName": null, "status": "CONVERTED" }]),
        "the lead that became them too"
    );
    assert_eq!(d["opportunitiesAggregate"]["count"], 1);
    let history = s
        .meta(
            "query($p: String!) { auditLog(object: \"person\", recordId: $p) { action changes } }",
            json!({ "p": person }),
        )
        .await;
    let entries = history["auditLog"].as_array().unwrap();
    assert!(entries.len() >= 3, "the events stay");
    assert!(
        entries.iter().all(|e| e["changes"] == json!({})),
        "their values do not: {entries:?}"
    );
    let found = s.gql("{ findDuplicates(object: \"person\", data: { email: \"grace@navy.example\" }) { id } }", json!({})).await;
    assert_eq!(found["findDuplicates"], json!([]));
    s.finish().await;
}

#[tokio::test]
async fn masked_fields_show_masked_to_roles_without_clear_read() {
    let s = TestServer::start().await;
    let mut phone = s
        .meta("{ object(name: \"person\") { jsonSchema } }", json!({}))
        .await["object"]["jsonSchema"]["properties"]["phone"]
        .clone();
    phone["x-rapport-field"]["masked"] = json!(true);
    phone["x-rapport-field"]["isSearchable"] = json!(true);
    s.meta("mutation($s: JSON!) { updateField(object: \"person\", name: \"phone\", schema: $s) { name } }", json!({ "s": phone })).await;
    s.gql("mutation { createPerson(data: { name: { firstName: \"Li\" }, phone: \"+8613812345678\" }) { id } }", json!({})).await;
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"support\", definition: $d) }",
        json!({ "d": { "fields": { "person.phone": "read" } } }),
    )
    .await;
    let member = s
        .meta("mutation { createApiKey(name: \"m\") { key } }", json!({}))
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let support = s
        .meta(
            "mutation { createApiKey(name: \"s\", role: \"support\") { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();

    let admin = s.gql("{ people { nodes { phone } } }", json!({})).await;
    assert_eq!(admin["people"]["nodes"][0]["phone"], "+8613812345678");
    let r = post(
        &s,
        "/graphql",
        &member,
        "{ people { nodes { phone } } }",
        json!({}),
    )
    .await;
    let masked = r["data"]["people"]["nodes"][0]["phone"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        masked.starts_with("+86") && masked.ends_with("5678") && masked.contains("****"),
        "{masked}"
    );
    let e = post(
        &s,
        "/graphql",
        &member,
        "{ people(filter: { phone: { startsWith: \"+86138\" } }) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        code(&e["errors"][0]),
        "BAD_USER_INPUT",
        "no guessing through filters"
    );
    let search = "{ people(search: \"13812345678\") { totalCount } }";
    assert_eq!(
        s.gql(search, json!({})).await["people"]["totalCount"],
        1,
        "the admin finds it"
    );
    let r = post(&s, "/graphql", &member, search, json!({})).await;
    assert_eq!(
        r["data"]["people"]["totalCount"], 0,
        "no guessing through search words: {r}"
    );
    let r = post(
        &s,
        "/graphql",
        &support,
        "{ people { nodes { phone } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["people"]["nodes"][0]["phone"], "+8613812345678",
        "a role granted the field reads it clear"
    );
    s.finish().await;
}

#[tokio::test]
async fn role_definitions_are_checked_and_changes_apply_at_once() {
    let s = TestServer::start().await;
    let create = "mutation($n: String!, $d: JSON!) { createRole(name: $n, definition: $d) }";
    let cases = [
        (
            "x1",
            json!({ "default": { "read": "everything" } }),
            "definition.default.read",
        ),
        (
            "x2",
            json!({ "objects": { "company": { "publish": true } } }),
            "definition.objects.company.publish",
        ),
        (
            "x3",
            json!({ "fields": { "annualRevenue": "none" } }),
            "definition.fields.annualRevenue",
        ),
        ("admin", json!({}), "name"),
        ("a b", json!({}), "name"),
    ];
    for (name, def, field) in cases {
        let e = s.meta_error(create, json!({ "n": name, "d": def })).await;
        assert_eq!(
            (code(&e), e["extensions"]["field"].as_str()),
            ("BAD_USER_INPUT", Some(field)),
            "{name}"
        );
    }
    s.meta(
        create,
        json!({ "n": "reader", "d": { "default": { "create": false } } }),
    )
    .await;
    assert_eq!(
        code(
            &s.meta_error(create, json!({ "n": "reader", "d": {} }))
                .await
        ),
        "CONFLICT"
    );
    let e = s
        .meta_error(
            "mutation { updateRole(name: \"ghost\", definition: {}) }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    let roles = s.meta("{ roles { name } }", json!({})).await;
    let names: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "member", "reader"]);

    // A key of that role: refused to create, until the role is changed.
    let key = s
        .meta(
            "mutation { createApiKey(name: \"k\", role: \"reader\") { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let create_company = "mutation { createCompany(data: { name: \"x\" }) { id } }";
    let e = post(&s, "/graphql", &key, create_company, json!({})).await;
    assert_eq!(code(&e["errors"][0]), "FORBIDDEN");
    s.meta(
        "mutation { updateRole(name: \"reader\", definition: { default: { create: true } }) }",
        json!({}),
    )
    .await;
    let r = post(&s, "/graphql", &key, create_company, json!({})).await;
    assert!(
        r.get("errors").is_none(),
        "the changed role applies to the next request: {r}"
    );

    // What a role may read shapes its schema; a changed role gets a new one
    // at once, though the metadata did not change.
    let hide = |object: &str| {
        format!(
            "mutation {{ updateRole(name: \"reader\", definition: {{ objects: {{ {object}: {{ read: \"none\" }} }} }}) }}"
        )
    };
    let deals = "{ opportunities { totalCount } }";
    s.meta(&hide("opportunity"), json!({})).await;
    let e = post(&s, "/graphql", &key, deals, json!({})).await;
    assert!(e.get("errors").is_some(), "opportunities hidden: {e}");
    s.meta(&hide("task"), json!({})).await;
    let r = post(&s, "/graphql", &key, deals, json!({})).await;
    assert!(
        r.get("errors").is_none(),
        "opportunities readable again: {r}"
    );
    let e = post(&s, "/graphql", &key, "{ tasks { totalCount } }", json!({})).await;
    assert!(e.get("errors").is_some(), "tasks hidden now: {e}");
    s.finish().await;
}

/// A role's exceptions hold whichever way its default goes: reading every
/// object but some, or none but some.
#[tokio::test]
async fn roles_that_read_all_or_nothing_by_default_keep_their_exceptions() {
    let s = TestServer::start().await;
    s.gql(
        "mutation { createCompany(data: { name: \"Acme\" }) { id } createTask(data: { title: \"Call\" }) { id } }",
        json!({}),
    )
    .await;
    let mut keys = Vec::new();
    for (name, definition) in [
        (
            "browser",
            json!({
                "default": { "read": "all", "create": false, "update": "none", "delete": "none", "destroy": "none" },
                "objects": { "task": { "read": "own" }, "contract": { "read": "none" } }
            }),
        ),
        (
            "narrow",
            json!({
                "default": { "read": "none", "create": false, "update": "none", "delete": "none", "destroy": "none" },
                "objects": { "company": { "read": "all" } }
            }),
        ),
    ] {
        s.meta(
            "mutation($n: String!, $d: JSON!) { createRole(name: $n, definition: $d) }",
            json!({ "n": name, "d": definition }),
        )
        .await;
        let key = s
            .meta(
                "mutation($r: String!) { createApiKey(name: $r, role: $r) { key } }",
                json!({ "r": name }),
            )
            .await["createApiKey"]["key"]
            .as_str()
            .unwrap()
            .to_string();
        keys.push(key);
    }
    let (browser, narrow) = (&keys[0], &keys[1]);
    let r = post(
        &s,
        "/graphql",
        browser,
        "{ companies { totalCount } tasks { totalCount } }",
        json!({}),
    )
    .await;
    // An API key owns no records: `own` reads none.
    assert_eq!(
        r["data"],
        json!({ "companies": { "totalCount": 1 }, "tasks": { "totalCount": 0 } }),
        "{r}"
    );
    let e = post(
        &s,
        "/graphql",
        browser,
        "{ contracts { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&e["errors"][0]), "BAD_USER_INPUT", "{e}");
    let r = post(
        &s,
        "/graphql",
        narrow,
        "{ companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["companies"]["totalCount"], 1, "{r}");
    for q in ["{ tasks { totalCount } }", "{ people { totalCount } }"] {
        let e = post(&s, "/graphql", narrow, q, json!({})).await;
        assert_eq!(code(&e["errors"][0]), "BAD_USER_INPUT", "{q}: {e}");
    }
    s.finish().await;
}
