//! `encryptedText`: sealed at rest, clear to roles that may read it, masked
//! to the others, never comparable, and rotatable to a new key.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::harness::{TestDb, TestServer, code};

// Fixed test keys (32 bytes each, base64); real ones come from `rapport keys generate`.
pub const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

pub const CREATE_FIELD: &str = "mutation($s: JSON!) { createField(object: \"company\", name: \"taxId\", schema: $s) { name type } }";

/// The stored column values of `company.taxId`, straight from the database.
async fn stored(s: &TestServer) -> Vec<String> {
    let live = s.app.live();
    let sql = format!(
        "SELECT \"taxId\" FROM {} WHERE \"taxId\" IS NOT NULL",
        live.meta.layout.table("company")
    );
    let rows = s
        .app
        .db
        .conn
        .query_all_raw(Statement::from_string(s.app.db.db_backend(), sql))
        .await
        .expect("raw read");
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

async fn key_for_role(s: &TestServer, role: Option<&str>) -> String {
    let q = match role {
        Some(r) => format!("mutation {{ createApiKey(name: \"k-{r}\", role: \"{r}\") {{ key }} }}"),
        None => "mutation { createApiKey(name: \"k-member\") { key } }".into(),
    };
    s.meta(&q, json!({})).await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn as_key(s: &TestServer, key: &str, query: &str) -> Value {
    s.post_with("/graphql", Some(key), json!({ "query": query }))
        .await
        .1
}

#[tokio::test]
async fn without_a_key_encrypted_fields_are_refused() {
    let s = TestServer::start().await;
    let e = s
        .meta_error(
            CREATE_FIELD,
            json!({ "s": { "type": "string", "x-rapport-field": { "type": "encryptedText" } } }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert!(
        e["message"].as_str().unwrap().contains("encryption key"),
        "{e}"
    );
    let fields = s
        .meta(
            "{ object(name: \"company\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert!(
        !fields.to_string().contains("taxId"),
        "nothing half-written"
    );
    s.finish().await;
}

#[tokio::test]
async fn values_are_sealed_at_rest_and_shown_by_role() {
    let s = TestServer::start_keyed(TestDb::new().await, &[KEY_A]).await;
    let created = s
        .meta(
            CREATE_FIELD,
            json!({ "s": { "type": "string", "title": "Tax id", "x-rapport-field": { "type": "encryptedText" } } }),
        )
        .await;
    assert_eq!(created["createField"]["type"], "encryptedText");
    let id = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\", taxId: \"DE123456789\" }) { id taxId } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // At rest: sealed, the clear text nowhere; equal texts seal differently.
    s.gql(
        "mutation { createCompany(data: { name: \"Beta\", taxId: \"DE123456789\" }) { id } }",
        json!({}),
    )
    .await;
    let raw = stored(&s).await;
    assert_eq!(raw.len(), 2);
    assert!(
        raw.iter()
            .all(|v| v.starts_with("rpe1.") && !v.contains("123456789"))
    );
    assert_ne!(raw[0], raw[1]);

    // Admins read it clear; the member role sees it masked; a granted role clear.
    let admin = s
        .gql(
            "{ companies(orderBy: { name: ASC }) { nodes { name taxId } } }",
            json!({}),
        )
        .await;
    assert_eq!(admin["companies"]["nodes"][0]["taxId"], "DE123456789");
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"finance\", definition: $d) }",
        json!({ "d": { "fields": { "company.taxId": "read" } } }),
    )
    .await;
    let member = key_for_role(&s, None).await;
    let finance = key_for_role(&s, Some("finance")).await;
    let r = as_key(
        &s,
        &member,
        "{ companies(orderBy: { name: ASC }) { nodes { taxId } } }",
    )
    .await;
    let masked = r["data"]["companies"]["nodes"][0]["taxId"]
        .as_str()
        .unwrap();
    assert!(masked.contains('*') && !masked.contains("3456"), "{masked}");
    let r = as_key(
        &s,
        &finance,
        "{ companies(orderBy: { name: ASC }) { nodes { taxId } } }",
    )
    .await;
    assert_eq!(r["data"]["companies"]["nodes"][0]["taxId"], "DE123456789");

    // Ciphertext compares to nothing: no filter, ordering or grouping on it.
    for q in [
        "{ companies(filter: { taxId: { eq: \"DE123456789\" } }) { totalCount } }",
        "{ companies(orderBy: { taxId: ASC }) { totalCount } }",
        "{ companiesGroupBy(by: [taxId]) { count } }",
    ] {
        let e = s.gql_error(q, json!({})).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{q}: {e}");
    }

    // History tells that it changed, never what it was.
    s.gql(
        "mutation($id: ID!) { updateCompany(id: $id, data: { taxId: \"FR999\" }) { taxId } }",
        json!({ "id": id }),
    )
    .await;
    let timeline = s
        .gql(
            "query($id: ID!) { recordTimeline(object: \"company\", id: $id) { kind changes } }",
            json!({ "id": id }),
        )
        .await
        .to_string();
    assert!(timeline.contains("[encrypted]"), "{timeline}");
    assert!(
        !timeline.contains("FR999") && !timeline.contains("DE123"),
        "{timeline}"
    );

    // A changed byte is caught (authenticated encryption), and nothing leaks.
    let live = s.app.live();
    let table = live.meta.layout.table("company");
    let mut bytes = raw[0].clone().into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    s.app
        .db
        .conn
        .execute_raw(Statement::from_string(
            s.app.db.db_backend(),
            format!("UPDATE {table} SET \"taxId\" = '{tampered}' WHERE \"name\" = 'Beta'"),
        ))
        .await
        .unwrap();
    let r = s
        .gql_raw(
            "{ companies(filter: { name: { eq: \"Beta\" } }) { nodes { taxId } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&r["errors"][0]), "INTERNAL", "{r}");
    assert!(!r.to_string().contains("rpe1"), "{r}");
    s.finish().await;
}

#[tokio::test]
async fn keys_rotate_and_fields_convert() {
    let s = TestServer::start_keyed(TestDb::new().await, &[KEY_A]).await;
    s.meta(
        CREATE_FIELD,
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "text" } } }),
    )
    .await;
    s.gql(
        "mutation { createCompany(data: { name: \"Acme\", taxId: \"GB42\" }) { id } }",
        json!({}),
    )
    .await;
    // A text field becomes encrypted: its values are sealed in the same change.
    s.meta(
        "mutation($s: JSON!) { updateField(object: \"company\", name: \"taxId\", schema: $s) { type } }",
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "encryptedText" } } }),
    )
    .await;
    assert!(stored(&s).await[0].starts_with("rpe1."));
    let read = "{ companies { nodes { taxId } } }";
    assert_eq!(
        s.gql(read, json!({})).await["companies"]["nodes"][0]["taxId"],
        "GB42"
    );

    // Rotation: B seals new values, A still opens old ones until re-sealed.
    let s = TestServer::start_keyed(s.into_db(), &[KEY_B, KEY_A]).await;
    assert_eq!(
        s.gql(read, json!({})).await["companies"]["nodes"][0]["taxId"],
        "GB42"
    );
    assert_eq!(rapport_server::reseal_all(&s.app).await.unwrap(), 1);
    assert_eq!(rapport_server::reseal_all(&s.app).await.unwrap(), 0);
    let s = TestServer::start_keyed(s.into_db(), &[KEY_B]).await;
    assert_eq!(
        s.gql(read, json!({})).await["companies"]["nodes"][0]["taxId"],
        "GB42",
        "the old key is no longer needed"
    );
    // And back to text: opened in the change.
    s.meta(
        "mutation($s: JSON!) { updateField(object: \"company\", name: \"taxId\", schema: $s) { type } }",
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "text" } } }),
    )
    .await;
    assert_eq!(stored(&s).await, vec!["GB42".to_string()]);
    s.finish().await;
}

#[tokio::test]
async fn erasing_a_subject_clears_their_encrypted_fields() {
    let s = TestServer::start_keyed(TestDb::new().await, &[KEY_A]).await;
    s.meta(
        "mutation($s: JSON!) { createField(object: \"person\", name: \"nationalId\", schema: $s) { name } }",
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "encryptedText" } } }),
    )
    .await;
    let id = s
        .gql(
            "mutation { createPerson(data: { name: { firstName: \"Ada\" }, nationalId: \"AB123456C\" }) { id nationalId } }",
            json!({}),
        )
        .await["createPerson"]["id"]
        .clone();
    let erased = s
        .gql(
            "mutation($id: ID!) { eraseSubject(personId: $id) { nationalId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(erased["eraseSubject"]["nationalId"], Value::Null);
    s.finish().await;
}

/// Reads fetch only the values a selection shows: with a key that cannot
/// open a sealed value, every read that does not show it still works
/// (pages, a record by id, a parent through a relation), and the one that
/// shows it fails without giving anything away.
#[tokio::test]
async fn reads_that_do_not_show_a_sealed_value_do_not_open_it() {
    let s = TestServer::start_keyed(TestDb::new().await, &[KEY_A]).await;
    s.meta(
        CREATE_FIELD,
        json!({ "s": { "type": "string", "x-rapport-field": { "type": "encryptedText" } } }),
    )
    .await;
    let id = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\", taxId: \"GB42\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    s.gql(
        "mutation($c: ID!) { createPerson(data: { name: { firstName: \"Ada\" }, companyId: $c }) { id } }",
        json!({ "c": id }),
    )
    .await;
    let s = TestServer::start_keyed(s.into_db(), &[KEY_B]).await;
    let r = s
        .gql(
            "query($id: ID!) { companies { nodes { name } } company(id: $id) { name }
               people { nodes { company { name } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r["companies"]["nodes"][0]["name"], "Acme", "{r}");
    assert_eq!(r["company"]["name"], "Acme");
    assert_eq!(r["people"]["nodes"][0]["company"]["name"], "Acme");
    let e = s
        .gql_error("{ companies { nodes { taxId } } }", json!({}))
        .await;
    assert!(!e.to_string().contains("GB42"), "{e}");
    s.finish().await;
}
