//! Every way a record changes leaves one history entry per record changed,
//! in one format (`{ field: [old, new] }`, or what the change is about),
//! whatever wrote it: generated mutations one by one, in batches and by
//! filter, cascades and `setNull`, business operations, merges, sharing,
//! imports and erasure.

use serde_json::{Value, json};

use crate::harness::TestServer;

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// A record's history, oldest first, as `(action, changes)`.
async fn history(s: &TestServer, object: &str, record: &str) -> Vec<(String, Value)> {
    let d = s
        .meta(
            "query($o: String!, $r: String!) { auditLog(object: $o, recordId: $r, first: 100) { action changes } }",
            json!({ "o": object, "r": record }),
        )
        .await;
    let mut entries: Vec<(String, Value)> = d["auditLog"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["changes"].clone(),
            )
        })
        .collect();
    entries.reverse();
    entries
}

/// The newest entry of a record's history.
async fn last(s: &TestServer, object: &str, record: &str) -> (String, Value) {
    history(s, object, record)
        .await
        .pop()
        .unwrap_or_else(|| panic!("{object} {record} has no history"))
}

#[tokio::test]
async fn every_write_path_leaves_its_history() {
    let s = TestServer::start().await;
    let m = s
        .gql(
            "mutation { a: createWorkspaceMember(data: { name: { firstName: \"Ann\" }, email: \"ann@h.example\" }) { id }
                        b: createWorkspaceMember(data: { name: { firstName: \"Bob\" }, email: \"bob@h.example\" }) { id } }",
            json!({}),
        )
        .await;
    let (ann, bob) = (id(&m["a"]), id(&m["b"]));

    // Created one by one and in a batch: the values set, defaults included.
    let acme = id(&s
        .gql(
            "mutation($a: ID!) { createCompany(data: { name: \"Acme\", ownerId: $a }) { id } }",
            json!({ "a": ann }),
        )
        .await["createCompany"]);
    assert_eq!(
        last(&s, "company", &acme).await,
        (
            "CREATED".into(),
            json!({ "name": [null, "Acme"], "ownerId": [null, ann], "lifecycleStage": [null, "PROSPECT"] })
        )
    );
    let batch = s
        .gql(
            "mutation { createCompanies(data: [{ name: \"Beta\" }, { name: \"Gamma\" }]) { id } }",
            json!({}),
        )
        .await;
    let (beta, gamma) = (
        id(&batch["createCompanies"][0]),
        id(&batch["createCompanies"][1]),
    );
    assert_eq!(
        last(&s, "company", &gamma).await,
        (
            "CREATED".into(),
            json!({ "name": [null, "Gamma"], "lifecycleStage": [null, "PROSPECT"] })
        )
    );

    // Updated by id, by filter and by an upsert: old and new values.
    s.gql(
        "mutation($id: ID!) { updateCompany(id: $id, data: { name: \"Acme Corp\" }) { id } }",
        json!({ "id": acme }),
    )
    .await;
    assert_eq!(
        last(&s, "company", &acme).await,
        ("UPDATED".into(), json!({ "name": ["Acme", "Acme Corp"] }))
    );
    s.gql(
        "mutation { updateCompanies(filter: { name: { in: [\"Beta\", \"Gamma\"] } }, data: { lifecycleStage: CUSTOMER }) { id } }",
        json!({}),
    )
    .await;
    for company in [&beta, &gamma] {
        assert_eq!(
            last(&s, "company", company).await,
            (
                "UPDATED".into(),
                json!({ "lifecycleStage": ["PROSPECT", "CUSTOMER"] })
            )
        );
    }
    s.gql(
        "mutation { createCompanies(data: [{ name: \"Beta\", domain: \"beta.example\" }], upsertOn: [\"name\"]) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        last(&s, "company", &beta).await,
        (
            "UPDATED".into(),
            json!({ "domain": [null, "beta.example"] })
        )
    );

    // Deleted with its cascade (a task related to it), then restored.
    let task = id(&s
        .gql(
            "mutation($c: ID!) { createTask(data: { title: \"Call\", relatedObject: \"company\", relatedId: $c }) { id } }",
            json!({ "c": gamma }),
        )
        .await["createTask"]);
    s.gql(
        "mutation($id: ID!) { deleteCompany(id: $id) { id } }",
        json!({ "id": gamma }),
    )
    .await;
    assert_eq!(
        last(&s, "company", &gamma).await,
        ("DELETED".into(), json!({}))
    );
    assert_eq!(last(&s, "task", &task).await, ("DELETED".into(), json!({})));
    s.gql(
        "mutation($id: ID!) { restoreCompany(id: $id) { id } }",
        json!({ "id": gamma }),
    )
    .await;
    assert_eq!(
        last(&s, "company", &gamma).await,
        ("RESTORED".into(), json!({}))
    );
    assert_eq!(
        last(&s, "task", &task).await,
        ("RESTORED".into(), json!({}))
    );

    // Destroyed: the people pointing at it lose the link (`setNull`).
    let person = id(&s
        .gql(
            "mutation($c: ID!) { createPerson(data: { name: { firstName: \"Pat\" }, email: \"pat@h.example\", companyId: $c }) { id } }",
            json!({ "c": gamma }),
        )
        .await["createPerson"]);
    s.gql(
        "mutation($id: ID!) { destroyCompany(id: $id) }",
        json!({ "id": gamma }),
    )
    .await;
    assert_eq!(
        last(&s, "company", &gamma).await,
        ("DESTROYED".into(), json!({}))
    );
    assert_eq!(
        last(&s, "person", &person).await,
        ("UPDATED".into(), json!({ "companyId": [gamma, null] }))
    );
    assert_eq!(
        last(&s, "task", &task).await,
        ("DESTROYED".into(), json!({}))
    );

    // Merged: the kept record says what went into it, the merged one where
    // it went, and what pointed at the merged one moved.
    s.gql(
        "mutation($p: ID!, $c: ID!) { updatePerson(id: $p, data: { companyId: $c }) { id } }",
        json!({ "p": person, "c": beta }),
    )
    .await;
    s.gql(
        "mutation($k: ID!, $m: ID!) { mergeRecords(object: \"company\", keepId: $k, mergeIds: [$m]) { keptId } }",
        json!({ "k": acme, "m": beta }),
    )
    .await;
    let acme_history = history(&s, "company", &acme).await;
    assert_eq!(
        acme_history.last().unwrap(),
        &(
            "MERGED".into(),
            json!({ "merged": [beta], "referencesMoved": 1 })
        )
    );
    assert_eq!(
        last(&s, "company", &beta).await,
        ("MERGED_INTO".into(), json!({ "into": acme }))
    );
    assert_eq!(
        last(&s, "person", &person).await,
        ("UPDATED".into(), json!({ "companyId": [beta, acme] }))
    );

    // Shared and unshared.
    s.gql(
        "mutation($c: ID!, $b: ID!) { shareRecord(object: \"company\", id: $c, memberId: $b) { access } }",
        json!({ "c": acme, "b": bob }),
    )
    .await;
    let (action, changes) = last(&s, "company", &acme).await;
    assert_eq!(action, "SHARED");
    assert_eq!(changes["sharedWith"]["access"], "read", "{changes}");
    s.gql(
        "mutation($c: ID!, $b: ID!) { unshareRecord(object: \"company\", id: $c, memberId: $b) }",
        json!({ "c": acme, "b": bob }),
    )
    .await;
    assert_eq!(last(&s, "company", &acme).await.0, "UNSHARED");

    // A business operation's writes: ownership handed over.
    s.gql(
        "mutation($a: ID!, $b: ID!) { transferOwnership(fromMemberId: $a, toMemberId: $b) { count } }",
        json!({ "a": ann, "b": bob }),
    )
    .await;
    assert_eq!(
        last(&s, "company", &acme).await,
        ("UPDATED".into(), json!({ "ownerId": [ann, bob] }))
    );

    // A lead converted: the lead updated, the records it became created.
    let lead = id(&s
        .gql(
            "mutation { createLead(data: { name: { firstName: \"Grace\", lastName: \"Hopper\" }, companyName: \"Navy Labs\",
                email: \"grace@navy.example\", status: QUALIFIED }) { id } }",
            json!({}),
        )
        .await["createLead"]);
    let converted = s
        .gql(
            "mutation($l: ID!) { convertLead(id: $l, createOpportunity: false) { company { id } person { id } } }",
            json!({ "l": lead }),
        )
        .await;
    let (action, changes) = last(&s, "lead", &lead).await;
    assert_eq!(action, "UPDATED");
    assert_eq!(changes["status"], json!(["QUALIFIED", "CONVERTED"]));
    let company = id(&converted["convertLead"]["company"]);
    assert_eq!(
        last(&s, "company", &company).await.1["name"],
        json!([null, "Navy Labs"])
    );
    let converted_person = id(&converted["convertLead"]["person"]);
    assert_eq!(last(&s, "person", &converted_person).await.0, "CREATED");

    // Imported: as a create's.
    s.gql(
        "mutation($r: [JSON!]!) { importRecords(object: \"company\", records: $r) { imported } }",
        json!({ "r": [{ "name": "Imported Ltd" }] }),
    )
    .await;
    let imported = s
        .gql(
            "{ companies(filter: { name: { eq: \"Imported Ltd\" } }) { nodes { id } } }",
            json!({}),
        )
        .await;
    let imported = id(&imported["companies"]["nodes"][0]);
    assert_eq!(
        last(&s, "company", &imported).await,
        (
            "CREATED".into(),
            json!({ "name": [null, "Imported Ltd"], "lifecycleStage": [null, "PROSPECT"] })
        )
    );

    // Erased: the entries stay, told without their values.
    s.gql(
        "mutation($p: ID!) { eraseSubject(personId: $p) { id } }",
        json!({ "p": converted_person }),
    )
    .await;
    let erased = history(&s, "person", &converted_person).await;
    assert!(erased.len() >= 2, "{erased:?}");
    assert!(
        erased.iter().all(|(_, changes)| changes == &json!({})),
        "{erased:?}"
    );
    s.finish().await;
}
