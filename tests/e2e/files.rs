//! Attachments hold files: uploaded and downloaded through the API as the
//! caller, within a size limit and the accepted content types, stored per
//! workspace and attachment, and removed when the attachment is destroyed.
//! They run on the local disk, or on an S3-compatible store when
//! `RAPPORT_TEST_FILES_URL` names a bucket (as `.ci/run` does).

use serde_json::{Value, json};

use crate::harness::{ADMIN_KEY, TEST_FILE_BYTES, TestDb, TestServer, code};
use crate::multi_process::serve_with_env;

async fn upload(
    s: &TestServer,
    key: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let res = s
        .client
        .post(format!("{}/files?{query}", s.base))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn attachments_hold_files() {
    let s = TestServer::start().await;
    let company = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await["createCompany"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let related = format!("relatedObject=company&relatedId={company}");
    let (status, made) = upload(
        &s,
        ADMIN_KEY,
        &format!("fileName=Meeting%20notes.txt&{related}"),
        "text/plain; charset=utf-8",
        b"We agreed on a pilot.".to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(
        (made["size"].as_i64(), made["contentType"].as_str()),
        (Some(21), Some("text/plain"))
    );
    let listed = s
        .gql(
            "query($id: ID!) { company(id: $id) { attachments { nodes { id fileName size } } } }",
            json!({ "id": company }),
        )
        .await;
    assert_eq!(
        listed["company"]["attachments"]["nodes"][0]["fileName"],
        "Meeting notes.txt"
    );

    let res = s
        .client
        .get(format!("{}/files/{id}", s.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"Meeting notes.txt\"")
    );
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        b"We agreed on a pilot."
    );
    let store = s.app.files().expect("the test server keeps files");
    let ws = s.app.workspace.id.clone();
    assert!(
        store.exists(&ws, &id).await.unwrap(),
        "kept under its workspace and attachment"
    );

    // Larger than a GraphQL request, within the file limit.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(3 * 1024 * 1024, b' ');
    let (status, r) = upload(&s, ADMIN_KEY, "fileName=big.pdf", "application/pdf", pdf).await;
    assert_eq!(status, 201, "{r}");
    // Over the limit, of a refused type, not what it says it is, a name
    // with a path, a record the caller cannot read.
    let refusals: [(&str, &str, Vec<u8>, u16); 5] = [
        (
            "fileName=huge.txt",
            "text/plain",
            vec![b'x'; TEST_FILE_BYTES as usize + 1],
            413,
        ),
        ("fileName=page.html", "text/html", b"<script>".to_vec(), 415),
        (
            "fileName=fake.pdf",
            "application/pdf",
            b"<html>".to_vec(),
            415,
        ),
        (
            "fileName=..%2Fetc%2Fpasswd",
            "text/plain",
            b"x".to_vec(),
            400,
        ),
        (
            "fileName=a.txt&relatedObject=company&relatedId=7f000000-0000-4000-8000-000000000000",
            "text/plain",
            b"x".to_vec(),
            404,
        ),
    ];
    for (query, content_type, body, expected) in refusals {
        let (status, r) = upload(&s, ADMIN_KEY, query, content_type, body).await;
        assert_eq!(status, expected, "{query}: {r}");
        let want = if expected == 404 {
            "NOT_FOUND"
        } else {
            "BAD_USER_INPUT"
        };
        assert_eq!(code(&r["errors"][0]), want, "{query}: {r}");
    }
    let res = s
        .client
        .post(format!("{}/files?fileName=a.txt", s.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Soft-deleted, the file stays (restorable); destroyed, it goes.
    s.gql(
        "mutation($id: ID!) { deleteAttachment(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    s.app.remove_orphan_files().await.unwrap();
    assert!(store.exists(&ws, &id).await.unwrap());
    s.gql(
        "mutation($id: ID!) { restoreAttachment(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    s.gql(
        "mutation($id: ID!) { destroyAttachment(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert!(s.app.remove_orphan_files().await.unwrap() >= 1);
    assert!(
        !store.exists(&ws, &id).await.unwrap(),
        "the destroyed attachment's file is removed"
    );
    let res = s
        .client
        .get(format!("{}/files/{id}", s.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    s.finish().await;
}

#[tokio::test]
async fn files_obey_roles_scopes_and_workspaces() {
    let s = TestServer::start().await;
    let (_, made) = upload(
        &s,
        ADMIN_KEY,
        "fileName=secret.txt",
        "text/plain",
        b"salary list".to_vec(),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    // A role that may not read attachments neither downloads nor uploads.
    s.meta(
        "mutation($d: JSON!) { createRole(name: \"noFiles\", definition: $d) }",
        json!({ "d": { "default": { "read": "all", "create": true, "update": "all", "delete": "none", "destroy": "none" },
                        "objects": { "attachment": { "read": "none" } } } }),
    )
    .await;
    let closed = s.member_token("closed@x.example", "noFiles").await;
    let res = s
        .client
        .get(format!("{}/files/{id}", s.base))
        .bearer_auth(&closed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (status, _) = upload(&s, &closed, "fileName=x.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(status, 403);
    // A rep who reads only their own records does not read the admin's file.
    s.create_rep_role().await;
    let rep = s.member_token("rep@x.example", "rep").await;
    let res = s
        .client
        .get(format!("{}/files/{id}", s.base))
        .bearer_auth(&rep)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (status, own) = upload(
        &s,
        &rep,
        "fileName=mine.txt",
        "text/plain",
        b"mine".to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let res = s
        .client
        .get(format!("{}/files/{}", s.base, own["id"].as_str().unwrap()))
        .bearer_auth(&rep)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"mine");
    // Another workspace cannot reach it by its id.
    let other = s
        .post_with(
            "/metadata",
            None,
            json!({ "query": "mutation { signUp(email: \"o@other.example\", password: \"a long password\", workspaceName: \"O\") { token } }" }),
        )
        .await
        .1["data"]["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = s
        .client
        .get(format!("{}/files/{id}", s.base))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    s.finish().await;
}

/// `rapport serve` keeps files where it is told: under `RAPPORT_FILES_DIR`,
/// or in the S3 bucket of `RAPPORT_FILES_URL` (run when
/// `RAPPORT_TEST_FILES_URL` names a bucket); a store it cannot write to
/// stops it at its start, with the store named.
#[tokio::test]
async fn the_server_keeps_files_where_it_is_told() {
    let db = TestDb::new().await;
    let data_dir =
        std::env::temp_dir().join(format!("rapport-fs-{}", uuid::Uuid::new_v4().simple()));
    let files_dir = data_dir.join("kept-here");
    let client = reqwest::Client::new();
    let upload_to = |base: String, body: &'static [u8]| {
        let client = client.clone();
        async move {
            let res = client
                .post(format!("{base}/files?fileName=notes.txt"))
                .bearer_auth(ADMIN_KEY)
                .header("content-type", "text/plain")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let made: Value = res.json().await.unwrap();
            let id = made["id"].as_str().unwrap().to_string();
            let res = client
                .get(format!("{base}/files/{id}"))
                .bearer_auth(ADMIN_KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(res.bytes().await.unwrap().as_ref(), body);
            id
        }
    };

    let server = serve_with_env(
        &db.url,
        &[],
        &data_dir,
        &[("RAPPORT_FILES_DIR", files_dir.to_str().unwrap())],
    )
    .await;
    let id = upload_to(server.base.clone(), b"on the disk").await;
    drop(server);
    let workspace = std::fs::read_dir(&files_dir)
        .unwrap()
        .next()
        .expect("a workspace folder")
        .unwrap();
    assert!(workspace.path().join(&id).exists());
    let workspace = workspace.file_name().into_string().unwrap();

    let start_fails = |location: &str, endpoint: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
            .args(["--database-url", &db.url, "--data-dir"])
            .arg(&data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RAPPORT_FILES_URL", location)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("RAPPORT_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{location} should stop the start");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = start_fails("ftp://files.example/x", "http://127.0.0.1:1");
    assert!(
        e.contains("`ftp://files.example/x` is not an S3 location"),
        "{e}"
    );
    let e = start_fails("s3://no-such-store", "http://127.0.0.1:1");
    assert!(e.contains("cannot write to s3://no-such-store"), "{e}");

    if let Ok(bucket) = std::env::var("RAPPORT_TEST_FILES_URL") {
        let location = format!(
            "{}/served-{}",
            bucket.trim_end_matches('/'),
            uuid::Uuid::new_v4().simple()
        );
        let server =
            serve_with_env(&db.url, &[], &data_dir, &[("RAPPORT_FILES_URL", &location)]).await;
        let id = upload_to(server.base.clone(), b"in the bucket").await;
        drop(server);
        let bucket = rapport_files::Files::s3(&location, 16, vec![])
            .await
            .unwrap();
        assert!(bucket.exists(&workspace, &id).await.unwrap());
        assert!(
            !data_dir.join("files").exists(),
            "nothing on the local disk"
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    db.drop_database().await;
}
