//! An admin defines `vehicle` with one field of every supported type and
//! relations to `company`, then a frontend uses the generated API.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

pub fn vehicle_document() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "Vehicle",
        "x-rapport-object": { "name": "vehicle", "pluralName": "vehicles", "titleField": "plate", "searchFields": ["plate", "notes"] },
        "properties": {
            "plate": { "type": "string", "minLength": 2, "maxLength": 12, "x-rapport-field": { "isUnique": true } },
            "notes": { "x-rapport-field": { "type": "longText" } },
            "spec": { "x-rapport-field": { "type": "richText" } },
            "contactEmail": { "type": "string", "format": "email" },
            "hotline": { "x-rapport-field": { "type": "phone" } },
            "manual": { "type": "string", "format": "uri" },
            "seats": { "type": "integer", "minimum": 1, "maximum": 90 },
            "weightKg": { "type": "number" },
            "discountRate": { "x-rapport-field": { "type": "percent" } },
            "engineSize": { "x-rapport-field": { "type": "decimal" } },
            "price": { "x-rapport-field": { "type": "currency" } },
            "electric": { "type": "boolean", "default": false },
            "firstRegistered": { "type": "string", "format": "date" },
            "lastServiceAt": { "type": "string", "format": "date-time" },
            "color": { "type": "string", "enum": ["RED", "BLUE", "GREEN"],
                       "x-rapport-field": { "options": [ { "value": "RED", "label": "Red", "color": "#f00" },
                                                         { "value": "BLUE", "label": "Blue" },
                                                         { "value": "GREEN", "label": "Green" } ] } },
            "features": { "type": "array", "items": { "enum": ["GPS", "HEATED_SEATS", "SUNROOF"] } },
            "condition": { "x-rapport-field": { "type": "rating", "max": 5 } },
            "extras": { "x-rapport-field": { "type": "json" } },
            "garage": { "x-rapport-field": { "type": "address" } },
            "driver": { "x-rapport-field": { "type": "fullName" } },
            "company": { "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "company", "inverse": "vehicles", "onDelete": "cascade" } },
            "lessor": { "x-rapport-field": { "type": "relation", "kind": "manyToOne", "target": "company", "inverse": "leasedVehicles", "onDelete": "restrict" } },
            "servicedBy": { "x-rapport-field": { "type": "relation", "kind": "manyToMany", "target": "company", "inverse": "servicedVehicles" } },
            "related": { "x-rapport-field": { "type": "relation", "kind": "polymorphic", "targets": ["company", "person"], "inverse": "linkedVehicles" } }
        },
        "required": ["plate"]
    })
}

const VEHICLE_FIELDS: &str = "id version createdAt updatedAt createdBy { kind name } plate notes spec contactEmail hotline manual seats weightKg discountRate engineSize
    price { amount currencyCode } electric firstRegistered lastServiceAt color features condition extras
    garage { street1 city country latitude } driver { firstName lastName } companyId company { name } relatedObject relatedId";

async fn company(s: &TestServer, name: &str) -> String {
    let d = s
        .gql(
            "mutation($d: CompanyCreateInput!) { createCompany(data: $d) { id } }",
            json!({ "d": { "name": name } }),
        )
        .await;
    d["createCompany"]["id"].as_str().unwrap().to_string()
}

fn plates(conn: &Value) -> Vec<String> {
    conn["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["plate"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn admin_defines_vehicle_and_frontend_uses_it() {
    let s = TestServer::start().await;
    let created = s.create_object(vehicle_document()).await;
    let names: Vec<&str> = created["createObject"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"price") && names.contains(&"related"),
        "{names:?}"
    );
    let inverse = s
        .meta(
            "{ object(name: \"company\") { fields { name type relation { kind target } } } }",
            json!({}),
        )
        .await;
    let company_fields = inverse["object"]["fields"].as_array().unwrap();
    assert!(
        company_fields
            .iter()
            .any(|f| f["name"] == "vehicles" && f["relation"]["kind"] == "oneToMany")
    );

    let acme = company(&s, "Acme").await;
    let zeta = company(&s, "Zeta").await;
    let batch = s
        .gql(
            &format!("mutation($d: [VehicleCreateInput!]!) {{ createVehicles(data: $d) {{ {VEHICLE_FIELDS} }} }}"),
            json!({ "d": [
                { "plate": "AB-100", "notes": "fleet car", "spec": "**fast**", "contactEmail": "fleet@acme.example", "hotline": "+4930123456",
                  "manual": "https://acme.example/manual", "seats": 5, "weightKg": 1320.5, "discountRate": 12.5, "engineSize": "1.995",
                  "price": { "amount": "32000.50", "currencyCode": "EUR" }, "electric": false, "firstRegistered": "2021-03-14",
                  "lastServiceAt": "2024-05-01T10:30:00+02:00", "color": "RED", "features": ["GPS", "SUNROOF"], "condition": 4,
                  "extras": { "towbar": true }, "garage": { "street1": "1 Main St", "city": "Berlin", "country": "DE", "latitude": 52.5 },
                  "driver": { "firstName": "Ada", "lastName": "Lovelace" }, "companyId": acme, "relatedObject": "company", "relatedId": zeta },
                { "plate": "CD-200", "seats": 2, "weightKg": 900.0, "engineSize": "0.9", "price": { "amount": "9000", "currencyCode": "EUR" },
                  "electric": true, "firstRegistered": "2023-07-01", "color": "BLUE", "features": ["GPS"], "companyId": zeta },
                { "plate": "EF-300", "seats": 7, "engineSize": "3.2", "price": { "amount": "51000", "currencyCode": "USD" },
                  "firstRegistered": "2022-11-30", "color": "GREEN", "features": [], "companyId": acme },
                { "plate": "GH-400", "color": "BLUE" }
            ] }),
        )
        .await;
    let first = &batch["createVehicles"][0];
    assert_eq!(first["version"], 1);
    assert_eq!(first["createdBy"]["kind"], "apiKey");
    assert_eq!(
        first["price"],
        json!({ "amount": "32000.5", "currencyCode": "EUR" })
    );
    assert_eq!(first["engineSize"], "1.995");
    assert_eq!(first["lastServiceAt"], "2024-05-01T08:30:00.000000Z");
    assert_eq!(first["features"], json!(["GPS", "SUNROOF"]));
    assert_eq!(first["extras"], json!({ "towbar": true }));
    assert_eq!(first["garage"]["city"], "Berlin");
    assert_eq!(first["driver"]["lastName"], "Lovelace");
    assert_eq!(first["company"]["name"], "Acme");
    assert_eq!(first["relatedObject"], "company");
    assert_eq!(batch["createVehicles"][1]["electric"], true);
    assert_eq!(
        batch["createVehicles"][3]["electric"], false,
        "default applied"
    );
    let id = first["id"].as_str().unwrap().to_string();

    let one = s
        .gql(
            &format!("query($id: ID!) {{ vehicle(id: $id) {{ {VEHICLE_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(&one["vehicle"], first);

    // Filters: one per operator family.
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({ "plate": { "eq": "CD-200" } }), vec!["CD-200"]),
        (json!({ "plate": { "startsWith": "E" } }), vec!["EF-300"]),
        (json!({ "plate": { "ilike": "ab%" } }), vec!["AB-100"]),
        (json!({ "plate": { "like": "ab%" } }), vec![]),
        (
            json!({ "plate": { "contains": "-" , "notIn": ["AB-100", "CD-200"] } }),
            vec!["EF-300", "GH-400"],
        ),
        (json!({ "seats": { "gt": 2 } }), vec!["AB-100", "EF-300"]),
        (json!({ "seats": { "isNull": true } }), vec!["GH-400"]),
        (json!({ "engineSize": { "gte": "2" } }), vec!["EF-300"]),
        (json!({ "weightKg": { "lt": 1000 } }), vec!["CD-200"]),
        (
            json!({ "price": { "amount": { "gt": "10000" }, "currencyCode": { "eq": "EUR" } } }),
            vec!["AB-100"],
        ),
        (
            json!({ "color": { "in": ["RED", "GREEN"] } }),
            vec!["AB-100", "EF-300"],
        ),
        (
            json!({ "features": { "containsAny": ["SUNROOF", "HEATED_SEATS"] } }),
            vec!["AB-100"],
        ),
        (
            json!({ "features": { "containsAll": ["GPS"] } }),
            vec!["AB-100", "CD-200"],
        ),
        (
            json!({ "features": { "isEmpty": true } }),
            vec!["EF-300", "GH-400"],
        ),
        (json!({ "electric": { "eq": true } }), vec!["CD-200"]),
        (
            json!({ "firstRegistered": { "lt": "2022-12-01" } }),
            vec!["AB-100", "EF-300"],
        ),
        (
            json!({ "lastServiceAt": { "gte": "2024-05-01T08:30:00Z" } }),
            vec!["AB-100"],
        ),
        (
            json!({ "garage": { "city": { "eq": "Berlin" } } }),
            vec!["AB-100"],
        ),
        (
            json!({ "driver": { "firstName": { "eq": "Ada" } } }),
            vec!["AB-100"],
        ),
        (
            json!({ "company": { "name": { "eq": "Zeta" } } }),
            vec!["CD-200"],
        ),
        (
            json!({ "companyId": { "eq": acme } }),
            vec!["AB-100", "EF-300"],
        ),
        (
            json!({ "relatedObject": { "eq": "company" }, "relatedId": { "eq": zeta } }),
            vec!["AB-100"],
        ),
        (
            json!({ "or": [{ "seats": { "eq": 2 } }, { "color": { "eq": "GREEN" } }] }),
            vec!["CD-200", "EF-300"],
        ),
        (
            json!({ "not": { "color": { "eq": "BLUE" } } }),
            vec!["AB-100", "EF-300"],
        ),
        (
            json!({ "and": [{ "companyId": { "isNull": false } }, { "seats": { "lte": 5 } }] }),
            vec!["AB-100", "CD-200"],
        ),
    ];
    for (filter, expected) in cases {
        let d = s
            .gql("query($f: VehicleFilter) { vehicles(filter: $f, orderBy: [{ plate: ASC }]) { totalCount nodes { plate } } }", json!({ "f": filter }))
            .await;
        assert_eq!(plates(&d["vehicles"]), expected, "filter {filter}");
        assert_eq!(
            d["vehicles"]["totalCount"],
            expected.len(),
            "totalCount for {filter}"
        );
    }

    // Child-list quantifiers from the company side.
    let q = "query($f: CompanyFilter) { companies(filter: $f, orderBy: [{ name: ASC }]) { nodes { name } } }";
    let names = |d: &Value| -> Vec<String> {
        d["companies"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect()
    };
    let d = s
        .gql(
            q,
            json!({ "f": { "vehicles": { "some": { "color": { "eq": "GREEN" } } } } }),
        )
        .await;
    assert_eq!(names(&d), ["Acme"]);
    let d = s
        .gql(
            q,
            json!({ "f": { "vehicles": { "none": { "color": { "eq": "GREEN" } } } } }),
        )
        .await;
    assert_eq!(names(&d), ["Zeta"]);
    let d = s
        .gql(
            q,
            json!({ "f": { "vehicles": { "every": { "seats": { "gte": 5 } } } } }),
        )
        .await;
    assert_eq!(names(&d), ["Acme"]);

    // Ordering: nulls placement and a parent's field.
    let order = |o: Value| {
        let s = &s;
        async move {
            plates(
                &s.gql(
                    "query($o: [VehicleOrderBy!]) { vehicles(orderBy: $o) { nodes { plate } } }",
                    json!({ "o": o }),
                )
                .await["vehicles"],
            )
        }
    };
    assert_eq!(
        order(json!([{ "seats": "DESC" }])).await,
        ["GH-400", "EF-300", "AB-100", "CD-200"]
    );
    assert_eq!(
        order(json!([{ "seats": "DESC_NULLS_LAST" }])).await,
        ["EF-300", "AB-100", "CD-200", "GH-400"]
    );
    assert_eq!(
        order(json!([{ "seats": "ASC" }])).await,
        ["CD-200", "AB-100", "EF-300", "GH-400"]
    );
    assert_eq!(
        order(json!([{ "company": { "name": "DESC_NULLS_LAST" } }, { "plate": "DESC" }])).await,
        ["CD-200", "EF-300", "AB-100", "GH-400"]
    );
    assert_eq!(
        order(json!([{ "price": { "amount": "DESC_NULLS_LAST" } }])).await,
        ["EF-300", "AB-100", "CD-200", "GH-400"]
    );

    // Cursor pagination both ways, stable under the order with nulls.
    let page = "query($a: String, $b: String, $f: Int, $l: Int) { vehicles(orderBy: [{ seats: ASC }], first: $f, after: $a, last: $l, before: $b) {
        nodes { plate } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let p1 = s.gql(page, json!({ "f": 2 })).await["vehicles"].clone();
    assert_eq!(plates(&p1), ["CD-200", "AB-100"]);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    let p2 = s
        .gql(page, json!({ "f": 2, "a": p1["pageInfo"]["endCursor"] }))
        .await["vehicles"]
        .clone();
    assert_eq!(plates(&p2), ["EF-300", "GH-400"]);
    assert_eq!(p2["pageInfo"]["hasNextPage"], false);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let back = s
        .gql(page, json!({ "l": 2, "b": p2["pageInfo"]["startCursor"] }))
        .await["vehicles"]
        .clone();
    assert_eq!(plates(&back), ["CD-200", "AB-100"]);
    assert_eq!(back["pageInfo"]["hasPreviousPage"], false);
    let tail = s.gql(page, json!({ "l": 3 })).await["vehicles"].clone();
    assert_eq!(plates(&tail), ["AB-100", "EF-300", "GH-400"]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);

    // Aggregates and groups.
    let agg = s
        .gql(
            "{ vehiclesAggregate { count sum { seats engineSize price } avg { seats } min { firstRegistered seats } max { weightKg lastServiceAt } countDistinct { color companyId } } }",
            json!({}),
        )
        .await["vehiclesAggregate"]
        .clone();
    assert_eq!(agg["count"], 4);
    assert_eq!(agg["sum"]["seats"], 14);
    assert_eq!(
        agg["sum"]["engineSize"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        6.095
    );
    assert_eq!(
        agg["sum"]["price"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        92000.5
    );
    assert!((agg["avg"]["seats"].as_f64().unwrap() - 14.0 / 3.0).abs() < 1e-9);
    assert_eq!(agg["min"]["firstRegistered"], "2021-03-14");
    assert_eq!(agg["max"]["weightKg"], 1320.5);
    assert_eq!(agg["countDistinct"]["color"], 3);
    assert_eq!(agg["countDistinct"]["companyId"], 2);
    let filtered = s
        .gql(
            "{ vehiclesAggregate(filter: { color: { eq: BLUE } }) { count } }",
            json!({}),
        )
        .await;
    assert_eq!(filtered["vehiclesAggregate"]["count"], 2);
    let groups = s
        .gql(
            "{ vehiclesGroupBy(by: [color]) { key { color } count sum { seats } } }",
            json!({}),
        )
        .await["vehiclesGroupBy"]
        .clone();
    // Groups of a select come in its options' order (RED, BLUE, GREEN).
    assert_eq!(
        groups,
        json!([
            { "key": { "color": "RED" }, "count": 1, "sum": { "seats": 5 } },
            { "key": { "color": "BLUE" }, "count": 2, "sum": { "seats": 2 } },
            { "key": { "color": "GREEN" }, "count": 1, "sum": { "seats": 7 } }
        ])
    );
    let by_year = s
        .gql("{ vehiclesGroupBy(by: [firstRegistered], dateGranularity: YEAR, filter: { firstRegistered: { isNull: false } }) { key { firstRegistered } count } }", json!({}))
        .await["vehiclesGroupBy"]
        .clone();
    assert_eq!(
        by_year,
        json!([
            { "key": { "firstRegistered": "2021-01-01" }, "count": 1 },
            { "key": { "firstRegistered": "2022-01-01" }, "count": 1 },
            { "key": { "firstRegistered": "2023-01-01" }, "count": 1 }
        ])
    );
    let by_quarter = s.gql("{ vehiclesGroupBy(by: [firstRegistered], dateGranularity: QUARTER, first: 1) { key { firstRegistered } } }", json!({})).await;
    assert_eq!(
        by_quarter["vehiclesGroupBy"][0]["key"]["firstRegistered"],
        "2021-01-01"
    );

    // Update with optimistic locking.
    let upd = "mutation($id: ID!, $d: VehicleUpdateInput!, $v: Int) { updateVehicle(id: $id, data: $d, expectedVersion: $v) { version seats notes } }";
    let d = s
        .gql(
            upd,
            json!({ "id": id, "d": { "seats": 4, "notes": null }, "v": 1 }),
        )
        .await;
    assert_eq!(
        d["updateVehicle"],
        json!({ "version": 2, "seats": 4, "notes": null })
    );
    let e = s
        .gql_error(upd, json!({ "id": id, "d": { "seats": 3 }, "v": 1 }))
        .await;
    assert_eq!(code(&e), "CONFLICT");
    let many = s.gql("mutation { updateVehicles(filter: { color: { eq: BLUE } }, data: { condition: 2 }) { condition } }", json!({})).await;
    assert_eq!(
        many["updateVehicles"],
        json!([{ "condition": 2 }, { "condition": 2 }])
    );

    // Rename a field: the data follows.
    let r = s.meta("mutation { renameField(object: \"vehicle\", name: \"seats\", newName: \"seatCount\") { name type } }", json!({})).await;
    assert_eq!(
        r["renameField"],
        json!({ "name": "seatCount", "type": "integer" })
    );
    let d = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { seatCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["vehicle"]["seatCount"], 4);
    let e = s
        .gql_error(
            "query($id: ID!) { vehicle(id: $id) { seats } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");

    // Delete and restore a field: hidden, then back with its data.
    s.meta(
        "mutation { deleteField(object: \"vehicle\", name: \"spec\") }",
        json!({}),
    )
    .await;
    let e = s
        .gql_error(
            "query($id: ID!) { vehicle(id: $id) { spec } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    let hidden = s
        .meta(
            "{ object(name: \"vehicle\") { fields { name isDeleted } } }",
            json!({}),
        )
        .await;
    assert!(
        hidden["object"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "spec" && f["isDeleted"] == true)
    );
    s.meta(
        "mutation { restoreField(object: \"vehicle\", name: \"spec\") { name } }",
        json!({}),
    )
    .await;
    let d = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { spec } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["vehicle"]["spec"], "**fast**");

    // Type changes: integer to text converts every value; text to integer refuses.
    s.meta("mutation { updateField(object: \"vehicle\", name: \"seatCount\", schema: { type: \"string\" }) { type } }", json!({})).await;
    let d = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { seatCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["vehicle"]["seatCount"], "4");
    s.meta("mutation { updateField(object: \"vehicle\", name: \"seatCount\", schema: { type: \"integer\" }) { type } }", json!({})).await;
    let d = s.gql("{ vehicles(filter: { seatCount: { gte: 4 } }, orderBy: [{ plate: ASC }]) { nodes { plate seatCount } } }", json!({})).await;
    assert_eq!(
        d["vehicles"]["nodes"],
        json!([{ "plate": "AB-100", "seatCount": 4 }, { "plate": "EF-300", "seatCount": 7 }])
    );
    let e = s.meta_error("mutation { updateField(object: \"vehicle\", name: \"contactEmail\", schema: { type: \"integer\" }) { type } }", json!({})).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("1 of 1 records of `vehicle` would not convert its `contactEmail`"),
        "{e}"
    );
    let d = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { contactEmail } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        d["vehicle"]["contactEmail"], "fleet@acme.example",
        "nothing changed by the refused conversion"
    );
    let e = s.meta_error("mutation { updateField(object: \"vehicle\", name: \"plate\", schema: { type: \"integer\" }) { type } }", json!({})).await;
    assert_eq!(
        e["extensions"]["field"], "/x-rapport-object/titleField",
        "the title field stays text"
    );

    // Soft delete, restore, destroy.
    let del = s
        .gql(
            "mutation($id: ID!) { deleteVehicle(id: $id) { deletedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(del["deleteVehicle"]["deletedAt"].is_string());
    let d = s
        .gql(
            "{ vehicles { totalCount } all: vehicles(withDeleted: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (
            d["vehicles"]["totalCount"].as_i64(),
            d["all"]["totalCount"].as_i64()
        ),
        (Some(3), Some(4))
    );
    let gone = s
        .gql(
            "query($id: ID!) { vehicle(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert!(gone["vehicle"].is_null());
    let res = s
        .gql(
            "mutation($id: ID!) { restoreVehicle(id: $id) { deletedAt version } }",
            json!({ "id": id }),
        )
        .await;
    assert!(res["restoreVehicle"]["deletedAt"].is_null());
    let destroyed = s
        .gql(
            "mutation($id: ID!) { destroyVehicle(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(destroyed["destroyVehicle"], id.as_str());
    assert_eq!(s.count_all("vehicles").await, 3);

    // onDelete: cascade soft-deletes a company's vehicles; restrict refuses.
    let lessee = s
        .gql(
            "mutation($c: ID!) { createVehicle(data: { plate: \"LS-1\", lessorId: $c }) { id } }",
            json!({ "c": zeta }),
        )
        .await;
    let e = s
        .gql_error(
            "mutation($c: ID!) { deleteCompany(id: $c) { id } }",
            json!({ "c": zeta }),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT", "restrict: {e}");
    s.gql(
        "mutation($id: ID!) { destroyVehicle(id: $id) }",
        json!({ "id": lessee["createVehicle"]["id"] }),
    )
    .await;
    s.gql(
        "mutation($c: ID!) { deleteCompany(id: $c) { id } }",
        json!({ "c": acme }),
    )
    .await;
    let d = s
        .gql(
            "{ vehicles(orderBy: [{ plate: ASC }]) { nodes { plate } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        plates(&d["vehicles"]),
        ["CD-200", "GH-400"],
        "Acme's vehicles were cascaded"
    );
    s.gql(
        "mutation($c: ID!) { restoreCompany(id: $c) { id } }",
        json!({ "c": acme }),
    )
    .await;
    let d = s.gql("{ vehicles { totalCount } }", json!({})).await;
    assert_eq!(
        d["vehicles"]["totalCount"], 3,
        "restoring the company restores what the cascade deleted"
    );
    s.finish().await;
}

#[tokio::test]
async fn upsert_and_batch_are_all_or_nothing() {
    let s = TestServer::start().await;
    s.create_object(vehicle_document()).await;
    let m = "mutation($d: [VehicleCreateInput!]!, $u: [String!]) { createVehicles(data: $d, upsertOn: $u) { plate seats version } }";
    s.gql(m, json!({ "d": [{ "plate": "UP-1", "seats": 2 }] }))
        .await;
    let d = s.gql(m, json!({ "d": [{ "plate": "UP-1", "seats": 4 }, { "plate": "UP-2", "seats": 5 }], "u": ["plate"] })).await;
    assert_eq!(
        d["createVehicles"],
        json!([{ "plate": "UP-1", "seats": 4, "version": 2 }, { "plate": "UP-2", "seats": 5, "version": 1 }])
    );
    let e = s
        .gql_error(m, json!({ "d": [{ "plate": "UP-3" }, { "plate": "X" }] }))
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "data[1].plate");
    assert_eq!(
        s.count_all("vehicles").await,
        2,
        "the valid first record was not kept"
    );
    let e = s
        .gql_error(
            m,
            json!({ "d": [{ "plate": "UP-4" }, { "plate": "UP-1" }] }),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT", "{e}");
    assert_eq!(s.count_all("vehicles").await, 2);
    s.finish().await;
}
