//! Every bad input of the contract gets its code, and nothing is written.

use serde_json::json;

use crate::custom_object::vehicle_document;
use crate::harness::{TestServer, code};

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let s = TestServer::start().await;
    let body = json!({ "query": "{ companies { totalCount } }" });
    let (status, r) = s.post_with("/graphql", None, body.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED");
    let (status, r) = s
        .post_with("/graphql", Some("rk_not_a_key"), body.clone())
        .await;
    assert_eq!(status, 401);
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED");
    let (status, r) = s
        .post_with("/metadata", None, json!({ "query": "{ metadataVersion }" }))
        .await;
    assert_eq!(
        (status.as_u16(), code(&r["errors"][0])),
        (401, "UNAUTHENTICATED")
    );
    let (status, _) = s.get("/graphql/schema.graphql", None).await;
    assert_eq!(status, 401);
    let (status, text) = s.get("/healthz", None).await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "ok"));
    s.finish().await;
}

#[tokio::test]
async fn bad_documents_name_the_offending_path_and_change_nothing() {
    let s = TestServer::start().await;
    let version = s.meta("{ metadataVersion }", json!({})).await["metadataVersion"]
        .as_i64()
        .unwrap();
    let create = "mutation($s: JSON!) { createObject(schema: $s) { name } }";
    let mut doc = vehicle_document();
    doc["properties"]["seats"]["type"] = json!("strin");
    let e = s.meta_error(create, json!({ "s": doc })).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "/properties/seats/type");

    let mut doc = vehicle_document();
    doc["properties"]["company"]["x-rapport-field"]["target"] = json!("spaceship");
    let e = s.meta_error(create, json!({ "s": doc })).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().contains("spaceship"), "{e}");

    let mut doc = vehicle_document();
    doc["properties"]["Bad Name"] = json!({ "type": "string" });
    assert_eq!(
        code(&s.meta_error(create, json!({ "s": doc })).await),
        "BAD_USER_INPUT"
    );

    let mut doc = vehicle_document();
    doc["properties"]["secret"] =
        json!({ "x-rapport-field": { "type": "encryptedText", "isUnique": true } });
    let e = s.meta_error(create, json!({ "s": doc })).await;
    assert!(e["message"].as_str().unwrap().contains("sealed"), "{e}");

    let mut doc = vehicle_document();
    doc["x-rapport-object"]["name"] = json!("company");
    doc["x-rapport-object"]["pluralName"] = json!("companies2");
    assert_eq!(
        code(&s.meta_error(create, json!({ "s": doc })).await),
        "CONFLICT"
    );

    // A DDL failure halfway (duplicate plural name clashes in the catalog) leaves nothing.
    let mut doc = vehicle_document();
    doc["x-rapport-object"]["pluralName"] = json!("companies");
    assert_eq!(
        code(&s.meta_error(create, json!({ "s": doc })).await),
        "CONFLICT"
    );

    let after = s
        .meta("{ metadataVersion objects { name } }", json!({}))
        .await;
    assert_eq!(
        after["metadataVersion"].as_i64().unwrap(),
        version,
        "no refused change bumped the version"
    );
    assert_eq!(after["objects"], json!([]), "no custom object was created");

    // Unique index over existing duplicates is refused, with the data intact.
    s.create_object(vehicle_document()).await;
    s.gql("mutation { createVehicles(data: [{ plate: \"AA-1\", notes: \"x\" }, { plate: \"AA-2\", notes: \"x\" }]) { id } }", json!({})).await;
    let e = s
        .meta_error(
            "mutation($s: JSON!) { updateField(object: \"vehicle\", name: \"notes\", schema: $s) { name } }",
            json!({ "s": { "type": "string", "x-rapport-field": { "isUnique": true } } }),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT", "{e}");
    // Field name clashes and system fields.
    let e = s.meta_error("mutation { createField(object: \"vehicle\", name: \"plate\", schema: { type: \"string\" }) { name } }", json!({})).await;
    assert_eq!(code(&e), "CONFLICT");
    let e = s.meta_error("mutation { createField(object: \"vehicle\", name: \"createdAt\", schema: { type: \"string\" }) { name } }", json!({})).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let e = s
        .meta_error(
            "mutation { deleteField(object: \"company\", name: \"name\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "FORBIDDEN");
    let e = s
        .meta_error("mutation { deleteObject(name: \"company\") }", json!({}))
        .await;
    assert_eq!(code(&e), "FORBIDDEN");
    let e = s.meta_error("mutation { renameField(object: \"vehicle\", name: \"nope\", newName: \"other\") { name } }", json!({})).await;
    assert_eq!(code(&e), "NOT_FOUND");
    let e = s
        .meta_error(
            "mutation { purge(object: \"vehicle\", confirm: false) }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    s.finish().await;
}

#[tokio::test]
async fn bad_record_input_is_refused_with_field_and_reason() {
    let s = TestServer::start().await;
    s.create_object(vehicle_document()).await;
    let create = "mutation($d: VehicleCreateInput!) { createVehicle(data: $d) { id } }";
    let cases = [
        (json!({}), "plate"),
        (json!({ "plate": "A" }), "plate"),
        (
            json!({ "plate": "AB-1", "contactEmail": "not-an-email" }),
            "contactEmail",
        ),
        (json!({ "plate": "AB-1", "hotline": "12345" }), "hotline"),
        (json!({ "plate": "AB-1", "seats": 500 }), "seats"),
        (
            json!({ "plate": "AB-1", "engineSize": "1.2.3" }),
            "engineSize",
        ),
        (
            json!({ "plate": "AB-1", "price": { "amount": "10", "currencyCode": "euro" } }),
            "price.currencyCode",
        ),
        // A currency is an amount and its code, both or neither.
        (
            json!({ "plate": "AB-1", "price": { "amount": "0.00" } }),
            "price",
        ),
        (
            json!({ "plate": "AB-1", "price": { "currencyCode": "EUR" } }),
            "price",
        ),
        (
            json!({ "plate": "AB-1", "price": { "amount": "5", "currencyCode": null } }),
            "price",
        ),
        (json!({ "plate": "AB-1", "condition": 9 }), "condition"),
        // PostgreSQL text cannot hold NUL: refused alike on both databases.
        (json!({ "plate": "AB\u{0}1" }), "plate"),
        (
            json!({ "plate": "AB-1", "firstRegistered": "2024-13-45" }),
            "firstRegistered",
        ),
        (
            json!({ "plate": "AB-1", "companyId": "7f000000-0000-4000-8000-000000000000" }),
            "companyId",
        ),
        (
            json!({ "plate": "AB-1", "relatedObject": "vehicle", "relatedId": "7f000000-0000-4000-8000-000000000000" }),
            "relatedObject",
        ),
        (
            json!({ "plate": "AB-1", "garage": { "latitude": 123.0 } }),
            "garage.latitude",
        ),
    ];
    for (data, field) in cases {
        let e = s.gql_error(create, json!({ "d": data })).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{data}: {e}");
        assert_eq!(e["extensions"]["field"], field, "{data}: {e}");
        assert!(
            e["extensions"]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{e}"
        );
    }
    // GraphQL-level type errors carry the code too.
    let e = s
        .gql_error(
            create,
            json!({ "d": { "plate": "AB-1", "color": "PURPLE" } }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let e = s
        .gql_error("{ vehicles { nodes { nope } } }", json!({}))
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert_eq!(s.count_all("vehicles").await, 0, "nothing was written");

    let ok = s.gql(create, json!({ "d": { "plate": "AB-1" } })).await;
    let id = ok["createVehicle"]["id"].as_str().unwrap().to_string();
    let e = s
        .gql_error(
            "mutation($id: ID!) { updateVehicle(id: $id, data: { plate: null }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("plate"))
    );
    let missing = "7f000000-0000-4000-8000-000000000001";
    let e = s
        .gql_error(
            "mutation($id: ID!) { updateVehicle(id: $id, data: { seats: 2 }) { id } }",
            json!({ "id": missing }),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    let e = s
        .gql_error(
            "mutation($id: ID!) { deleteVehicle(id: $id) { id } }",
            json!({ "id": missing }),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    let e = s
        .gql_error(
            "mutation($id: ID!) { destroyVehicle(id: $id) }",
            json!({ "id": missing }),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    let e = s
        .gql_error(
            "mutation { updateVehicle(id: \"not-a-uuid\", data: { seats: 2 }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let e = s
        .gql_error(
            "mutation { createVehicle(data: { plate: \"AB-1\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT");
    assert!(
        !e["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("sql"),
        "no SQL leaks: {e}"
    );
    s.finish().await;
}

#[tokio::test]
async fn api_limits_answer_with_codes() {
    let s = TestServer::start().await;
    let e = s
        .gql_error("{ companies(first: 501) { totalCount } }", json!({}))
        .await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("first"))
    );
    let e = s
        .gql_error("{ companies(first: -1) { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let e = s
        .gql_error(
            "{ companies(after: \"garbage\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("after"))
    );
    let e = s
        .gql_error(
            "{ companies(orderBy: [{ name: ASC, domain: DESC }]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let deep = "{ companies { nodes { people { nodes { company { people { nodes { company { people { nodes { company { people { nodes { company { name } } } } } } } } } } } } } } }";
    let e = s.gql_error(deep, json!({})).await;
    assert_eq!(code(&e), "QUERY_TOO_COMPLEX");
    // NUL reaching the database directly (a key id, a filter) is the
    // caller's mistake, never an internal error.
    let e = s
        .meta_error(
            "mutation($id: ID!) { revokeApiKey(id: $id) }",
            json!({ "id": "k\u{0}" }),
        )
        .await;
    assert!(matches!(code(&e), "BAD_USER_INPUT" | "NOT_FOUND"), "{e}");
    let r = s
        .gql_raw(
            "{ companies(filter: { name: { eq: \"a\\u0000b\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_ne!(code(&r["errors"][0]), "INTERNAL", "{r}");
    // Tooling's introspection (GraphiQL, codegen) nests type references
    // deeper than data may go; it is not counted.
    for path in ["/graphql", "/metadata"] {
        let (_, r) = s
            .post_with(
                path,
                Some(crate::harness::ADMIN_KEY),
                json!({ "query": TOOLING_INTROSPECTION }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{path}: {r}");
        assert!(r["data"]["__schema"]["types"].as_array().unwrap().len() > 10);
    }
    let (status, r) = s
        .post_with(
            "/graphql",
            Some(crate::harness::ADMIN_KEY),
            json!({ "nope": 1 }),
        )
        .await;
    assert_eq!(
        (status.as_u16(), code(&r["errors"][0])),
        (400, "BAD_USER_INPUT")
    );
    let big = "x".repeat(3 * 1024 * 1024);
    let status = s.post_status("/graphql", json!({ "query": big })).await;
    assert_eq!(status, 413);
    // Batches over the limit are refused whole.
    let data: Vec<_> = (0..1001)
        .map(|i| json!({ "name": format!("C{i}") }))
        .collect();
    let e = s
        .gql_error(
            "mutation($d: [CompanyCreateInput!]!) { createCompanies(data: $d) { id } }",
            json!({ "d": data }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert_eq!(s.count_all("companies").await, 0);
    s.finish().await;
}

/// The introspection query of graphql-js (`getIntrospectionQuery`), as
/// GraphiQL and code generators send it.
const TOOLING_INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}";
