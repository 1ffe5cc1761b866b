//! A new binary with newer standard documents upgrades an existing workspace:
//! new objects, fields and options arrive; the admin's customisations stay.

use serde_json::{Value, json};

use crate::harness::{TestDb, TestServer};

/// The standard documents as an older release shipped them.
fn older_release() -> Vec<Value> {
    let mut docs: Vec<Value> = rapport_server::standard_documents()
        .into_iter()
        .filter(|d| d["x-rapport-object"]["name"] != "contract")
        .collect();
    let company = docs
        .iter_mut()
        .find(|d| d["x-rapport-object"]["name"] == "company")
        .unwrap();
    company["properties"]
        .as_object_mut()
        .unwrap()
        .remove("tier");
    company["properties"]["website"]["title"] = json!("Web site");
    company["properties"]["employees"]["title"] = json!("Staff");
    let industry = &mut company["properties"]["industry"];
    industry["enum"] = json!(
        industry["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| *v != "MEDIA")
            .cloned()
            .collect::<Vec<_>>()
    );
    let options: Vec<Value> = industry["x-rapport-field"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["value"] != "MEDIA")
        .cloned()
        .collect();
    industry["x-rapport-field"]["options"] = json!(options);
    docs
}

fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
}

#[tokio::test]
async fn upgrading_keeps_customisations_and_adds_what_is_new() {
    let old = TestServer::start_with(TestDb::new().await, &older_release()).await;
    let e = old
        .gql_error("{ contracts { totalCount } }", json!({}))
        .await;
    assert_eq!(
        e["extensions"]["code"], "BAD_USER_INPUT",
        "the old release has no contracts"
    );

    // The admin customises: a label, an extra option, a field of their own, data.
    let mut industry = old
        .meta("{ object(name: \"company\") { jsonSchema } }", json!({}))
        .await["object"]["jsonSchema"]["properties"]["industry"]
        .clone();
    industry["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("SPACE"));
    industry["x-rapport-field"]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "value": "SPACE", "label": "Space" }));
    old.meta("mutation($s: JSON!) { updateField(object: \"company\", name: \"industry\", schema: $s) { name } }", json!({ "s": industry })).await;
    let mut employees = old
        .meta("{ object(name: \"company\") { jsonSchema } }", json!({}))
        .await["object"]["jsonSchema"]["properties"]["employees"]
        .clone();
    employees["title"] = json!("Headcount");
    old.meta("mutation($s: JSON!) { updateField(object: \"company\", name: \"employees\", schema: $s) { name } }", json!({ "s": employees })).await;
    old.meta("mutation { createField(object: \"company\", name: \"loyaltyTier\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    old.gql("mutation { createCompany(data: { name: \"Orbital\", industry: SPACE, employees: 12, loyaltyTier: 3 }) { id } }", json!({})).await;
    let version_before = old.meta("{ metadataVersion }", json!({})).await["metadataVersion"]
        .as_i64()
        .unwrap();
    let db = old.into_db();

    // The new release starts on the same database.
    let new = TestServer::start_with(db, &rapport_server::standard_documents()).await;
    let company = new
        .meta(
            "{ object(name: \"company\") { fields { name label options } } metadataVersion }",
            json!({}),
        )
        .await;
    assert!(company["metadataVersion"].as_i64().unwrap() > version_before);
    let c = &company["object"];
    assert!(field(c, "tier").is_some(), "the new standard field arrived");
    assert_eq!(
        field(c, "website").unwrap()["label"],
        "Website",
        "an untouched label follows the release"
    );
    assert_eq!(
        field(c, "employees").unwrap()["label"],
        "Headcount",
        "the admin's label stays"
    );
    assert!(
        field(c, "loyaltyTier").is_some(),
        "the admin's own field stays"
    );
    let values: Vec<&str> = field(c, "industry").unwrap()["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"SPACE") && values.contains(&"MEDIA"),
        "both the admin's and the new option: {values:?}"
    );
    let d = new.gql("{ companies { nodes { name industry employees loyaltyTier tier } } contracts { totalCount } }", json!({})).await;
    assert_eq!(
        d["companies"]["nodes"],
        json!([{ "name": "Orbital", "industry": "SPACE", "employees": 12, "loyaltyTier": 3, "tier": null }])
    );
    assert_eq!(
        d["contracts"]["totalCount"], 0,
        "the new standard object arrived"
    );

    // Starting again changes nothing more.
    let version = new.meta("{ metadataVersion }", json!({})).await["metadataVersion"]
        .as_i64()
        .unwrap();
    let again = TestServer::start_with(new.into_db(), &rapport_server::standard_documents()).await;
    assert_eq!(
        again.meta("{ metadataVersion }", json!({})).await["metadataVersion"]
            .as_i64()
            .unwrap(),
        version
    );
    again.finish().await;
}

/// Every workspace's company `deletedAt` index: its name as DDL names it,
/// its table, and its SQL.
async fn deleted_at_indexes(server: &TestServer) -> Vec<(String, String, String)> {
    use sea_orm::ConnectionTrait;
    let conn = &server.app.db.conn;
    let sql = if server.db.pg_admin.is_some() {
        "SELECT schemaname || '.\"' || indexname || '\"', schemaname || '.company', indexdef \
         FROM pg_indexes WHERE tablename = 'company' AND indexdef LIKE '%deletedAt%' ORDER BY 1"
    } else {
        "SELECT '\"' || name || '\"', '\"' || tbl_name || '\"', sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name LIKE '%\\_\\_company' ESCAPE '\\' \
         AND sql LIKE '%deletedAt%' ORDER BY 1"
    };
    conn.query_all_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        sql,
    ))
    .await
    .expect("index query")
    .iter()
    .map(|r| {
        (
            r.try_get_by_index(0).unwrap(),
            r.try_get_by_index(1).unwrap(),
            r.try_get_by_index(2).unwrap(),
        )
    })
    .collect()
}

#[tokio::test]
async fn deleted_at_indexes_of_older_tables_become_partial() {
    let server = TestServer::start().await;
    let (status, r) = server
        .post_with(
            "/metadata",
            None,
            json!({ "query": "mutation($e: String!, $p: String!, $w: String!) { signUp(email: $e, password: $p, workspaceName: $w) { workspaceId } }",
                    "variables": { "e": "owner@beta.example", "p": "correct horse battery", "w": "Beta" } }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let indexes = deleted_at_indexes(&server).await;
    assert_eq!(indexes.len(), 2, "one per workspace: {indexes:?}");
    for (_, _, def) in &indexes {
        assert!(
            def.contains("WHERE"),
            "a new table's index is partial: {def}"
        );
    }
    let gone = server
        .gql(
            "mutation { createCompany(data: { name: \"Gone\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    server
        .gql(
            "mutation($c: ID!) { deleteCompany(id: $c) { id } }",
            json!({ "c": gone }),
        )
        .await;

    // As an older release left the tables: full indexes, version 8 not
    // run. One text, so one connection runs it all (the pool's others may
    // still read an older snapshot).
    let mut old_state = String::new();
    for (name, table, _) in &indexes {
        old_state.push_str(&format!(
            "DROP INDEX {name}; CREATE INDEX {} ON {table} (\"deletedAt\"); ",
            name.rsplit('.').next().unwrap()
        ));
    }
    old_state.push_str("DELETE FROM rapport_migration WHERE version = 8");
    sea_orm::ConnectionTrait::execute_unprepared(&server.app.db.conn, &old_state)
        .await
        .expect("an older release's indexes");
    for (_, _, def) in deleted_at_indexes(&server).await {
        assert!(!def.contains("WHERE"), "set up as before: {def}");
    }

    let again = TestServer::start_on(server.into_db()).await;
    let indexes = deleted_at_indexes(&again).await;
    assert_eq!(indexes.len(), 2);
    for (_, _, def) in &indexes {
        assert!(def.contains("WHERE"), "made partial on upgrade: {def}");
    }
    let trash = again
        .gql(
            "{ companies(withDeleted: true, filter: { deletedAt: { isNull: false } }) { edges { node { id name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        trash["companies"]["edges"],
        json!([{ "node": { "id": gone, "name": "Gone" } }]),
        "the trash still answers"
    );
    again.finish().await;
}
