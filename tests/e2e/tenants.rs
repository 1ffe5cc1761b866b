//! Workspaces as tenants: sign-up, login, API keys, and isolation between
//! workspaces sharing one database and one server.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

async fn post(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let (status, v) = s
        .post_with(
            path,
            token,
            json!({ "query": query, "variables": variables }),
        )
        .await;
    (status.as_u16(), v)
}

const SIGN_UP: &str = "mutation($e: String!, $p: String!, $w: String!) { signUp(email: $e, password: $p, workspaceName: $w) { token expiresAt workspaceId workspaceName memberId } }";

#[tokio::test]
async fn sign_up_login_and_isolation() {
    let s = TestServer::start().await;
    // The default workspace (the admin key's) has a company.
    s.gql(
        "mutation { createCompany(data: { name: \"Default Co\" }) { id } }",
        json!({}),
    )
    .await;

    let (status, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "Owner@Beta.example", "p": "correct horse battery", "w": "Beta Ltd" }),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let beta = r["data"]["signUp"].clone();
    let token = beta["token"].as_str().unwrap().to_string();
    assert_eq!(beta["workspaceName"], "Beta Ltd");

    // The new workspace has the standard objects, its admin as a member, and nothing of the other's data.
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "{ companies { totalCount } workspaceMembers { nodes { email role } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["companies"]["totalCount"], 0, "{r}");
    assert_eq!(
        r["data"]["workspaceMembers"]["nodes"],
        json!([{ "email": "owner@beta.example", "role": "ADMIN" }])
    );
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "mutation { createCompany(data: { name: \"Beta Co\" }) { id createdBy { kind } } }",
        json!({}),
    )
    .await;
    let beta_company = r["data"]["createCompany"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r["data"]["createCompany"]["createdBy"]["kind"], "member");
    let d = s
        .gql(
            "query($id: ID!) { companies { nodes { name } } company(id: $id) { id } }",
            json!({ "id": beta_company }),
        )
        .await;
    assert_eq!(
        d["companies"]["nodes"],
        json!([{ "name": "Default Co" }]),
        "the default workspace does not see Beta's data"
    );
    assert!(d["company"].is_null(), "not even by id");
    let e = s
        .gql_error(
            "mutation($id: ID!) { updateCompany(id: $id, data: { name: \"x\" }) { id } }",
            json!({ "id": beta_company }),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");

    // Metadata is per workspace too.
    let (_, r) = post(&s, "/metadata", Some(&token), "mutation { createField(object: \"company\", name: \"betaScore\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let e = s
        .gql_error("{ companies { nodes { betaScore } } }", json!({}))
        .await;
    assert_eq!(
        code(&e),
        "BAD_USER_INPUT",
        "the default workspace's schema did not change"
    );
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "{ companies { nodes { name betaScore } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["companies"]["nodes"],
        json!([{ "name": "Beta Co", "betaScore": null }])
    );

    // Login: right password opens a session in the member's workspace; wrong is refused alike.
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token workspaceId } }";
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        login,
        json!({ "e": "owner@beta.example", "p": "correct horse battery" }),
    )
    .await;
    assert_eq!(r["data"]["login"]["workspaceId"], beta["workspaceId"]);
    for (email, password) in [
        ("owner@beta.example", "wrong password!!"),
        ("nobody@beta.example", "correct horse battery"),
    ] {
        let (status, r) = post(
            &s,
            "/metadata",
            None,
            login,
            json!({ "e": email, "p": password }),
        )
        .await;
        assert_eq!(
            (status, code(&r["errors"][0])),
            (401, "UNAUTHENTICATED"),
            "{email}"
        );
        assert_eq!(r["errors"][0]["message"], "wrong email or password");
    }

    // A taken email with another password is answered as a failed login,
    // never "this email exists"; with the account's own password, its
    // owner gets a second workspace.
    let (status, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "owner@beta.example", "p": "another password", "w": "Takeover" }),
    )
    .await;
    assert_eq!(
        (status, code(&r["errors"][0])),
        (401, "UNAUTHENTICATED"),
        "{r}"
    );
    assert_eq!(r["errors"][0]["message"], "wrong email or password");
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "owner@beta.example", "p": "correct horse battery", "w": "Again" }),
    )
    .await;
    let again = &r["data"]["signUp"];
    assert!(again["token"].is_string(), "{r}");
    assert_ne!(again["workspaceId"], beta["workspaceId"]);

    // Bad sign-ups.
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "new@x.example", "p": "short", "w": "W" }),
    )
    .await;
    assert_eq!(
        (
            code(&r["errors"][0]),
            r["errors"][0]["extensions"]["field"].as_str()
        ),
        ("BAD_USER_INPUT", Some("password"))
    );
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "not-an-email", "p": "long enough password", "w": "W" }),
    )
    .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "email");

    // Anonymous callers get nothing else, and no introspection.
    let (status, r) = post(&s, "/metadata", None, "{ objects { name } }", json!({})).await;
    assert_eq!((status, code(&r["errors"][0])), (401, "UNAUTHENTICATED"));
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        "{ __schema { types { name } } }",
        json!({}),
    )
    .await;
    assert!(
        r["data"]["__schema"].is_null(),
        "introspection is off for anonymous callers: {r}"
    );
    s.finish().await;
}

#[tokio::test]
async fn api_keys_are_named_scoped_and_revocable() {
    let s = TestServer::start().await;
    let created = s
        .meta(
            "mutation { createApiKey(name: \"zapier\", role: \"member\") { id name role key } }",
            json!({}),
        )
        .await["createApiKey"]
        .clone();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("rk_"));
    // A member key reads and writes data, but may not change metadata.
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&key),
        "mutation { createCompany(data: { name: \"Via key\" }) { createdBy { kind name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["createCompany"]["createdBy"],
        json!({ "kind": "apiKey", "name": "zapier" })
    );
    let (_, r) = post(&s, "/metadata", Some(&key), "mutation { createField(object: \"company\", name: \"nope\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    assert_eq!(code(&r["errors"][0]), "FORBIDDEN");
    let listed = s
        .meta(
            "{ apiKeys { id name role lastUsedAt revokedAt } }",
            json!({}),
        )
        .await;
    let entry = listed["apiKeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "zapier")
        .unwrap()
        .clone();
    assert!(entry["lastUsedAt"].is_string(), "last use is recorded");
    assert!(entry.get("key").is_none());

    s.meta(
        "mutation($id: String!) { revokeApiKey(id: $id) }",
        json!({ "id": created["id"] }),
    )
    .await;
    let (status, r) = post(
        &s,
        "/graphql",
        Some(&key),
        "{ companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, code(&r["errors"][0])),
        (401, "UNAUTHENTICATED"),
        "a revoked key is refused at once"
    );
    let e = s
        .meta_error(
            "mutation($id: String!) { revokeApiKey(id: $id) }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(code(&e), "NOT_FOUND");
    let e = s
        .meta_error(
            "mutation { createApiKey(name: \"x\", role: \"owner\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(e["extensions"]["field"], "role");

    // Another workspace's admin cannot revoke this workspace's keys.
    let second = s
        .meta(
            "mutation { createApiKey(name: \"second\") { id } }",
            json!({}),
        )
        .await["createApiKey"]["id"]
        .clone();
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "other@gamma.example", "p": "correct horse battery", "w": "Gamma" }),
    )
    .await;
    let gamma = r["data"]["signUp"]["token"].as_str().unwrap().to_string();
    let (_, r) = post(
        &s,
        "/metadata",
        Some(&gamma),
        "mutation($id: String!) { revokeApiKey(id: $id) }",
        json!({ "id": second }),
    )
    .await;
    assert_eq!(code(&r["errors"][0]), "NOT_FOUND");
    s.finish().await;
}

#[tokio::test]
async fn members_are_created_and_deactivated_never_deleted() {
    let s = TestServer::start().await;
    let (id, _) = s
        .join("Rep@Example.com", "Rita", "member", "a long password")
        .await;
    let e = s
        .meta_error(
            "mutation { createMember(email: \"rep@example.com\", firstName: \"R\") { memberId } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT");
    let login = "mutation { login(email: \"rep@example.com\", password: \"a long password\") { token memberId } }";
    let (_, r) = post(&s, "/metadata", None, login, json!({})).await;
    assert_eq!(r["data"]["login"]["memberId"], id.as_str());
    let token = r["data"]["login"]["token"].as_str().unwrap().to_string();
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "mutation { createCompany(data: { name: \"Rita's\" }) { id createdBy { kind } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["createCompany"]["createdBy"]["kind"], "member");
    let (_, r) = post(&s, "/metadata", Some(&token), "mutation { createField(object: \"company\", name: \"x\", schema: { type: \"integer\" }) { name } }", json!({})).await;
    assert_eq!(
        code(&r["errors"][0]),
        "FORBIDDEN",
        "members do not change metadata"
    );

    s.meta(
        "mutation($id: String!) { deactivateMember(memberId: $id) }",
        json!({ "id": id }),
    )
    .await;
    let (status, _) = post(
        &s,
        "/graphql",
        Some(&token),
        "{ companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 401, "the session ended");
    let (status, _) = post(&s, "/metadata", None, login, json!({})).await;
    assert_eq!(status, 401, "no more logins");
    let d = s
        .gql(
            "query($id: ID!) { workspaceMember(id: $id) { active } companies { totalCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        d["workspaceMember"]["active"], false,
        "the member record stays"
    );
    assert_eq!(d["companies"]["totalCount"], 1, "and so do their records");
    s.finish().await;
}

#[tokio::test]
async fn abuse_limits_answer_rate_limited() {
    let s = TestServer::start().await;
    let key = s
        .meta(
            "mutation { createApiKey(name: \"busy\") { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    s.app
        .rate_limit
        .store(3, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..3 {
        let (status, _) = post(
            &s,
            "/graphql",
            Some(&key),
            "{ companies { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, r) = post(
        &s,
        "/graphql",
        Some(&key),
        "{ companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!((status, code(&r["errors"][0])), (429, "RATE_LIMITED"));
    let retry = r["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    s.app
        .rate_limit
        .store(0, std::sync::atomic::Ordering::Relaxed);

    // Login throttling: after five failures even the right password waits.
    s.join("t@example.com", "T", "member", "the right password")
        .await;
    let login = "mutation($p: String!) { login(email: \"t@example.com\", password: $p) { token } }";
    for _ in 0..5 {
        let (_, r) = post(
            &s,
            "/metadata",
            None,
            login,
            json!({ "p": "a wrong password" }),
        )
        .await;
        assert_eq!(code(&r["errors"][0]), "UNAUTHENTICATED");
    }
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        login,
        json!({ "p": "the right password" }),
    )
    .await;
    assert_eq!(code(&r["errors"][0]), "RATE_LIMITED");
    assert!(r["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() > 60);
    s.finish().await;
}

#[tokio::test]
async fn least_recently_used_workspaces_are_dropped_and_come_back() {
    let s = TestServer::start().await;
    s.app
        .max_loaded
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let mut tokens = Vec::new();
    for name in ["One", "Two", "Three"] {
        let (_, r) = post(
            &s,
            "/metadata",
            None,
            SIGN_UP,
            json!({ "e": format!("owner@{name}.example"), "p": "correct horse battery", "w": name }),
        )
        .await;
        tokens.push(r["data"]["signUp"]["token"].as_str().unwrap().to_string());
    }
    let add = "mutation($n: String!) { createCompany(data: { name: $n }) { id } }";
    for (i, t) in tokens.iter().enumerate() {
        let (_, r) = post(
            &s,
            "/graphql",
            Some(t),
            add,
            json!({ "n": format!("Co{i}") }),
        )
        .await;
        assert!(r.get("errors").is_none(), "{r}");
        assert!(s.app.loaded_workspaces() <= 2, "the default and one more");
    }
    // The first was dropped; its next request loads it again, data intact.
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&tokens[0]),
        "{ companies { nodes { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r["data"]["companies"]["nodes"],
        json!([{ "name": "Co0" }]),
        "{r}"
    );
    assert!(s.app.loaded_workspaces() <= 2);
    s.finish().await;
}

#[tokio::test]
async fn workspaces_with_the_same_objects_share_one_schema() {
    let s = TestServer::start().await;
    let mut tokens = Vec::new();
    for name in ["Ann Co", "Bob Co"] {
        let (_, r) = post(
            &s,
            "/metadata",
            None,
            SIGN_UP,
            json!({ "e": format!("owner@{}.example", name.replace(' ', "")), "p": "correct horse battery", "w": name }),
        )
        .await;
        let token = r["data"]["signUp"]["token"].as_str().unwrap().to_string();
        let (_, r) = post(
            &s,
            "/graphql",
            Some(&token),
            "{ companies { totalCount } }",
            json!({}),
        )
        .await;
        assert!(r.get("errors").is_none(), "{r}");
        tokens.push(token);
    }
    assert_eq!(s.app.loaded_workspaces(), 3);
    assert_eq!(
        s.app.distinct_schemas(),
        1,
        "three fresh workspaces, one schema"
    );

    // One customises: it gets its own schema; the others keep theirs.
    let (_, r) = post(
        &s,
        "/metadata",
        Some(&tokens[0]),
        "mutation { createField(object: \"company\", name: \"vatNumber\", schema: { type: \"string\" }) { name } }",
        json!({}),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&tokens[0]),
        "{ companies { nodes { vatNumber } } }",
        json!({}),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&tokens[1]),
        "{ companies { nodes { vatNumber } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        code(&r["errors"][0]),
        "BAD_USER_INPUT",
        "not in the other's schema: {r}"
    );
    assert_eq!(s.app.distinct_schemas(), 2);
    s.finish().await;
}

/// `planSchema` and `applySchema` change the caller's own workspace, as
/// every other metadata mutation does, never the server's default one.
#[tokio::test]
async fn a_workspace_admin_applies_schema_to_their_own_workspace() {
    let s = TestServer::start().await;
    let (_, r) = post(
        &s,
        "/metadata",
        None,
        SIGN_UP,
        json!({ "e": "owner@gamma.example", "p": "correct horse battery", "w": "Gamma" }),
    )
    .await;
    let token = r["data"]["signUp"]["token"].as_str().unwrap().to_string();
    let doc = crate::custom_object::vehicle_document();
    let plan = "mutation($d: [JSON!]!) { planSchema(documents: $d) { steps { action object } } }";
    let (_, r) = post(&s, "/metadata", Some(&token), plan, json!({ "d": [doc] })).await;
    assert_eq!(
        r["data"]["planSchema"]["steps"],
        json!([{ "action": "createObject", "object": "vehicle" }]),
        "{r}"
    );
    let apply = "mutation($d: [JSON!]!) { applySchema(documents: $d) { steps { action object } } }";
    // A bad document is refused and leaves the workspace as it was.
    let mut bad = doc.clone();
    bad["properties"]["plate"]["type"] = json!("no-such-type");
    let (_, r) = post(&s, "/metadata", Some(&token), apply, json!({ "d": [bad] })).await;
    assert_eq!(code(&r["errors"][0]), "BAD_USER_INPUT", "{r}");
    let (_, r) = post(
        &s,
        "/metadata",
        Some(&token),
        "{ metadataVersion }",
        json!({}),
    )
    .await;
    let version = r["data"]["metadataVersion"].clone();
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "{ vehicles { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        code(&r["errors"][0]),
        "BAD_USER_INPUT",
        "no vehicle object yet: {r}"
    );
    let (_, r) = post(&s, "/metadata", Some(&token), apply, json!({ "d": [doc] })).await;
    assert!(r.get("errors").is_none(), "{r}");
    let (_, r) = post(
        &s,
        "/graphql",
        Some(&token),
        "{ vehicles { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["vehicles"]["totalCount"], 0, "{r}");
    let (_, r) = post(
        &s,
        "/metadata",
        Some(&token),
        "{ metadataVersion }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["metadataVersion"], version.as_i64().unwrap() + 1);
    // The default workspace has no vehicles.
    let e = s.gql_error("{ vehicles { totalCount } }", json!({})).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");
    s.finish().await;
}
