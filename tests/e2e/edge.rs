//! A server that behaves like one: a home page, GraphiQL for both APIs,
//! compressed and cached assets, CORS when asked for, GraphQL over HTTP
//! (GET queries, its media type), a log line per request and a graceful
//! shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TestDb, TestServer, code};
use crate::multi_process::free_port;

#[tokio::test]
async fn pages_graphiql_and_assets() {
    let s = TestServer::start().await;
    let (status, home) = s.get("/", None).await;
    assert_eq!(status, 200);
    for link in ["href=\"/graphql\"", "href=\"/metadata\"", "/docs/api.md"] {
        assert!(home.contains(link), "the home page links {link}");
    }
    let (status, page) = s.get("/metadata", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-endpoint=\"/metadata\""), "{page}");
    let (_, page) = s.get("/graphql", None).await;
    assert!(page.contains("data-endpoint=\"/graphql\""));
    let (status, doc) = s.get("/docs/api.md", None).await;
    assert_eq!(status, 200);
    assert!(doc.starts_with("# Querying Rapport over GraphQL"));
    assert_eq!(s.get("/docs/secrets.txt", None).await.0, 404);

    let res = s
        .client
        .get(format!("{}/graphql/assets/graphiql.min.js", s.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let compressed = res.bytes().await.unwrap().len();
    assert!(
        compressed < 1_500_000,
        "3.5 MB of script sent as {compressed} bytes"
    );
    s.finish().await;
}

#[tokio::test]
async fn cross_origin_calls_only_from_configured_origins() {
    let preflight = |s: &TestServer, origin: &str| {
        s.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let closed = TestServer::start().await;
    let res = preflight(&closed, "https://app.example.com").await.unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "off by default"
    );
    closed.finish().await;

    let options = rapport_server::HttpOptions {
        cors_origins: vec!["https://app.example.com".parse().unwrap()],
    };
    let s = TestServer::start_http(options).await;
    let res = preflight(&s, "https://app.example.com").await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    let res = preflight(&s, "https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = s
        .client
        .post(format!("{}/graphql", s.base))
        .header("origin", "https://app.example.com")
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "query": "{ companies { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-rapport-sql-statements")
    );
    s.finish().await;
}

#[tokio::test]
async fn graphql_over_http_get_and_its_media_type() {
    let s = TestServer::start().await;
    let get = |query: &str, variables: Option<&str>, accept: Option<&str>| {
        let mut url = reqwest::Url::parse(&format!("{}/graphql", s.base)).unwrap();
        url.query_pairs_mut().append_pair("query", query);
        if let Some(v) = variables {
            url.query_pairs_mut().append_pair("variables", v);
        }
        let mut req = s.client.get(url).bearer_auth(ADMIN_KEY);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send()
    };
    let res = get(
        "query($n: Int) { companies(first: $n) { totalCount } }",
        Some("{\"n\": 5}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["data"]["companies"]["totalCount"], 0, "{r}");
    let res = get(
        "mutation { createCompany(data: { name: \"No\" }) { id } }",
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(s.count_all("companies").await, 0, "GET never mutates");

    let media = "application/graphql-response+json";
    let res = get("{ companies { totalCount } }", None, Some(media))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(media)
    );
    let res = get("{ companies { noSuchField } }", None, Some(media))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "a document that cannot run is a bad request"
    );
    let r: Value = res.json().await.unwrap();
    assert_eq!(code(&r["errors"][0]), "BAD_USER_INPUT");
    // Plain JSON clients keep HTTP 200 with errors, as before.
    let res = get("{ companies { noSuchField } }", None, None)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    s.finish().await;
}

/// `rapport serve` logs one line per request at info, as JSON when asked,
/// listens on a host name, and on SIGTERM finishes what is in flight and
/// says so.
#[cfg(unix)]
#[tokio::test]
async fn a_log_line_per_request_and_a_graceful_shutdown() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("rapport-log-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", &db.url, "--data-dir"])
        .arg(&dir)
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            &format!("localhost:{port}"),
        ])
        .env("RAPPORT_ADMIN_KEY", ADMIN_KEY)
        .env("RAPPORT_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rapport");
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let answer = loop {
        if let Ok(r) = client
            .post(format!("{base}/graphql"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "query": "query CountCompanies { companies { totalCount } }", "operationName": "CountCompanies" }))
            .send()
            .await
        {
            break r.json::<Value>().await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(answer["data"]["companies"]["totalCount"], 0);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status}");
    let all: Vec<String> = lines.try_iter().collect();
    let parsed: Vec<Value> = all
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    let request_line = parsed
        .iter()
        .find(|l| l["span"]["operation"] == "CountCompanies")
        .unwrap_or_else(|| panic!("no line for the request: {all:#?}"));
    assert_eq!(request_line["level"], "INFO");
    assert_eq!(request_line["span"]["method"], "POST");
    assert_eq!(request_line["span"]["path"], "/graphql");
    assert!(
        request_line["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() > 8)
    );
    assert_eq!(request_line["fields"]["status"], 200, "{request_line}");
    assert!(
        request_line["fields"]["latency"].is_string(),
        "{request_line}"
    );
    let text = all.join("\n");
    assert!(
        text.contains("shutting down") && text.contains("stopped"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour codes off a terminal");
    let _ = std::fs::remove_dir_all(dir);
    db.drop_database().await;
}

#[tokio::test]
async fn graphql_as_the_specification_says() {
    let s = TestServer::start().await;
    // A failed non-null root field nulls `data`, and its error has a path.
    let r = s
        .gql_raw(
            "mutation { a: createCompany(data: { name: \"A\" }) { id } b: updateCompany(id: \"00000000-0000-4000-8000-000000000000\", data: { name: \"x\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"], Value::Null, "{r}");
    assert_eq!(r["errors"][0]["path"], json!(["b"]), "{r}");
    assert_eq!(code(&r["errors"][0]), "NOT_FOUND");
    let r = s
        .gql_raw(
            "{ companies { totalCount } dup: findDuplicates(object: \"nope\", data: {}) { id } }",
            json!({}),
        )
        .await;
    assert!(
        r.as_object().unwrap().contains_key("data") && r["data"].is_null(),
        "{r}"
    );
    assert_eq!(r["errors"][0]["path"], json!(["dup"]), "{r}");
    // A request that cannot run has no `data` at all.
    let r = s.gql_raw("{ companies { noSuchField } }", json!({})).await;
    assert!(!r.as_object().unwrap().contains_key("data"), "{r}");

    // Required fields are non-null when creating, not when updating.
    let (_, sdl) = s.get("/graphql/schema.graphql", Some(ADMIN_KEY)).await;
    let input = |name: &str| {
        sdl.split(&format!("input {name} {{"))
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .unwrap_or_else(|| panic!("no input {name}"))
            .to_string()
    };
    assert!(input("CompanyCreateInput").contains("\tname: String!\n"));
    assert!(input("CompanyUpdateInput").contains("\tname: String\n"));
    let e = s
        .gql_error(
            "mutation($d: CompanyCreateInput!) { createCompany(data: $d) { id } }",
            json!({ "d": {} }),
        )
        .await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("name")),
        "{e}"
    );

    // Groups of a select come in the order of its options: a pipeline by stage.
    s.gql(
        "mutation { createOpportunities(data: [{ name: \"w\", stage: WON }, { name: \"n\", stage: NEW }, { name: \"l\", stage: LOST }]) { id } }",
        json!({}),
    )
    .await;
    let groups = s
        .gql(
            "{ opportunitiesGroupBy(by: [stage]) { key { stage } } }",
            json!({}),
        )
        .await;
    let stages: Vec<&str> = groups["opportunitiesGroupBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"]["stage"].as_str().unwrap())
        .collect();
    let options = s
        .meta(
            "{ object(name: \"opportunity\") { fields { name options } } }",
            json!({}),
        )
        .await;
    let order: Vec<String> = options["object"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "stage")
        .unwrap()["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap().to_string())
        .filter(|v| stages.contains(&v.as_str()))
        .collect();
    assert_eq!(stages, order, "groups follow the options' order");
    assert_ne!(
        stages,
        {
            let mut a = stages.clone();
            a.sort();
            a
        },
        "not alphabetical"
    );

    // Labels made from names read as words.
    let made = s
        .create_object(json!({
            "type": "object",
            "x-rapport-object": { "name": "supportTicket", "pluralName": "supportTickets" },
            "properties": {
                "firstResponseAt": { "type": "string", "format": "date-time" },
                "level": { "type": "string", "enum": ["LOW_PRIORITY", "HIGH"] }
            }
        }))
        .await;
    assert_eq!(made["createObject"]["name"], "supportTicket");
    let o = s
        .meta("{ object(name: \"supportTicket\") { label labelPlural fields { name label options } } }", json!({}))
        .await;
    assert_eq!(
        (
            o["object"]["label"].as_str(),
            o["object"]["labelPlural"].as_str()
        ),
        (Some("Support ticket"), Some("Support tickets"))
    );
    let field = |n: &str| {
        o["object"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(field("firstResponseAt")["label"], "First response at");
    assert_eq!(field("level")["options"][0]["label"], "Low priority");
    s.finish().await;
}
