//! The GraphQL examples of `docs/modules.md` run, in order, against a fresh
//! server, so the documentation stays true.

use std::collections::HashMap;

use serde_json::Value;

use crate::harness::TestServer;

/// (info string, body) of each fenced block.
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.push(current.take().expect("open block")),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn substitute(v: &Value, ids: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) if s.starts_with("{{") && s.ends_with("}}") => {
            let key = &s[2..s.len() - 2];
            Value::String(
                ids.get(key)
                    .unwrap_or_else(|| panic!("no captured id `{key}`"))
                    .clone(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, ids)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn capture(data: &Value, ids: &mut HashMap<String, String>) {
    let Some(top) = data.as_object() else { return };
    for (k, v) in top {
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            ids.insert(k.clone(), id.to_string());
        }
        if let Some(children) = v.as_object() {
            for (c, cv) in children {
                if let Some(id) = cv.get("id").and_then(Value::as_str) {
                    ids.insert(format!("{k}.{c}"), id.to_string());
                }
            }
        }
    }
}

#[tokio::test]
async fn module_examples_run() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/modules.md"))
        .expect("docs/modules.md");
    let blocks = blocks(&text);
    let s = TestServer::start().await;
    let mut ids = HashMap::new();
    let mut ran = 0;
    for (i, (info, body)) in blocks.iter().enumerate() {
        if info != "graphql" {
            continue;
        }
        let variables = match blocks.get(i + 1) {
            Some((next, json)) if next == "json" => substitute(
                &serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("variables after example {i}: {e}")),
                &ids,
            ),
            _ => serde_json::json!({}),
        };
        let data = s.gql(body, variables).await;
        capture(&data, &mut ids);
        ran += 1;
    }
    assert!(ran >= 12, "only {ran} examples found");
    s.finish().await;
}

/// README.md and `docs/` stand alone: no path leads outside the repository.
#[test]
fn docs_point_only_inside_the_repository() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut pages = vec![std::path::PathBuf::from(root).join("README.md")];
    for entry in std::fs::read_dir(std::path::Path::new(root).join("docs")).expect("docs/") {
        pages.push(entry.expect("a docs entry").path());
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("a page");
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("../") && !line.contains("shared/spec"),
                "{}:{}: points outside the repository: {line}",
                page.display(),
                n + 1
            );
        }
    }
}
