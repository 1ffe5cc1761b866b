//! Accounts belong to people: a workspace invites, the person proves they
//! own the account, and removing a member ends their access.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

const SIGN_UP: &str = "mutation($e: String!, $p: String!, $w: String!) { signUp(email: $e, password: $p, workspaceName: $w) { token workspaceId } }";
const LOGIN: &str = "mutation($e: String!, $p: String!, $w: String) { login(email: $e, password: $p, workspaceId: $w) { token workspaceId } }";
const INVITE: &str = "mutation($e: String!) { createMember(email: $e, firstName: \"Invited\") { memberId invitationToken expiresAt } }";
const ACCEPT: &str = "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { token workspaceId memberId } }";

async fn anonymous(s: &TestServer, query: &str, variables: Value) -> Value {
    s.post_with(
        "/metadata",
        None,
        json!({ "query": query, "variables": variables }),
    )
    .await
    .1
}

async fn as_token(s: &TestServer, token: &str, path: &str, query: &str, variables: Value) -> Value {
    s.post_with(
        path,
        Some(token),
        json!({ "query": query, "variables": variables }),
    )
    .await
    .1
}

#[tokio::test]
async fn a_workspace_cannot_take_over_an_account_another_workspace_invites() {
    let s = TestServer::start().await;
    let a_id = s.app.workspace.id.clone();
    // Mallory signs up workspace B and invites the victim's email before
    // the victim has an account, then accepts that invitation herself,
    // choosing the password.
    let b = anonymous(
        &s,
        SIGN_UP,
        json!({ "e": "mallory@b.example", "p": "mallory's password", "w": "B" }),
    )
    .await["data"]["signUp"]
        .clone();
    let mallory = b["token"].as_str().unwrap();
    let invited = as_token(
        &s,
        mallory,
        "/metadata",
        INVITE,
        json!({ "e": "victim@a.example" }),
    )
    .await;
    let b_token = invited["data"]["createMember"]["invitationToken"]
        .as_str()
        .unwrap();
    let joined = anonymous(
        &s,
        ACCEPT,
        json!({ "t": b_token, "p": "chosen by mallory" }),
    )
    .await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["workspaceId"],
        b["workspaceId"]
    );

    // Workspace A's admin invites the same email: nothing is attached.
    let invited = s.meta(INVITE, json!({ "e": "victim@a.example" })).await;
    let a_token = invited["createMember"]["invitationToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r = anonymous(
        &s,
        LOGIN,
        json!({ "e": "victim@a.example", "p": "chosen by mallory", "w": a_id }),
    )
    .await;
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED", "{r}");
    // Mallory's password cannot be chosen anew through A's invitation: the
    // account exists, so only its password accepts, and a wrong one leaves
    // the invitation open for the real person.
    let r = anonymous(&s, ACCEPT, json!({ "t": a_token, "p": "another guess!!" })).await;
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED", "{r}");
    // No admin can set a member's password any more.
    let r = s
        .meta_raw(
            "mutation { createMember(email: \"x@a.example\", password: \"admin chose it\", firstName: \"X\") { memberId } }",
            json!({}),
        )
        .await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{r}"
    );
    s.finish().await;
}

#[tokio::test]
async fn an_existing_account_joins_only_with_its_own_password_and_once() {
    let s = TestServer::start().await;
    let a_id = s.app.workspace.id.clone();
    let owner = anonymous(
        &s,
        SIGN_UP,
        json!({ "e": "pat@p.example", "p": "pat's own password", "w": "Pat's" }),
    )
    .await["data"]["signUp"]
        .clone();
    assert!(owner["token"].is_string(), "{owner}");
    let invited = s.meta(INVITE, json!({ "e": "Pat@P.example" })).await;
    let member_id = invited["createMember"]["memberId"]
        .as_str()
        .unwrap()
        .to_string();
    let token = invited["createMember"]["invitationToken"]
        .as_str()
        .unwrap()
        .to_string();
    // Not a member until accepted.
    let r = anonymous(
        &s,
        LOGIN,
        json!({ "e": "pat@p.example", "p": "pat's own password", "w": a_id }),
    )
    .await;
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED");
    let e = s.meta_error(INVITE, json!({ "e": "pat@p.example" })).await;
    assert_eq!(code(&e), "CONFLICT", "invited twice: {e}");
    let joined = anonymous(&s, ACCEPT, json!({ "t": token, "p": "pat's own password" })).await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["memberId"],
        member_id.as_str(),
        "{joined}"
    );
    let again = anonymous(&s, ACCEPT, json!({ "t": token, "p": "pat's own password" })).await;
    assert_eq!(
        code(&again["errors"][0]),
        "UNAUTHENTICATED",
        "an invitation is used once"
    );
    let r = anonymous(
        &s,
        ACCEPT,
        json!({ "t": "ri_not_a_token", "p": "pat's own password" }),
    )
    .await;
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED");
    let r = anonymous(
        &s,
        LOGIN,
        json!({ "e": "pat@p.example", "p": "pat's own password", "w": a_id }),
    )
    .await;
    assert_eq!(r["data"]["login"]["workspaceId"], a_id.as_str(), "{r}");
    let audit = s
        .meta(
            "query($id: String!) { auditLog(object: \"_access\", recordId: $id) { action } }",
            json!({ "id": member_id }),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"MEMBER_INVITED") && actions.contains(&"MEMBER_JOINED"),
        "{actions:?}"
    );
    s.finish().await;
}

#[tokio::test]
async fn deleting_or_destroying_a_member_record_ends_their_sessions_and_logins() {
    let s = TestServer::start().await;
    let a_id = s.app.workspace.id.clone();
    for how in [
        "deleteWorkspaceMember(id: $id) { id }",
        "destroyWorkspaceMember(id: $id)",
    ] {
        let email = format!("gone{}@a.example", how.len());
        let (member_id, session) = s.join(&email, "Gone", "member", "a long password").await;
        let r = as_token(
            &s,
            &session,
            "/graphql",
            "{ companies { totalCount } }",
            json!({}),
        )
        .await;
        assert!(r.get("errors").is_none(), "{r}");
        s.gql(
            &format!("mutation($id: ID!) {{ {how} }}"),
            json!({ "id": member_id }),
        )
        .await;
        // In this process at once: no cached token outlives the member.
        let (status, r) = s
            .post_with(
                "/graphql",
                Some(&session),
                json!({ "query": "{ companies { totalCount } }" }),
            )
            .await;
        assert_eq!(
            (status.as_u16(), code(&r["errors"][0])),
            (401, "UNAUTHENTICATED"),
            "{how}: {r}"
        );
        let r = anonymous(
            &s,
            LOGIN,
            json!({ "e": email, "p": "a long password", "w": a_id }),
        )
        .await;
        assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED", "{how}: {r}");
    }
    // A pending invitation dies with its member record.
    let invited = s.meta(INVITE, json!({ "e": "pending@a.example" })).await;
    let member_id = invited["createMember"]["memberId"].as_str().unwrap();
    let token = invited["createMember"]["invitationToken"].as_str().unwrap();
    s.gql(
        "mutation($id: ID!) { deleteWorkspaceMember(id: $id) { id } }",
        json!({ "id": member_id }),
    )
    .await;
    let r = anonymous(&s, ACCEPT, json!({ "t": token, "p": "a long password" })).await;
    assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED", "{r}");
    s.finish().await;
}
