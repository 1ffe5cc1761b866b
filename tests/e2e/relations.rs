//! Many-to-many links through the platform's junction, polymorphic inverse
//! lists, and search.

use serde_json::{Value, json};

use crate::custom_object::vehicle_document;
use crate::harness::{TestServer, code};

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n["name"]
                .as_str()
                .or(n["plate"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn many_to_many_and_polymorphic_relations() {
    let s = TestServer::start().await;
    s.create_object(vehicle_document()).await;
    let c = s.gql("mutation { createCompanies(data: [{ name: \"Acme\" }, { name: \"Zeta\" }, { name: \"Omni\" }]) { id } }", json!({})).await;
    let ids: Vec<String> = c["createCompanies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    let (acme, zeta, omni) = (&ids[0], &ids[1], &ids[2]);
    let p = s
        .gql(
            "mutation { createPerson(data: { name: { firstName: \"Ada\" } }) { id } }",
            json!({}),
        )
        .await;
    let ada = p["createPerson"]["id"].as_str().unwrap().to_string();

    let v = s
        .gql(
            "mutation($d: VehicleCreateInput!) { createVehicle(data: $d) { id servicedBy { totalCount nodes { name } } } }",
            json!({ "d": { "plate": "MM-1", "servicedByIds": [acme, zeta], "relatedObject": "person", "relatedId": ada } }),
        )
        .await;
    let vid = v["createVehicle"]["id"].as_str().unwrap().to_string();
    assert_eq!(names(&v["createVehicle"]["servicedBy"]), ["Acme", "Zeta"]);
    s.gql("mutation($c: ID!) { createVehicle(data: { plate: \"MM-2\", servicedByIds: [$c], relatedObject: \"company\", relatedId: $c }) { id } }", json!({ "c": zeta })).await;

    // The inverse side, from the company.
    let d = s.gql("{ companies(orderBy: [{ name: ASC }]) { nodes { name servicedVehicles(orderBy: [{ plate: ASC }]) { totalCount nodes { plate } } linkedVehicles { nodes { plate } } } } }", json!({})).await;
    let nodes = d["companies"]["nodes"].as_array().unwrap();
    assert_eq!(
        nodes[0]["servicedVehicles"]["nodes"],
        json!([{ "plate": "MM-1" }])
    );
    assert_eq!(
        nodes[2]["servicedVehicles"]["nodes"],
        json!([{ "plate": "MM-1" }, { "plate": "MM-2" }])
    );
    assert_eq!(
        nodes[2]["linkedVehicles"]["nodes"],
        json!([{ "plate": "MM-2" }]),
        "polymorphic inverse on company"
    );
    assert_eq!(nodes[0]["linkedVehicles"]["nodes"], json!([]));
    let d = s
        .gql(
            "query($id: ID!) { person(id: $id) { linkedVehicles { nodes { plate } } } }",
            json!({ "id": ada }),
        )
        .await;
    assert_eq!(
        d["person"]["linkedVehicles"]["nodes"],
        json!([{ "plate": "MM-1" }]),
        "polymorphic inverse on person"
    );

    // Filters through the junction.
    let d = s.gql("{ vehicles(filter: { servicedBy: { some: { name: { eq: \"Acme\" } } } }) { nodes { plate } } }", json!({})).await;
    assert_eq!(d["vehicles"]["nodes"], json!([{ "plate": "MM-1" }]));
    let d = s
        .gql(
            "{ companies(filter: { servicedVehicles: { none: {} } }) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["companies"]["nodes"], json!([{ "name": "Omni" }]));

    // connect / disconnect / set.
    let upd = "mutation($id: ID!, $d: VehicleUpdateInput!) { updateVehicle(id: $id, data: $d) { servicedBy { nodes { name } } } }";
    let d = s.gql(upd, json!({ "id": vid, "d": { "connectServicedBy": [omni], "disconnectServicedBy": [zeta] } })).await;
    assert_eq!(names(&d["updateVehicle"]["servicedBy"]), ["Acme", "Omni"]);
    let d = s
        .gql(
            upd,
            json!({ "id": vid, "d": { "connectServicedBy": [omni] } }),
        )
        .await;
    assert_eq!(
        names(&d["updateVehicle"]["servicedBy"]),
        ["Acme", "Omni"],
        "connecting twice is harmless"
    );
    let e = s.gql_error(upd, json!({ "id": vid, "d": { "servicedByIds": [zeta, "7f000000-0000-4000-8000-000000000009"] } })).await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("servicedByIds"))
    );
    let d = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { servicedBy { nodes { name } } } }",
            json!({ "id": vid }),
        )
        .await;
    assert_eq!(
        names(&d["vehicle"]["servicedBy"]),
        ["Acme", "Omni"],
        "the refused set changed nothing"
    );
    let d = s
        .gql(upd, json!({ "id": vid, "d": { "servicedByIds": [] } }))
        .await;
    assert_eq!(
        names(&d["updateVehicle"]["servicedBy"]),
        Vec::<String>::new()
    );

    // Destroying a company removes its links.
    s.gql(upd, json!({ "id": vid, "d": { "servicedByIds": [zeta] } }))
        .await;
    s.gql(
        "mutation($c: ID!) { destroyCompany(id: $c) }",
        json!({ "c": zeta }),
    )
    .await;
    let d = s
        .gql(
            "{ vehicles(orderBy: [{ plate: ASC }]) { nodes { plate servicedBy { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["vehicles"]["nodes"],
        json!([{ "plate": "MM-1", "servicedBy": { "totalCount": 0 } }, { "plate": "MM-2", "servicedBy": { "totalCount": 0 } }])
    );
    s.finish().await;
}

#[tokio::test]
async fn search_matches_every_word_in_search_fields() {
    let s = TestServer::start().await;
    s.gql(
        "mutation { createPeople(data: [
            { name: { firstName: \"Ada\", lastName: \"Lovelace\" }, email: \"ada@engines.example\" },
            { name: { firstName: \"Grace\", lastName: \"Hopper\" }, email: \"grace@navy.example\" },
            { name: { firstName: \"Ada\", lastName: \"Byron\" }, email: \"byron@poets.example\" }]) { id } }",
        json!({}),
    )
    .await;
    let q = "query($s: String) { people(search: $s, orderBy: [{ email: ASC }]) { totalCount nodes { email } } }";
    let d = s.gql(q, json!({ "s": "ada" })).await;
    assert_eq!(d["people"]["totalCount"], 2);
    let d = s.gql(q, json!({ "s": "ADA love" })).await;
    assert_eq!(
        d["people"]["nodes"],
        json!([{ "email": "ada@engines.example" }])
    );
    let d = s.gql(q, json!({ "s": "navy" })).await;
    assert_eq!(
        d["people"]["nodes"],
        json!([{ "email": "grace@navy.example" }])
    );
    let d = s.gql(q, json!({ "s": "100%_" })).await;
    assert_eq!(d["people"]["totalCount"], 0, "wildcards are literal");
    let agg = s
        .gql("{ peopleAggregate(search: \"ada\") { count } }", json!({}))
        .await;
    assert_eq!(agg["peopleAggregate"]["count"], 2);
    s.finish().await;
}

/// An id in capitals names the same record: references and links are
/// checked on the normalised id (the check once compared the ids as sent
/// with the stored, lower-case ones, and refused an existing record).
#[tokio::test]
async fn ids_in_capitals_reference_existing_records() {
    let s = TestServer::start().await;
    let company = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .gql(
            "mutation($c: ID!) { createPerson(data: { name: { firstName: \"Ada\" }, companyId: $c }) { company { id } } }",
            json!({ "c": company.to_uppercase() }),
        )
        .await;
    assert_eq!(r["createPerson"]["company"]["id"], company.as_str(), "{r}");
    let r = s
        .gql(
            "mutation($r: [JSON!]!) { importRecords(object: \"person\", records: $r) { imported } }",
            json!({ "r": [{ "name": { "firstName": "Bo" }, "companyId": company.to_uppercase() }] }),
        )
        .await;
    assert_eq!(r["importRecords"]["imported"], 1, "{r}");
    s.finish().await;
}
