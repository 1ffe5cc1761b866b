//! The modules as a sales team expects them: a converted lead finds its
//! company and person whatever the case, a departing rep's records all move
//! (to a member, a team's manager or across a team), and a merge leaves a
//! trace on both sides.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

#[tokio::test]
async fn converting_a_lead_reuses_a_company_and_person_whatever_the_case() {
    let s = TestServer::start().await;
    let d = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme GmbH\" }) { id } createPerson(data: { name: { firstName: \"Ada\" }, email: \"Ada@Acme.example\" }) { id } }",
            json!({}),
        )
        .await;
    let lead = s
        .gql(
            "mutation { createLead(data: { name: { firstName: \"Ada\", lastName: \"L\" }, companyName: \"ACME gmbh\", email: \"ada@acme.EXAMPLE\", status: QUALIFIED }) { id } }",
            json!({}),
        )
        .await;
    let c = s
        .gql(
            "mutation($id: ID!) { convertLead(id: $id, createOpportunity: false) { company { id } person { id } } }",
            json!({ "id": id(&lead["createLead"]) }),
        )
        .await;
    assert_eq!(c["convertLead"]["company"]["id"], d["createCompany"]["id"]);
    assert_eq!(c["convertLead"]["person"]["id"], d["createPerson"]["id"]);
    // `%` and `_` in a lead's company name are letters, not wildcards.
    let lead = s
        .gql(
            "mutation { createLead(data: { name: { firstName: \"W\" }, companyName: \"Acme%\", status: QUALIFIED }) { id } }",
            json!({}),
        )
        .await;
    let c = s
        .gql(
            "mutation($id: ID!) { convertLead(id: $id, createOpportunity: false) { company { id name } } }",
            json!({ "id": id(&lead["createLead"]) }),
        )
        .await;
    assert_eq!(c["convertLead"]["company"]["name"], "Acme%");
    s.finish().await;
}

#[tokio::test]
async fn a_departing_reps_records_all_move_to_a_member_a_manager_or_a_team() {
    let s = TestServer::start().await;
    let members = s
        .gql(
            "mutation { team: createTeam(data: { name: \"EMEA\" }) { id }
                       ann: createWorkspaceMember(data: { name: { firstName: \"Ann\" }, email: \"ann@x.example\" }) { id }
                       bob: createWorkspaceMember(data: { name: { firstName: \"Bob\" }, email: \"bob@x.example\" }) { id }
                       cid: createWorkspaceMember(data: { name: { firstName: \"Cid\" }, email: \"cid@x.example\" }) { id } }",
            json!({}),
        )
        .await;
    let (team, ann, bob, cid) = (
        id(&members["team"]),
        id(&members["ann"]),
        id(&members["bob"]),
        id(&members["cid"]),
    );
    for m in [&ann, &bob, &cid] {
        s.gql(
            "mutation($m: ID!, $t: ID!) { updateWorkspaceMember(id: $m, data: { teamId: $t }) { id } }",
            json!({ "m": m, "t": team }),
        )
        .await;
    }
    // More records than one batch or by-filter mutation may touch.
    for from in [0, 1000] {
        let tasks: Vec<Value> = (from..from + 1000.min(1100 - from))
            .map(|i| json!({ "title": format!("Call {i}"), "ownerId": ann }))
            .collect();
        s.gql(
            "mutation($d: [TaskCreateInput!]!) { createTasks(data: $d) { id } }",
            json!({ "d": tasks }),
        )
        .await;
    }
    let owned = |who: &str| {
        let q = format!("{{ tasks(filter: {{ ownerId: {{ eq: \"{who}\" }} }}) {{ totalCount }} }}");
        let s = &s;
        async move {
            s.gql(&q, json!({})).await["tasks"]["totalCount"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(owned(&ann).await, 1100);
    let moved = s
        .gql(
            "mutation($a: ID!, $b: ID!) { transferOwnership(fromMemberId: $a, toMemberId: $b, objects: [\"task\"]) { object count } }",
            json!({ "a": ann, "b": bob }),
        )
        .await;
    assert_eq!(
        moved["transferOwnership"],
        json!([{ "object": "task", "count": 1100 }])
    );
    assert_eq!((owned(&ann).await, owned(&bob).await), (0, 1100));

    // To the team, spread across its other active members in turns.
    let moved = s
        .gql(
            "mutation($b: ID!, $t: ID!) { transferOwnership(fromMemberId: $b, toTeamId: $t, spread: true, objects: [\"task\"]) { count } }",
            json!({ "b": bob, "t": team }),
        )
        .await;
    assert_eq!(moved["transferOwnership"][0]["count"], 1100);
    assert_eq!(
        (owned(&ann).await, owned(&bob).await, owned(&cid).await),
        (550, 0, 550)
    );

    // To the team's manager.
    let e = s
        .gql_error(
            "mutation($c: ID!, $t: ID!) { transferOwnership(fromMemberId: $c, toTeamId: $t) { count } }",
            json!({ "c": cid, "t": team }),
        )
        .await;
    assert_eq!(code(&e), "BAD_USER_INPUT", "no manager yet: {e}");
    s.gql(
        "mutation($t: ID!, $b: ID!) { updateTeam(id: $t, data: { managerId: $b }) { id } }",
        json!({ "t": team, "b": bob }),
    )
    .await;
    s.gql(
        "mutation($c: ID!, $t: ID!) { transferOwnership(fromMemberId: $c, toTeamId: $t, objects: [\"task\"]) { count } }",
        json!({ "c": cid, "t": team }),
    )
    .await;
    assert_eq!((owned(&bob).await, owned(&cid).await), (550, 0));
    s.finish().await;
}

#[tokio::test]
async fn a_merge_leaves_its_trace_on_both_timelines() {
    let s = TestServer::start().await;
    let d = s
        .gql(
            "mutation { keep: createCompany(data: { name: \"Acme\" }) { id } dup: createCompany(data: { name: \"ACME Inc\" }) { id } }",
            json!({}),
        )
        .await;
    let (keep, dup) = (id(&d["keep"]), id(&d["dup"]));
    s.gql(
        "mutation($k: ID!, $d: [ID!]!) { mergeRecords(object: \"company\", keepId: $k, mergeIds: $d) { keptId } }",
        json!({ "k": keep, "d": [dup] }),
    )
    .await;
    let timeline = |rid: &str| {
        let s = &s;
        let rid = rid.to_string();
        async move {
            s.gql(
                "query($id: ID!) { recordTimeline(object: \"company\", id: $id) { kind summary changes } }",
                json!({ "id": rid }),
            )
            .await["recordTimeline"]
                .clone()
        }
    };
    let kept = timeline(&keep).await;
    let merged = kept
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "MERGED")
        .unwrap_or_else(|| panic!("{kept}"));
    assert_eq!(merged["changes"]["merged"], json!([dup]));
    assert!(
        merged["summary"]
            .as_str()
            .unwrap()
            .contains("merged 1 record")
    );
    let gone = timeline(&dup).await;
    assert!(
        gone.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "MERGED_INTO" && e["changes"]["into"] == keep.as_str()),
        "{gone}"
    );
    s.finish().await;
}
