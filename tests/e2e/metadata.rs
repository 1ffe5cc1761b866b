//! The metadata API: export round trips, plan/apply, hide/restore/purge, and
//! the endpoints around the data API.

use serde_json::{Value, json};

use crate::custom_object::vehicle_document;
use crate::harness::{ADMIN_KEY, TestServer, code};

#[tokio::test]
async fn export_round_trips_into_an_empty_workspace() {
    let a = TestServer::start().await;
    a.create_object(vehicle_document()).await;
    let (status, text) = a
        .get("/metadata/objects/vehicle.json", Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 200);
    let exported: Value = serde_json::from_str(&text).unwrap();
    let b = TestServer::start().await;
    b.create_object(exported.clone()).await;
    let (_, again) = b
        .get("/metadata/objects/vehicle.json", Some(ADMIN_KEY))
        .await;
    assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), exported);
    let (status, _) = a
        .get("/metadata/objects/nothing.json", Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 404);
    a.finish().await;
    b.finish().await;
}

#[tokio::test]
async fn plan_then_apply_schema() {
    let s = TestServer::start().await;
    let v0 = s.meta("{ metadataVersion }", json!({})).await["metadataVersion"]
        .as_i64()
        .unwrap();
    let mut doc = vehicle_document();
    let plan = "mutation($d: [JSON!]!) { planSchema(documents: $d) { steps { action object field } metadataVersion } }";
    let apply = "mutation($d: [JSON!]!) { applySchema(documents: $d) { steps { action object field } metadataVersion } }";
    let p = s.meta(plan, json!({ "d": [doc] })).await;
    assert_eq!(
        p["planSchema"]["steps"],
        json!([{ "action": "createObject", "object": "vehicle", "field": null }])
    );
    assert_eq!(
        s.meta("{ metadataVersion }", json!({})).await["metadataVersion"],
        v0,
        "a plan changes nothing"
    );
    let e = s.gql_error("{ vehicles { totalCount } }", json!({})).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert_eq!(
        s.app.distinct_schemas(),
        1,
        "the schema built to check the plan is not kept"
    );
    let a = s.meta(apply, json!({ "d": [doc] })).await;
    assert_eq!(a["applySchema"]["metadataVersion"], v0 + 1);
    s.gql("{ vehicles { totalCount } }", json!({})).await;

    // A second document set: one field added, one changed, one removed.
    doc["properties"]["mileage"] = json!({ "type": "integer", "minimum": 0 });
    doc["properties"]["notes"] = json!({ "type": "string", "maxLength": 500, "x-rapport-field": { "type": "longText", "isIndexed": true } });
    doc["properties"].as_object_mut().unwrap().remove("spec");
    let p = s.meta(plan, json!({ "d": [doc] })).await["planSchema"]["steps"].clone();
    let actions: Vec<(String, String)> = p
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().into(),
                s["field"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("addField".into(), "mileage".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("changeIndex".into(), "notes".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("deleteField".into(), "spec".into())),
        "{actions:?}"
    );
    s.meta(apply, json!({ "d": [doc] })).await;
    s.gql(
        "mutation { createVehicle(data: { plate: \"PL-1\", mileage: 10 }) { mileage } }",
        json!({}),
    )
    .await;
    let again = s.meta(plan, json!({ "d": [doc] })).await;
    assert_eq!(
        again["planSchema"]["steps"],
        json!([]),
        "applied documents plan to nothing"
    );
    s.finish().await;
}

#[tokio::test]
async fn objects_and_fields_hide_restore_and_purge() {
    let s = TestServer::start().await;
    s.create_object(vehicle_document()).await;
    s.gql(
        "mutation { createVehicle(data: { plate: \"KEEP-1\", spec: \"kept\" }) { id } }",
        json!({}),
    )
    .await;
    let listed = s
        .meta(
            "{ objects { name isCustom } all: objects(includeSystem: true) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["objects"],
        json!([{ "name": "vehicle", "isCustom": true }])
    );
    assert_eq!(
        listed["all"].as_array().unwrap().len(),
        28,
        "27 standard objects and vehicle"
    );

    // Hiding an object another relation targets is refused; hiding vehicle is fine.
    assert!(
        s.meta("mutation { deleteObject(name: \"vehicle\") }", json!({}))
            .await["deleteObject"]
            .as_bool()
            .unwrap()
    );
    assert_eq!(
        code(&s.gql_error("{ vehicles { totalCount } }", json!({})).await),
        "BAD_USER_INPUT"
    );
    let e = s
        .gql_error(
            "{ companies { nodes { vehicles { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT", "the inverse list went with it");
    let e = s
        .meta_error(
            "mutation($s: JSON!) { createObject(schema: $s) { name } }",
            json!({ "s": vehicle_document() }),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT", "a hidden object keeps its name");
    s.meta(
        "mutation { restoreObject(name: \"vehicle\") { name } }",
        json!({}),
    )
    .await;
    let d = s
        .gql("{ vehicles { nodes { plate spec } } }", json!({}))
        .await;
    assert_eq!(
        d["vehicles"]["nodes"],
        json!([{ "plate": "KEEP-1", "spec": "kept" }])
    );

    // Purge a deleted field: gone for good, and its name is free again.
    let e = s
        .meta_error(
            "mutation { deleteField(object: \"vehicle\", name: \"notes\") }",
            json!({}),
        )
        .await;
    assert_eq!(
        code(&e),
        "BAD_USER_INPUT",
        "a search field stays until searchFields changes"
    );
    s.meta(
        "mutation { deleteField(object: \"vehicle\", name: \"spec\") }",
        json!({}),
    )
    .await;
    let e = s.meta_error("mutation { createField(object: \"vehicle\", name: \"spec\", schema: { type: \"string\" }) { name } }", json!({})).await;
    assert_eq!(code(&e), "CONFLICT");
    s.meta(
        "mutation { purge(object: \"vehicle\", field: \"spec\", confirm: true) }",
        json!({}),
    )
    .await;
    s.meta("mutation { createField(object: \"vehicle\", name: \"spec\", schema: { type: \"integer\" }) { type } }", json!({})).await;
    let d = s.gql("{ vehicles { nodes { spec } } }", json!({})).await;
    assert_eq!(
        d["vehicles"]["nodes"],
        json!([{ "spec": null }]),
        "the purged text did not come back"
    );

    // Purging a whole object needs it deleted first.
    let e = s
        .meta_error(
            "mutation { purge(object: \"vehicle\", confirm: true) }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    s.meta("mutation { deleteObject(name: \"vehicle\") }", json!({}))
        .await;
    s.meta(
        "mutation { purge(object: \"vehicle\", confirm: true) }",
        json!({}),
    )
    .await;
    s.create_object(vehicle_document()).await;
    assert_eq!(
        s.count_all("vehicles").await,
        0,
        "a purged object leaves no data behind"
    );
    s.finish().await;
}

#[tokio::test]
async fn sdl_graphiql_health_and_metrics() {
    let s = TestServer::start().await;
    s.create_object(vehicle_document()).await;
    let (status, sdl) = s.get("/graphql/schema.graphql", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    for needle in [
        "type Vehicle",
        "input VehicleFilter",
        "enum VehicleColor",
        "type VehicleConnection",
        "vehiclesGroupBy(",
        "createVehicles(",
        "type Currency",
        "enum OrderDirection",
        "vehicles(filter: VehicleFilter",
    ] {
        assert!(sdl.contains(needle), "SDL lacks {needle}");
    }
    let (status, page) = s.get("/graphql", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("/graphql/assets/graphiql.min.js") && !page.contains("https://"),
        "GraphiQL assets are local"
    );
    let (status, js) = s.get("/graphql/assets/graphiql.min.js", None).await;
    assert_eq!(status, 200);
    assert!(js.len() > 100_000);
    let (status, ready) = s.get("/readyz", None).await;
    assert_eq!(status, 200);
    assert!(ready.contains("metadata version"));
    s.gql("{ vehicles { totalCount } }", json!({})).await;
    let (_, metrics) = s.get("/metrics", None).await;
    assert!(
        metrics.contains("rapport_graphql_requests_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rapport_schema_rebuilds_total 1"),
        "{metrics}"
    );
    // The workspace's schema at start, then one for the change: built to
    // check it before it committed, and served as built after.
    assert!(
        metrics.contains("rapport_schema_builds_total 2\n"),
        "{metrics}"
    );
    s.finish().await;
}

#[tokio::test]
async fn standard_objects_take_new_fields_labels_and_options_but_keep_their_fields() {
    let s = TestServer::start().await;
    // Relabel a standard field and extend its options, without repeating isSystem.
    let schema = json!({ "title": "Sector", "type": "string", "enum": ["SOFTWARE", "MANUFACTURING", "RETAIL", "FINANCE", "HEALTHCARE",
        "EDUCATION", "GOVERNMENT", "ENERGY", "MEDIA", "OTHER", "SPACE"] });
    let f = s.meta("mutation($s: JSON!) { updateField(object: \"company\", name: \"industry\", schema: $s) { label isSystem options } }", json!({ "s": schema })).await;
    assert_eq!(f["updateField"]["label"], "Sector");
    assert_eq!(f["updateField"]["isSystem"], true, "still a standard field");
    s.gql(
        "mutation { createCompany(data: { name: \"Orbital\", industry: SPACE }) { id } }",
        json!({}),
    )
    .await;
    let e = s
        .meta_error(
            "mutation { deleteField(object: \"company\", name: \"industry\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "FORBIDDEN");
    let e = s.meta_error("mutation { updateField(object: \"company\", name: \"industry\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    // An option in use cannot be dropped.
    let e = s.meta_error("mutation($s: JSON!) { updateField(object: \"company\", name: \"industry\", schema: $s) { name } }",
        json!({ "s": { "type": "string", "enum": ["SOFTWARE", "OTHER"] } })).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("1 of 1 records of `company` would not convert its `industry`"),
        "{e}"
    );
    // A custom field on a standard object.
    s.meta("mutation { createField(object: \"company\", name: \"loyaltyTier\", schema: { type: \"integer\" }) { isCustom } }", json!({})).await;
    let d = s
        .gql(
            "mutation { createCompany(data: { name: \"Loyal\", loyaltyTier: 3 }) { loyaltyTier } }",
            json!({}),
        )
        .await;
    assert_eq!(d["createCompany"]["loyaltyTier"], 3);
    s.meta(
        "mutation { deleteField(object: \"company\", name: \"loyaltyTier\") }",
        json!({}),
    )
    .await;
    s.finish().await;
}

/// The SDL of a new workspace: any change to it is a change of the public API.
/// `RAPPORT_UPDATE_SNAPSHOTS=1 cargo test` rewrites the snapshot after a deliberate change.
#[tokio::test]
async fn standard_schema_sdl_matches_its_snapshot() {
    let s = TestServer::start().await;
    let (status, sdl) = s.get("/graphql/schema.graphql", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/snapshots/standard.graphql");
    if std::env::var_os("RAPPORT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .expect("snapshot exists (run once with RAPPORT_UPDATE_SNAPSHOTS=1)");
    assert!(
        sdl == expected,
        "the generated SDL changed; diff it against {}",
        path.display()
    );
    s.finish().await;
}
