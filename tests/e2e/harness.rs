use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

pub const ADMIN_KEY: &str = "rk_test_admin_key_0123456789";

/// Where a test's data lives; dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    pub url: String,
    pub pg_admin: Option<(String, String)>,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("RAPPORT_TEST_DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                let name = format!("rapport_t_{}", uuid::Uuid::new_v4().simple());
                let conn = Database::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required by RAPPORT_TEST_DATABASE_URL but unreachable: {e}"));
                conn.execute_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!("CREATE DATABASE {name}"),
                ))
                .await
                .expect("create test database");
                conn.close().await.ok();
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .expect("postgres url has a database");
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_admin: Some((admin, name)),
                    _dir: None,
                }
            }
            Ok(other) if !other.is_empty() => {
                panic!("RAPPORT_TEST_DATABASE_URL must be a postgres:// url, got {other}")
            }
            _ => {
                let dir = std::env::temp_dir()
                    .join(format!("rapport-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}", dir.join("rapport.db").display());
                TestDb {
                    url,
                    pg_admin: None,
                    _dir: Some(TempDir(dir)),
                }
            }
        }
    }

    /// Drops the PostgreSQL database (call at the end of a passing test).
    pub async fn drop_database(&self) {
        if let Some((admin, name)) = &self.pg_admin
            && let Ok(conn) = Database::connect(admin).await
        {
            let _ = conn
                .execute_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
                .await;
            conn.close().await.ok();
        }
    }
}

/// A server on a loopback port with the admin key installed.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub app: std::sync::Arc<rapport_server::App>,
    /// The local directory of attachments' files, removed at the end (none
    /// when they go to S3).
    files_dir: Option<PathBuf>,
}

/// Largest attachment a test server keeps: above the 2 MiB of a GraphQL
/// request, so both limits show.
pub const TEST_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Where a test server keeps attachments' files (at most [`TEST_FILE_BYTES`]
/// each): a fresh prefix of the S3 bucket `RAPPORT_TEST_FILES_URL` names, or
/// else a fresh local directory, returned for removal.
async fn test_files() -> (rapport_files::Files, Option<PathBuf>) {
    let types = rapport_files::DEFAULT_TYPES
        .iter()
        .map(|t| t.to_string())
        .collect();
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    match std::env::var("RAPPORT_TEST_FILES_URL") {
        Ok(bucket) => {
            let location = format!("{}/{fresh}", bucket.trim_end_matches('/'));
            let files = rapport_files::Files::s3(&location, TEST_FILE_BYTES, types)
                .await
                .unwrap_or_else(|e| panic!("RAPPORT_TEST_FILES_URL: {e}"));
            (files, None)
        }
        Err(_) => {
            let dir = std::env::temp_dir().join(format!("rapport-files-{fresh}"));
            let files = rapport_files::Files::local(&dir, TEST_FILE_BYTES, types)
                .expect("a files directory");
            (files, Some(dir))
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        let db = TestDb::new().await;
        Self::start_on(db).await
    }

    pub async fn start_on(db: TestDb) -> TestServer {
        Self::start_with(db, &rapport_server::standard_documents()).await
    }

    /// A server whose binary ships these standard documents.
    pub async fn start_with(db: TestDb, standard: &[Value]) -> TestServer {
        Self::start_full(db, standard, None).await
    }

    /// A server holding these keys for `encryptedText` fields.
    pub async fn start_keyed(db: TestDb, keys: &[&str]) -> TestServer {
        let keyring = rapport_store::Keyring::parse(&keys.join("\n")).expect("test keys");
        Self::start_full(
            db,
            &rapport_server::standard_documents(),
            Some(std::sync::Arc::new(keyring)),
        )
        .await
    }

    /// A server whose HTTP edge is set up with `options` (CORS).
    pub async fn start_http(options: rapport_server::HttpOptions) -> TestServer {
        let db = TestDb::new().await;
        Self::start_edge(db, &rapport_server::standard_documents(), None, &options).await
    }

    async fn start_full(
        db: TestDb,
        standard: &[Value],
        keyring: Option<std::sync::Arc<rapport_store::Keyring>>,
    ) -> TestServer {
        Self::start_edge(db, standard, keyring, &Default::default()).await
    }

    async fn start_edge(
        db: TestDb,
        standard: &[Value],
        keyring: Option<std::sync::Arc<rapport_store::Keyring>>,
        options: &rapport_server::HttpOptions,
    ) -> TestServer {
        let (app, _) = rapport_server::App::open_with_keys(&db.url, standard, keyring)
            .await
            .expect("server opens the database");
        rapport_store::create_api_key(
            &app.db,
            &app.workspace.id,
            "admin",
            "admin",
            Some(ADMIN_KEY.into()),
        )
        .await
        .expect("admin key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (files, files_dir) = test_files().await;
        app.set_files(files);
        let router = rapport_server::router_with(app.clone(), options);
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        TestServer {
            base,
            client: reqwest::Client::new(),
            db,
            app,
            files_dir,
        }
    }

    /// Stops talking to this server and hands back its database.
    pub fn into_db(self) -> TestDb {
        self.db
    }

    pub async fn finish(self) {
        if let Some(dir) = &self.files_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        self.db.drop_database().await;
    }

    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("response is not JSON: {text}"));
        (status, headers, value)
    }

    /// `POST /graphql` as the admin; the whole response.
    pub async fn gql_raw(&self, query: &str, variables: Value) -> Value {
        self.post(
            "/graphql",
            Some(ADMIN_KEY),
            json!({ "query": query, "variables": variables }),
        )
        .await
        .2
    }

    /// `POST /graphql` that must succeed; returns `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let r = self.gql_raw(query, variables).await;
        assert!(
            r.get("errors").is_none(),
            "unexpected errors: {r:#}\nquery: {query}"
        );
        r["data"].clone()
    }

    /// `POST /graphql` returning (data, SQL statements run).
    pub async fn gql_counted(&self, query: &str, variables: Value) -> (Value, u64) {
        let (_, headers, r) = self
            .post(
                "/graphql",
                Some(ADMIN_KEY),
                json!({ "query": query, "variables": variables }),
            )
            .await;
        assert!(r.get("errors").is_none(), "unexpected errors: {r:#}");
        let n = headers["x-rapport-sql-statements"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        (r["data"].clone(), n)
    }

    /// `POST /graphql` that must fail; returns the first error.
    pub async fn gql_error(&self, query: &str, variables: Value) -> Value {
        let r = self.gql_raw(query, variables).await;
        let errors = r["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("expected an error, got {r:#}\nquery: {query}"));
        errors[0].clone()
    }

    pub async fn meta_raw(&self, query: &str, variables: Value) -> Value {
        self.post(
            "/metadata",
            Some(ADMIN_KEY),
            json!({ "query": query, "variables": variables }),
        )
        .await
        .2
    }

    pub async fn meta(&self, query: &str, variables: Value) -> Value {
        let r = self.meta_raw(query, variables).await;
        assert!(
            r.get("errors").is_none(),
            "unexpected errors: {r:#}\nquery: {query}"
        );
        r["data"].clone()
    }

    pub async fn meta_error(&self, query: &str, variables: Value) -> Value {
        let r = self.meta_raw(query, variables).await;
        r["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("expected an error, got {r:#}"))[0]
            .clone()
    }

    pub async fn post_with(
        &self,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        let (s, _, v) = self.post(path, key, body).await;
        (s, v)
    }

    /// Only the status of an admin POST (for answers that are not JSON).
    pub async fn post_status(&self, path: &str, body: Value) -> reqwest::StatusCode {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .expect("request");
        res.status()
    }

    pub async fn get_with(&self, path: &str, token: &str) -> (reqwest::StatusCode, String) {
        self.get(path, Some(token)).await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (reqwest::StatusCode, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let res = req.send().await.expect("request");
        (res.status(), res.text().await.expect("body"))
    }

    pub async fn create_object(&self, doc: Value) -> Value {
        self.meta(
            "mutation($s: JSON!) { createObject(schema: $s) { name fields { name type } } }",
            json!({ "s": doc }),
        )
        .await
    }

    /// Count of records of an object, deleted ones included, straight from the API.
    /// Creates a member with `role` (the role must exist) and logs them in:
    /// their session token.
    /// Role `rep`: its members read and change only the records they own,
    /// and read every member and team.
    pub async fn create_rep_role(&self) {
        let rep = json!({
            "default": { "read": "own", "create": true, "update": "own", "delete": "own", "destroy": "none" },
            "objects": { "workspaceMember": { "read": "all" }, "team": { "read": "all" } }
        });
        self.meta(
            "mutation($d: JSON!) { createRole(name: \"rep\", definition: $d) }",
            json!({ "d": rep }),
        )
        .await;
    }

    pub async fn member_token(&self, email: &str, role: &str) -> String {
        self.join(email, "Member", role, "a long password").await.1
    }

    /// An admin invites `email` with `role`, and the person accepts with
    /// `password` (their account's, or the new account's): the member id
    /// and their session token.
    pub async fn join(
        &self,
        email: &str,
        first_name: &str,
        role: &str,
        password: &str,
    ) -> (String, String) {
        let invited = self
            .meta(
                "mutation($e: String!, $n: String!, $r: String!) { createMember(email: $e, firstName: $n, role: $r) { memberId invitationToken } }",
                json!({ "e": email, "n": first_name, "r": role }),
            )
            .await;
        let member_id = invited["createMember"]["memberId"]
            .as_str()
            .unwrap()
            .to_string();
        let token = invited["createMember"]["invitationToken"].as_str().unwrap();
        (member_id, self.accept(token, password).await)
    }

    /// Accepts an invitation anonymously: the session token.
    pub async fn accept(&self, invitation: &str, password: &str) -> String {
        let r = self
            .post_with(
                "/metadata",
                None,
                json!({ "query": "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { token } }",
                        "variables": { "t": invitation, "p": password } }),
            )
            .await
            .1;
        r["data"]["acceptInvitation"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {r}"))
            .to_string()
    }

    pub async fn count_all(&self, plural: &str) -> i64 {
        let q = format!("{{ {plural}(withDeleted: true) {{ totalCount }} }}");
        self.gql(&q, json!({})).await[plural]["totalCount"]
            .as_i64()
            .unwrap()
    }
}

pub fn code(error: &Value) -> &str {
    error["extensions"]["code"].as_str().unwrap_or("<none>")
}
