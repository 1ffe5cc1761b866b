//! Every (role rule × route) pair, generated from the catalog: for each
//! field a role may not read clear — hidden by the role, masked, or a
//! formula or rollup built on one — and for an object it may not read,
//! every route that shows, filters, orders, groups, aggregates, searches,
//! matches, imports, tells the history of or describes records is asked,
//! and must refuse or show nothing of it. The set of denied fields is
//! worked out here from the metadata the admin reads and the role's
//! definition, independently of the server's own rules, so a new route or
//! field type that forgets a rule fails here. Every answer the role gets is
//! also searched for the secret values themselves.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TestServer, code};

const SECRET: &str = "SECRET-S1";
const PHONE: &str = "+15550100199";
const SCORE: i64 = 313_131;
const AMOUNT: i64 = 987_654;

fn vault() -> Value {
    let mut doc = vault_base();
    for (name, property, _, _) in typed_fields() {
        doc["properties"][name] = property;
    }
    doc
}

fn vault_base() -> Value {
    json!({
        "type": "object",
        "x-rapport-object": { "name": "vault", "pluralName": "vaults", "titleField": "label",
            "searchFields": ["label", "secret", "phone"],
            "duplicateCriteria": [["label"], ["secret"], ["phone"]] },
        "properties": {
            "label": { "type": "string" },
            "secret": { "type": "string" },
            "phone": { "x-rapport-field": { "type": "phone", "masked": true } },
            "note": { "type": "string" },
            "score": { "type": "integer" },
            "secretUpper": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "upper(secret)", "resultType": "text" } },
            "phoneCopy": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "concat(phone, '')", "resultType": "text" } },
            "doubleScore": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "score * 2", "resultType": "integer" } },
            "scoreAgain": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "doubleScore / 2", "resultType": "integer" } },
            "labelUpper": { "readOnly": true, "x-rapport-field": { "type": "formula", "expression": "upper(label)", "resultType": "text" } }
        }
    })
}

/// One hidden field of every stored type, with a value whose text must
/// never reach the role.
fn typed_fields() -> Vec<(&'static str, Value, Value, &'static str)> {
    vec![
        (
            "hLong",
            json!({ "x-rapport-field": { "type": "longText" } }),
            json!("LEAK-LONG"),
            "LEAK-LONG",
        ),
        (
            "hRich",
            json!({ "x-rapport-field": { "type": "richText" } }),
            json!("LEAK-RICH"),
            "LEAK-RICH",
        ),
        (
            "hEmail",
            json!({ "type": "string", "format": "email" }),
            json!("leak-mail@leak.example"),
            "leak-mail",
        ),
        (
            "hUrl",
            json!({ "type": "string", "format": "uri" }),
            json!("https://leak.example/x"),
            "leak.example/x",
        ),
        (
            "hNumber",
            json!({ "type": "number" }),
            json!(271828.5),
            "271828",
        ),
        (
            "hPercent",
            json!({ "x-rapport-field": { "type": "percent" } }),
            json!(77.125),
            "77.125",
        ),
        (
            "hDecimal",
            json!({ "x-rapport-field": { "type": "decimal" } }),
            json!("161803.39"),
            "161803",
        ),
        (
            "hMoney",
            json!({ "x-rapport-field": { "type": "currency" } }),
            json!({ "amount": "141421.35", "currencyCode": "CHF" }),
            "141421",
        ),
        ("hFlag", json!({ "type": "boolean" }), json!(true), "hFlag"),
        (
            "hDay",
            json!({ "type": "string", "format": "date" }),
            json!("1911-11-11"),
            "1911-11-11",
        ),
        (
            "hMoment",
            json!({ "type": "string", "format": "date-time" }),
            json!("1922-02-22T02:22:00Z"),
            "1922-02-22",
        ),
        (
            "hChoice",
            json!({ "type": "string", "enum": ["LEAKY", "DRY"] }),
            json!("LEAKY"),
            "LEAKY",
        ),
        (
            "hChoices",
            json!({ "type": "array", "items": { "enum": ["SPILL", "DRIP"] } }),
            json!(["SPILL"]),
            "SPILL",
        ),
        (
            "hRating",
            json!({ "x-rapport-field": { "type": "rating", "max": 10 } }),
            json!(9),
            "hRating",
        ),
        (
            "hJson",
            json!({ "x-rapport-field": { "type": "json" } }),
            json!({ "leak": "LEAK-JSON" }),
            "LEAK-JSON",
        ),
        (
            "hPlace",
            json!({ "x-rapport-field": { "type": "address" } }),
            json!({ "city": "Leaksville" }),
            "Leaksville",
        ),
        (
            "hPerson",
            json!({ "x-rapport-field": { "type": "fullName" } }),
            json!({ "firstName": "Leakina" }),
            "Leakina",
        ),
        (
            "hCompany",
            json!({ "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "company", "inverse": "hiddenVaults" } }),
            Value::Null,
            "hiddenVaults",
        ),
    ]
}

/// How a probe names a field of this type: its selection, a filter on it
/// and an ordering by it (`None` where the type offers none).
fn shapes(f: &str, ty: &str) -> (String, Option<String>, Option<String>) {
    match ty {
        "currency" => (
            format!("{f} {{ amount }}"),
            Some(format!("{{ {f}: {{ amount: {{ isNull: false }} }} }}")),
            Some(format!("{{ {f}: {{ amount: ASC }} }}")),
        ),
        "address" => (
            format!("{f} {{ city }}"),
            Some(format!("{{ {f}: {{ city: {{ isNull: false }} }} }}")),
            None,
        ),
        "fullName" => (
            format!("{f} {{ firstName }}"),
            Some(format!("{{ {f}: {{ firstName: {{ isNull: false }} }} }}")),
            None,
        ),
        "relation" => (
            format!("{f} {{ id }} {f}Id"),
            Some(format!("{{ {f}Id: {{ isNull: false }} }}")),
            Some(format!("{{ {f}: {{ name: ASC }} }}")),
        ),
        "multiSelect" => (
            f.to_string(),
            Some(format!("{{ {f}: {{ isEmpty: false }} }}")),
            None,
        ),
        "json" => (f.to_string(), None, None),
        _ => (
            f.to_string(),
            Some(format!("{{ {f}: {{ isNull: false }} }}")),
            Some(format!("{{ {f}: ASC }}")),
        ),
    }
}

fn deposit() -> Value {
    json!({
        "type": "object",
        "x-rapport-object": { "name": "deposit", "pluralName": "deposits", "titleField": "ref" },
        "properties": {
            "ref": { "type": "string" },
            "amount": { "type": "integer" },
            "vault": { "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "vault", "inverse": "deposits" } }
        }
    })
}

fn closed() -> Value {
    json!({
        "type": "object",
        "x-rapport-object": { "name": "closedBox", "pluralName": "closedBoxes", "titleField": "ref" },
        "properties": { "ref": { "type": "string" } }
    })
}

fn role() -> Value {
    let mut role = json!({
        "default": { "read": "all", "create": true, "update": "all", "delete": "all", "destroy": "none" },
        "objects": { "closedBox": { "read": "none" } },
        "fields": { "vault.secret": "none", "vault.score": "none", "vault.note": "read", "deposit.amount": "none" }
    });
    for (name, _, _, _) in typed_fields() {
        role["fields"][format!("vault.{name}")] = json!("none");
    }
    role
}

/// A field the role may not see clear, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Denied {
    object: String,
    plural: String,
    field: String,
    /// The field's type as the metadata API names it.
    ty: String,
    /// Masked fields show (masked); the others do not show at all.
    masked: bool,
}

/// The denied fields, from the admin's metadata and the role's definition:
/// hidden by the role; masked and not named by it; and, to a fixed point,
/// formulas naming a denied field and rollups over one.
fn denied_fields(objects: &[Value], role: &Value) -> Vec<Denied> {
    let rules = role["fields"].as_object().unwrap();
    let mut out: BTreeSet<Denied> = BTreeSet::new();
    let plural = |o: &Value| o["pluralName"].as_str().unwrap().to_string();
    for o in objects {
        let name = o["name"].as_str().unwrap();
        for f in o["fields"].as_array().unwrap() {
            let field = f["name"].as_str().unwrap();
            let key = format!("{name}.{field}");
            let property = &o["jsonSchema"]["properties"][field];
            let masked = property["x-rapport-field"]["masked"] == true && !rules.contains_key(&key);
            if rules.get(&key) == Some(&json!("none")) || masked {
                out.insert(Denied {
                    object: name.into(),
                    plural: plural(o),
                    field: field.into(),
                    ty: f["type"].as_str().unwrap().to_string(),
                    masked,
                });
            }
        }
    }
    loop {
        let before = out.len();
        for o in objects {
            let name = o["name"].as_str().unwrap();
            for (field, property) in o["jsonSchema"]["properties"].as_object().unwrap() {
                let x = &property["x-rapport-field"];
                let reads_denied = match x["type"].as_str() {
                    Some("formula") => {
                        let words: Vec<&str> = x["expression"]
                            .as_str()
                            .unwrap()
                            .split(|c: char| !c.is_alphanumeric())
                            .collect();
                        out.iter()
                            .any(|d| d.object == name && words.contains(&d.field.as_str()))
                    }
                    Some("rollup") => {
                        let child = objects.iter().find(|c| {
                            c["fields"].as_array().unwrap().iter().any(|f| {
                                f["relation"]["inverse"] == x["relation"]
                                    && f["relation"]["target"] == name
                            })
                        });
                        child.is_some_and(|c| {
                            out.iter()
                                .any(|d| d.object == c["name"] && x["field"] == json!(d.field))
                        })
                    }
                    _ => false,
                };
                if reads_denied {
                    out.insert(Denied {
                        object: name.into(),
                        plural: plural(o),
                        field: field.clone(),
                        ty: x["type"].as_str().unwrap().to_string(),
                        masked: false,
                    });
                }
            }
        }
        if out.len() == before {
            return out.into_iter().collect();
        }
    }
}

struct Probe<'a> {
    s: &'a TestServer,
    token: String,
    /// Every answer the role got, to search for secrets at the end.
    seen: Vec<String>,
}

impl Probe<'_> {
    async fn post(&mut self, path: &str, query: &str, variables: Value) -> Value {
        let (_, r) = self
            .s
            .post_with(
                path,
                Some(&self.token),
                json!({ "query": query, "variables": variables }),
            )
            .await;
        self.seen.push(r.to_string());
        r
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let (status, body) = self.s.get_with(path, &self.token).await;
        self.seen.push(body.clone());
        (status.as_u16(), body)
    }

    /// A read the role's schema must refuse (the name is unknown to it).
    /// The refusal names what was asked, so it is not searched for secrets.
    async fn refused(&mut self, route: &str, query: &str) {
        let (_, r) = self
            .s
            .post_with("/graphql", Some(&self.token), json!({ "query": query }))
            .await;
        let e = &r["errors"][0];
        assert_eq!(
            code(e),
            "BAD_USER_INPUT",
            "{route} must be refused: {query}\n{r}"
        );
    }
}

#[tokio::test]
async fn every_route_obeys_every_rule_of_the_role() {
    let s = TestServer::start().await;
    for doc in [vault(), deposit(), closed()] {
        s.create_object(doc).await;
    }
    s.meta(
        "mutation($o: String!, $n: String!, $s: JSON!) { createField(object: $o, name: $n, schema: $s) { name } }",
        json!({ "o": "vault", "n": "depositTotal", "s": { "readOnly": true, "x-rapport-field": { "type": "rollup", "relation": "deposits", "function": "sum", "field": "amount" } } }),
    )
    .await;
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"auditor\", definition: $d) }",
        json!({ "d": role() }),
    )
    .await;
    let company = s
        .gql(
            "mutation { createCompany(data: { name: \"Leakcorp\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    let mut first = json!({ "label": "Vault A", "secret": SECRET, "phone": PHONE, "note": "n1", "score": SCORE });
    for (name, _, value, _) in typed_fields() {
        match value {
            Value::Null => first[format!("{name}Id")] = company.clone(),
            value => first[name] = value,
        }
    }
    let v = s
        .gql(
            "mutation($d: [VaultCreateInput!]!) { createVaults(data: $d) { id } }",
            json!({ "d": [
                first,
                { "label": "Vault A", "secret": SECRET, "phone": PHONE, "note": "n2", "score": SCORE }
            ] }),
        )
        .await;
    let ids: Vec<String> = v["createVaults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    s.gql(
        "mutation($v: ID!) { createDeposit(data: { ref: \"D1\", amount: 987654, vaultId: $v }) { id } createClosedBox(data: { ref: \"BOXSECRET77\" }) { id } }",
        json!({ "v": ids[0] }),
    )
    .await;
    s.gql(
        "mutation($id: ID!) { updateVault(id: $id, data: { secret: \"SECRET-S1!\", note: \"n3\", label: \"Vault A2\" }) { id } }",
        json!({ "id": ids[0] }),
    )
    .await;
    let catalog = s
        .meta("{ objects { name pluralName fields { name type relation { target inverse } } jsonSchema } }", json!({}))
        .await["objects"]
        .as_array()
        .unwrap()
        .clone();
    let denied = denied_fields(&catalog, &role());
    let names: Vec<&str> = denied.iter().map(|d| d.field.as_str()).collect();
    // The catalog holds what the test means to cover.
    for expected in [
        "secret",
        "phone",
        "score",
        "amount",
        "secretUpper",
        "phoneCopy",
        "doubleScore",
        "scoreAgain",
        "depositTotal",
    ]
    .into_iter()
    .chain(typed_fields().into_iter().map(|(name, _, _, _)| name))
    {
        assert!(
            names.contains(&expected),
            "{expected} not denied: {names:?}"
        );
    }
    assert!(!names.contains(&"labelUpper") && !names.contains(&"label"));

    let token = s.member_token("auditor@x.example", "auditor").await;
    let mut p = Probe {
        s: &s,
        token,
        seen: Vec::new(),
    };

    for d in &denied {
        let (pl, f) = (&d.plural, &d.field);
        let (select, filter, order) = shapes(f, &d.ty);
        // The admin reads, filters and orders by it: the refusals below are
        // the role's, not the field type's.
        let arguments: Vec<String> = [
            filter.as_ref().map(|x| format!("filter: {x}")),
            order.as_ref().map(|x| format!("orderBy: {x}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        let admin = s
            .gql_raw(
                &format!("{{ {pl}{arguments} {{ nodes {{ {select} }} }} }}"),
                json!({}),
            )
            .await;
        assert!(
            admin.get("errors").is_none(),
            "admin reads {pl}.{f}: {admin}"
        );
        if d.masked {
            let r = p
                .post(
                    "/graphql",
                    &format!("{{ {pl} {{ nodes {{ {select} }} }} }}"),
                    json!({}),
                )
                .await;
            for n in r["data"][pl.as_str()]["nodes"].as_array().unwrap() {
                let shown = n[f.as_str()].as_str().unwrap_or_default();
                assert!(shown.contains('*'), "{pl}.{f} shows masked, got {shown}");
            }
        } else {
            p.refused(
                "selection",
                &format!("{{ {pl} {{ nodes {{ id {select} }} }} }}"),
            )
            .await;
            p.refused(
                "aggregate",
                &format!("{{ {pl}Aggregate {{ max {{ {f} }} }} }}"),
            )
            .await;
            p.refused(
                "distinct count",
                &format!("{{ {pl}Aggregate {{ countDistinct {{ {f} }} }} }}"),
            )
            .await;
        }
        if let Some(filter) = &filter {
            p.refused(
                "filter",
                &format!("{{ {pl}(filter: {filter}) {{ totalCount }} }}"),
            )
            .await;
            if d.object == "vault" {
                p.refused(
                    "parent filter",
                    &format!("{{ deposits(filter: {{ vault: {filter} }}) {{ totalCount }} }}"),
                )
                .await;
            }
        }
        if let Some(order) = &order {
            p.refused(
                "order",
                &format!("{{ {pl}(orderBy: {order}) {{ totalCount }} }}"),
            )
            .await;
        }
        let key = if d.ty == "relation" {
            format!("{f}Id")
        } else {
            f.clone()
        };
        p.refused(
            "group-by",
            &format!("{{ {pl}GroupBy(by: [{key}]) {{ count }} }}"),
        )
        .await;
        // Writes name it as the role's input never has it.
        if !d.masked {
            p.refused(
                "create",
                &format!(
                    "mutation {{ create{}(data: {{ {f}: null }}) {{ id }} }}",
                    upper_first(&d.object)
                ),
            )
            .await;
        }
        // The metadata and the documents do not name it.
        let o = p
            .post(
                "/metadata",
                "query($n: String!) { object(name: $n) { fields { name } jsonSchema } }",
                json!({ "n": d.object }),
            )
            .await;
        let fields: Vec<&str> = o["data"]["object"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields.contains(&f.as_str()),
            d.masked,
            "metadata of {}: {fields:?}",
            d.object
        );
        let listed = p
            .post(
                "/metadata",
                "{ objects { name fields { name } } }",
                json!({}),
            )
            .await;
        let in_list = listed["data"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == d.object.as_str())
            .unwrap();
        assert_eq!(
            in_list["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == f.as_str()),
            d.masked
        );
        let (status, doc) = p.get(&format!("/metadata/objects/{}.json", d.object)).await;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            doc["properties"].get(f.as_str()).is_some(),
            d.masked,
            "{}.json: {doc}",
            d.object
        );
        let (_, sdl) = p.get("/graphql/schema.graphql").await;
        let ty = sdl
            .split(&format!("type {} ", upper_first(&d.object)))
            .nth(1)
            .unwrap()
            .split('}')
            .next()
            .unwrap();
        assert_eq!(
            ty.contains(&format!("\n\t{f}:"))
                || ty.contains(&format!(" {f}:"))
                || ty.contains(&format!("\n  {f}:")),
            d.masked,
            "SDL type of {}: {ty}",
            d.object
        );
    }

    // Search never matches through a hidden or masked field.
    for term in [SECRET, PHONE, "0100199"] {
        let r = p
            .post(
                "/graphql",
                "query($t: String) { vaults(search: $t) { totalCount } }",
                json!({ "t": term }),
            )
            .await;
        assert_eq!(r["data"]["vaults"]["totalCount"], 0, "search {term}: {r}");
    }
    let admin = s
        .gql(
            "query($t: String) { vaults(search: $t) { totalCount } }",
            json!({ "t": SECRET }),
        )
        .await;
    assert_eq!(
        admin["vaults"]["totalCount"], 2,
        "the admin's search finds it"
    );

    // Operations that return records as JSON.
    let r = p.post("/graphql", "query($d: JSON!) { findDuplicates(object: \"vault\", data: $d) { id matchedOn record } }", json!({ "d": { "label": "Vault A" } })).await;
    let matches = r["data"]["findDuplicates"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(matches.len(), 1, "{r}");
    for d in denied.iter().filter(|d| d.object == "vault" && !d.masked) {
        assert!(
            matches[0]["record"].get(d.field.as_str()).is_none(),
            "findDuplicates shows {}: {r}",
            d.field
        );
    }
    for data in [
        json!({ "secret": SECRET }),
        json!({ "phone": PHONE }),
        json!({ "label": "Vault _" }),
        json!({ "label": "Vault %" }),
    ] {
        let r = p
            .post(
                "/graphql",
                "query($d: JSON!) { findDuplicates(object: \"vault\", data: $d) { id } }",
                json!({ "d": data }),
            )
            .await;
        assert_eq!(
            r["data"]["findDuplicates"],
            json!([]),
            "matched on {data}: {r}"
        );
    }
    let r = p.post("/graphql", "mutation($k: ID!, $m: [ID!]!) { mergeRecords(object: \"vault\", keepId: $k, mergeIds: $m) { record } }", json!({ "k": ids[0], "m": [ids[1]] })).await;
    let record = &r["data"]["mergeRecords"]["record"];
    assert!(record.is_object(), "{r}");
    for d in denied.iter().filter(|d| d.object == "vault" && !d.masked) {
        assert!(
            record.get(d.field.as_str()).is_none(),
            "mergeRecords shows {}: {r}",
            d.field
        );
    }

    // The timeline names only what the role sees.
    let r = p.post("/graphql", "query($id: ID!) { recordTimeline(object: \"vault\", id: $id) { kind summary changes } }", json!({ "id": ids[0] })).await;
    let entries = r["data"]["recordTimeline"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    let update = entries
        .iter()
        .find(|e| e["kind"] == "UPDATED" && e["summary"].as_str().unwrap().contains("label"))
        .unwrap_or_else(|| panic!("{r}"));
    for d in denied.iter().filter(|d| d.object == "vault" && !d.masked) {
        assert!(
            !update["summary"]
                .as_str()
                .unwrap()
                .contains(d.field.as_str()),
            "{update}"
        );
        assert!(
            update["changes"].get(d.field.as_str()).is_none(),
            "{update}"
        );
    }

    // Imports refuse what `create` refuses: hidden and read-only fields.
    for field in ["secret", "note"] {
        let r = p.post("/graphql", "mutation($r: [JSON!]!) { importRecords(object: \"vault\", records: $r) { imported refused errors { field } } }", json!({ "r": [{ "label": "I", field: "x" }] })).await;
        assert_eq!(r["data"]["importRecords"]["imported"], 0, "{field}: {r}");
        assert_eq!(
            r["data"]["importRecords"]["errors"][0]["field"], field,
            "{r}"
        );
        let res = s
            .client
            .post(format!("{}/import/vault", s.base))
            .bearer_auth(&p.token)
            .body(json!({ "label": "I", field: "x" }).to_string())
            .send()
            .await
            .unwrap();
        let text = res.text().await.unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(
            (last["imported"].clone(), last["errors"][0]["field"].clone()),
            (json!(0), json!(field)),
            "POST /import {field}: {text}"
        );
    }
    let r = p
        .post(
            "/graphql",
            "mutation($r: [JSON!]!) { importRecords(object: \"vault\", records: $r) { imported } }",
            json!({ "r": [{ "label": "Imported" }] }),
        )
        .await;
    assert_eq!(r["data"]["importRecords"]["imported"], 1, "{r}");

    // An object the role may not read: absent from every route.
    p.refused("selection", "{ closedBoxes { totalCount } }")
        .await;
    let r = p
        .post(
            "/metadata",
            "{ object(name: \"closedBox\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["object"], Value::Null, "{r}");
    assert_eq!(p.get("/metadata/objects/closedBox.json").await.0, 404);
    assert!(
        !p.get("/graphql/schema.graphql")
            .await
            .1
            .contains("ClosedBox")
    );
    let r = p.post("/graphql", "mutation($r: [JSON!]!) { importRecords(object: \"closedBox\", records: $r) { imported } }", json!({ "r": [{ "ref": "x" }] })).await;
    assert_eq!(code(&r["errors"][0]), "FORBIDDEN", "{r}");

    // Nothing the role was answered holds a secret value.
    let doubled = (SCORE * 2).to_string();
    let (score, amount) = (SCORE.to_string(), AMOUNT.to_string());
    let mut secrets = vec![SECRET, PHONE, &score, &doubled, &amount, "BOXSECRET77"];
    let typed = typed_fields();
    secrets.extend(typed.iter().map(|(_, _, _, leak)| *leak));
    for answer in &p.seen {
        for secret in &secrets {
            assert!(!answer.contains(secret), "`{secret}` leaked: {answer}");
        }
    }
    let _ = ADMIN_KEY;
    s.finish().await;
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_role_that_reads_only_its_own_records_can_create_them() {
    let s = TestServer::start().await;
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"solo\", definition: $d) }",
        json!({ "d": { "default": { "read": "own", "create": true, "update": "own", "delete": "own", "destroy": "none" } } }),
    )
    .await;
    let token = s.member_token("solo@x.example", "solo").await;
    let (_, r) = s
        .post_with("/graphql", Some(&token), json!({ "query": "mutation { createCompany(data: { name: \"Mine\" }) { id name ownerId } }" }))
        .await;
    assert_eq!(r["data"]["createCompany"]["name"], "Mine", "{r}");
    let (_, r) = s
        .post_with(
            "/graphql",
            Some(&token),
            json!({ "query": "{ companies { nodes { name } } }" }),
        )
        .await;
    assert_eq!(r["data"]["companies"]["nodes"], json!([{ "name": "Mine" }]));
    s.finish().await;
}
