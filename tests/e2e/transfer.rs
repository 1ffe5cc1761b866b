//! Bulk import and export: `rapport import` / `rapport export` on the
//! command line, and `importRecords` for apps.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

fn rapport(db_url: &str, dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", db_url, "--data-dir"])
        .arg(dir)
        .args(args)
        .env("RAPPORT_LOG", "warn")
        .output()
        .expect("run rapport");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn files_import_whole_or_not_at_all_and_export_round_trips() {
    let s = TestServer::start().await;
    let dir = std::env::temp_dir().join(format!("rapport-transfer-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = s.db.url.clone();

    // A CSV with one bad line: nothing is imported, and the line is named.
    let csv = dir.join("companies.csv");
    std::fs::write(
        &csv,
        "name,employees,annualRevenue.amount,annualRevenue.currencyCode,tier\n\
         Acme,120,1000000,EUR,KEY\n\
         Beta,lots,,,\n\
         \"Gamma, Inc.\",7,,,STRATEGIC\n",
    )
    .unwrap();
    let (ok, _, err) = rapport(&url, &dir, &["import", "company", csv.to_str().unwrap()]);
    assert!(!ok, "{err}");
    assert!(err.contains("line 3: employees"), "{err}");
    assert_eq!(s.count_all("companies").await, 0, "no partial import");

    let (ok, out, err) = rapport(
        &url,
        &dir,
        &["import", "company", csv.to_str().unwrap(), "--skip-invalid"],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("2 record(s) imported, 1 line(s) refused"),
        "{out}"
    );
    let d = s
        .gql(
            "{ companies(orderBy: { name: ASC }) { nodes { name employees tier annualRevenue { amount currencyCode } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["companies"]["nodes"],
        json!([
            { "name": "Acme", "employees": 120, "tier": "KEY", "annualRevenue": { "amount": "1000000", "currencyCode": "EUR" } },
            { "name": "Gamma, Inc.", "employees": 7, "tier": "STRATEGIC", "annualRevenue": null }
        ])
    );

    // JSON Lines with ids: people keep pointing at their company.
    let acme = s
        .gql(
            "{ companies(filter: { name: { eq: \"Acme\" } }) { nodes { id } } }",
            json!({}),
        )
        .await["companies"]["nodes"][0]["id"]
        .clone();
    let person = uuid::Uuid::new_v4().to_string();
    let jsonl = dir.join("people.jsonl");
    std::fs::write(
        &jsonl,
        format!(
            "{}\n\n{}\n",
            json!({ "id": person, "name": { "firstName": "Ada", "lastName": "Lovelace" }, "companyId": acme }),
            json!({ "name": { "firstName": "Alan" }, "email": "alan@x.example" }),
        ),
    )
    .unwrap();
    let (ok, _, err) = rapport(&url, &dir, &["import", "person", jsonl.to_str().unwrap()]);
    assert!(ok, "{err}");
    let d = s
        .gql(
            "query($id: ID!) { person(id: $id) { company { name } } }",
            json!({ "id": person }),
        )
        .await;
    assert_eq!(d["person"]["company"]["name"], "Acme");

    // Export, then import into an empty workspace: the same records.
    let (ok, exported, err) = rapport(&url, &dir, &["export", "person"]);
    assert!(ok, "{err}");
    assert_eq!(exported.lines().count(), 2);
    let (ok, csv_out, _) = rapport(&url, &dir, &["export", "company", "--format", "csv"]);
    assert!(ok);
    assert!(
        csv_out.starts_with("id,createdAt,updatedAt,ownerId,name,"),
        "{csv_out}"
    );
    assert!(csv_out.contains("\"Gamma, Inc.\""), "{csv_out}");

    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"name\": {\"firstName\": \"X\"}}\nnot json\n[1]\n").unwrap();
    let (ok, _, err) = rapport(&url, &dir, &["import", "person", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("line 2") && err.contains("line 3"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    s.finish().await;
}

#[tokio::test]
async fn apps_import_through_graphql() {
    let s = TestServer::start().await;
    let import = "mutation($r: [JSON!]!, $skip: Boolean) { importRecords(object: \"company\", records: $r, skipInvalid: $skip) { imported refused errors { line field reason } } }";
    let records = json!([
        { "name": "One" },
        { "name": "Two", "employees": "many" },
        { "name": "Three", "tier": "NOPE" },
        "not a record"
    ]);
    let r = s.gql(import, json!({ "r": records })).await;
    assert_eq!(r["importRecords"]["imported"], 0);
    assert_eq!(r["importRecords"]["refused"], 3);
    let errors: Vec<(i64, String)> = r["importRecords"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (2, "employees".to_string()),
            (3, "tier".into()),
            (4, "".into())
        ]
    );
    assert_eq!(s.count_all("companies").await, 0);
    let r = s.gql(import, json!({ "r": records, "skip": true })).await;
    assert_eq!(r["importRecords"]["imported"], 1);
    assert_eq!(s.count_all("companies").await, 1);
    let history = s.gql("{ companies { nodes { id } } }", json!({})).await["companies"]["nodes"][0]
        ["id"]
        .clone();
    let t = s
        .gql(
            "query($id: ID!) { recordTimeline(object: \"company\", id: $id) { kind } }",
            json!({ "id": history }),
        )
        .await;
    assert_eq!(t["recordTimeline"][0]["kind"], "CREATED", "{t}");

    let e = s
        .gql_error(
            "mutation { importRecords(object: \"spaceship\", records: [{}]) { imported } }",
            json!({}),
        )
        .await;
    assert_ne!(code(&e), "INTERNAL", "{e}");
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| json!({ "name": format!("c{i}") }))
        .collect();
    let e = s.gql_error(import, json!({ "r": too_many })).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    s.finish().await;
}

#[tokio::test]
async fn a_streamed_import_reports_progress_then_the_outcome() {
    let s = TestServer::start().await;
    let mut body = String::new();
    for i in 0..12_000 {
        body.push_str(&json!({ "name": format!("Company {i}") }).to_string());
        body.push('\n');
    }
    let post = |body: String, query: &'static str| {
        s.client
            .post(format!("{}/import/company{query}", s.base))
            .bearer_auth(crate::harness::ADMIN_KEY)
            .body(body)
            .send()
    };
    let res = post(body.clone(), "").await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[..2],
        [json!({ "processed": 5000 }), json!({ "processed": 10000 })]
    );
    assert_eq!(lines[2]["imported"], 12_000, "{text}");
    assert_eq!(s.count_all("companies").await, 12_000);

    // A bad line: nothing imported unless skipInvalid.
    let bad = "{\"name\": \"Ok\"}\n{\"employees\": 3}\nnope\n".to_string();
    let text = post(bad.clone(), "").await.unwrap().text().await.unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["imported"].as_i64(), last["refused"].as_i64()),
        (Some(0), Some(2)),
        "{text}"
    );
    assert_eq!(last["errors"][0]["line"], 2);
    let text = post(bad, "?skipInvalid=true")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"imported\":1"), "{text}");
    assert_eq!(s.count_all("companies").await, 12_001);

    let res = s
        .client
        .post(format!("{}/import/company", s.base))
        .body("{}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = post(String::new(), "").await.unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .client
        .post(format!("{}/import/spaceship", s.base))
        .bearer_auth(crate::harness::ADMIN_KEY)
        .body("{}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    s.finish().await;
}

#[tokio::test]
async fn an_imported_record_reads_as_a_created_one() {
    let s = TestServer::start().await;
    s.create_object(crate::custom_object::vehicle_document())
        .await;
    let acme = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    // Every kind of value (text with what COPY's text format escapes:
    // backslash, tab, line ends, a literal `\N`), and a many-to-many link.
    let values = |plate: &str| {
        json!({ "plate": plate, "notes": "say \"hi\"\nbye \\ ok\tcol\r\\N \\\\N é", "seats": 5, "weightKg": 1320.125, "discountRate": 12.5,
                "engineSize": "1.9950", "price": { "amount": "32000.50", "currencyCode": "EUR" }, "electric": true,
                "firstRegistered": "2021-03-14", "lastServiceAt": "2024-05-01T10:30:00.5+02:00", "color": "RED",
                "features": ["GPS", "SUNROOF"], "condition": 4, "extras": { "towbar": true, "axles": [1, 2.5], "none": null },
                "garage": { "city": "Berlin", "latitude": 52.5 }, "driver": { "firstName": "Ada" },
                "companyId": acme, "servicedByIds": [acme], "relatedObject": "company", "relatedId": acme })
    };
    s.gql(
        "mutation($d: VehicleCreateInput!) { createVehicle(data: $d) { id } }",
        json!({ "d": values("CREATED-1") }),
    )
    .await;
    let r = s
        .gql(
            "mutation($r: [JSON!]!) { importRecords(object: \"vehicle\", records: $r) { imported refused } }",
            json!({ "r": [values("IMPORTED-1"), { "plate": "SPARSE-1" }] }),
        )
        .await;
    assert_eq!(r["importRecords"]["imported"], 2, "{r}");

    let fields = "id plate notes seats weightKg discountRate engineSize price { amount currencyCode } electric firstRegistered
        lastServiceAt color features condition extras garage { city latitude street1 } driver { firstName lastName }
        companyId relatedObject relatedId version createdBy { kind } servicedBy { nodes { name } }";
    let d = s
        .gql(
            &format!("{{ vehicles(orderBy: {{ plate: ASC }}) {{ nodes {{ {fields} }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = d["vehicles"]["nodes"].as_array().unwrap();
    let (created, imported, sparse) = (&nodes[0], &nodes[1], &nodes[2]);
    assert_eq!(imported["plate"], "IMPORTED-1");
    let mut expected = created.clone();
    expected["id"] = imported["id"].clone();
    expected["plate"] = imported["plate"].clone();
    assert_eq!(
        imported, &expected,
        "created: {created}\nimported: {imported}"
    );
    assert_eq!(imported["engineSize"], "1.995");
    assert_eq!(imported["lastServiceAt"], "2024-05-01T08:30:00.500000Z");
    assert_eq!(sparse["garage"], Value::Null, "{sparse}");
    assert_eq!(sparse["features"], Value::Null, "{sparse}");

    // The history says what the record was created with, as for a create.
    let timeline = |id: Value| {
        let s = &s;
        async move {
            s.gql(
                "query($id: ID!) { recordTimeline(object: \"vehicle\", id: $id) { kind changes } }",
                json!({ "id": id }),
            )
            .await["recordTimeline"]
                .clone()
        }
    };
    let (mut created_history, imported_history) = (
        timeline(created["id"].clone()).await,
        timeline(imported["id"].clone()).await,
    );
    // Numbered objects get their numbers in line order, after a create's;
    // a null given for the (read-only) number is no value of its own.
    s.gql(
        "mutation { createSupportCase(data: { subject: \"first\" }) { id } }",
        json!({}),
    )
    .await;
    let r = s
        .gql(
            "mutation($r: [JSON!]!) { importRecords(object: \"supportCase\", records: $r) { imported } }",
            json!({ "r": [{ "subject": "second" }, { "subject": "third", "number": null }] }),
        )
        .await;
    assert_eq!(r["importRecords"]["imported"], 2, "{r}");
    let cases = s
        .gql(
            "{ supportCases(orderBy: { number: ASC }) { nodes { number subject } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        cases["supportCases"]["nodes"],
        json!([
            { "number": "CASE-000001", "subject": "first" },
            { "number": "CASE-000002", "subject": "second" },
            { "number": "CASE-000003", "subject": "third" }
        ])
    );
    created_history[0]["changes"]["plate"] = imported_history[0]["changes"]["plate"].clone();
    assert_eq!(imported_history[0]["kind"], "CREATED");
    assert_eq!(
        imported_history[0]["changes"], created_history[0]["changes"],
        "{imported_history}"
    );
    s.finish().await;
}

/// Imports companies named `Company {from}` onwards through `importRecords`.
async fn import_companies(s: &TestServer, from: usize, count: usize) {
    let records: Vec<Value> = (from..from + count)
        .map(|i| json!({ "name": format!("Company {i}") }))
        .collect();
    let r = s
        .gql(
            "mutation($r: [JSON!]!) { importRecords(object: \"company\", records: $r) { imported } }",
            json!({ "r": records }),
        )
        .await;
    assert_eq!(r["importRecords"]["imported"], count, "{r}");
}

/// A bulk load leaves PostgreSQL without statistics until autovacuum comes
/// round, and plans made meanwhile can scan a whole table per look-up; an
/// import of 1,000 records or more that is large for its table (a tenth of
/// the rows last counted, as autovacuum judges) refreshes them before it
/// commits, and a small one into a big table does not pay for it.
#[tokio::test]
async fn a_large_import_leaves_the_table_analyzed() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let s = TestServer::start().await;
    if s.db.pg_admin.is_none() {
        // SQLite plans without gathered statistics: nothing to refresh.
        s.finish().await;
        return;
    }
    let conn = Database::connect(&s.db.url).await.expect("connect");
    // Counts ANALYZE run by a session, never autovacuum's (that is
    // `autoanalyze_count`).
    let analyses = async || {
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE analyze_count > 0",
            ))
            .await
            .expect("read statistics");
        rows.iter()
            .map(|r| {
                (
                    r.try_get_by_index::<String>(0).unwrap(),
                    r.try_get_by_index::<i64>(1).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let import = async |from, count| import_companies(&s, from, count).await;
    import(0, 999).await;
    assert_eq!(analyses().await, [], "under 1,000 records");
    import(1000, 10_000).await;
    assert_eq!(analyses().await, [("company".to_string(), 1)]);
    // 1,100 against the 10,999 counted: over a tenth, analyzed again.
    import(20_000, 1100).await;
    assert_eq!(analyses().await, [("company".to_string(), 2)]);
    // 1,000 against 12,099: left to autovacuum.
    import(30_000, 1000).await;
    assert_eq!(analyses().await, [("company".to_string(), 2)]);
    conn.close().await.ok();
    s.finish().await;
}

/// SQLite's WAL is checkpointed by a task of the server's, not by a
/// writer's commit (automatic checkpoints are off): an import's pages reach
/// the database file shortly after it commits, without another write.
#[tokio::test]
async fn sqlite_checkpoints_committed_pages_in_the_background() {
    let s = TestServer::start().await;
    if s.db.pg_admin.is_some() {
        // PostgreSQL's own checkpointer does this.
        s.finish().await;
        return;
    }
    let path = s.db.url.trim_start_matches("sqlite://").to_string();
    let size = || std::fs::metadata(&path).expect("database file").len();
    // Past the start-up's own checkpoint (one round, 500 ms).
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let before = size();
    import_companies(&s, 0, 3000).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the import's pages never reached the database file ({before} bytes)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    s.finish().await;
}

/// A unique value taken by a stored record, or twice in one import, fails
/// the whole import with CONFLICT and writes nothing; the connection that
/// held the failed transaction is not handed to later requests.
#[tokio::test]
async fn an_import_that_breaks_a_unique_field_writes_nothing() {
    let s = TestServer::start().await;
    s.gql(
        "mutation { createPerson(data: { name: { firstName: \"Ada\" }, email: \"ada@example.com\" }) { id } }",
        json!({}),
    )
    .await;
    let import = "mutation($r: [JSON!]!) { importRecords(object: \"person\", records: $r) { imported refused errors { line field reason } } }";
    let person =
        |first: &str, email: &str| json!({ "name": { "firstName": first }, "email": email });
    // More failed imports than the pool has connections (32), so a
    // connection left inside its failed transaction would be met again.
    for round in 0..40 {
        let records = if round % 2 == 0 {
            json!([
                person("Bo", "bo@example.com"),
                person("Ada", "ada@example.com")
            ])
        } else {
            json!([
                person("Cy", "cy@example.com"),
                person("Cy", "cy@example.com")
            ])
        };
        // The line holding a taken value is named; nothing is written.
        let r = s.gql(import, json!({ "r": records })).await;
        let report = &r["importRecords"];
        assert_eq!(
            (report["imported"].as_i64(), report["refused"].as_i64()),
            (Some(0), Some(1)),
            "{r}"
        );
        assert_eq!(report["errors"][0]["line"], 2, "{r}");
        assert_eq!(report["errors"][0]["field"], "email", "{r}");
    }
    assert_eq!(s.count_all("people").await, 1);
    for i in 0..40 {
        let r = s
            .gql(
                import,
                json!({ "r": [person("Di", &format!("di{i}@example.com"))] }),
            )
            .await;
        assert_eq!(r["importRecords"]["imported"], 1, "{r}");
    }
    assert_eq!(s.count_all("people").await, 41);

    s.finish().await;
}

/// Links are written before their record, field by field, so a line whose
/// second link field fails has already written its first: under
/// `skipInvalid` that line is refused alone and none of its links stay.
#[tokio::test]
async fn a_refused_line_leaves_no_links_behind() {
    let s = TestServer::start().await;
    let link = |inverse: &str| json!({ "x-rapport-field": { "type": "relation", "kind": "manyToMany", "target": "company", "inverse": inverse } });
    s.create_object(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "Workshop",
        "x-rapport-object": { "name": "workshop", "pluralName": "workshops", "titleField": "name" },
        "properties": {
            "name": { "type": "string" },
            "mechanics": link("workshopsServed"),
            "suppliers": link("workshopsSupplied")
        },
        "required": ["name"]
    }))
    .await;
    let acme = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .clone();
    let import = "mutation($r: [JSON!]!) { importRecords(object: \"workshop\", records: $r, skipInvalid: true) { imported errors { line field } } }";
    let south = "00000000-0000-4000-8000-0000000000a2";
    let r = s
        .gql(
            import,
            json!({ "r": [
                { "name": "North", "mechanicsIds": [acme], "suppliersIds": [acme] },
                { "id": south, "name": "South", "mechanicsIds": [acme],
                  "suppliersIds": ["00000000-0000-4000-8000-000000000001"] },
                { "name": "West", "mechanicsIds": [acme] }
            ] }),
        )
        .await;
    assert_eq!(r["importRecords"]["imported"], 2, "{r}");
    assert_eq!(
        r["importRecords"]["errors"],
        json!([{ "line": 2, "field": "suppliersIds" }]),
        "{r}"
    );
    // The refused line's id, imported again without links: a mechanic
    // link left from the first try would show here.
    let r = s
        .gql(import, json!({ "r": [{ "id": south, "name": "South" }] }))
        .await;
    assert_eq!(r["importRecords"]["imported"], 1, "{r}");
    let d = s
        .gql(
            "{ workshops(orderBy: { name: ASC }) { nodes { name mechanics { nodes { name } } suppliers { nodes { name } } } } }",
            json!({}),
        )
        .await;
    let acme_only = json!({ "nodes": [{ "name": "Acme" }] });
    let none = json!({ "nodes": [] });
    assert_eq!(
        d["workshops"]["nodes"],
        json!([
            { "name": "North", "mechanics": acme_only, "suppliers": acme_only },
            { "name": "South", "mechanics": none, "suppliers": none },
            { "name": "West", "mechanics": acme_only, "suppliers": none }
        ]),
        "{d}"
    );
    s.finish().await;
}
