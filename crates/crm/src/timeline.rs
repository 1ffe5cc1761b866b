//! What happened to a record, newest first: its history (created, field
//! changes, deleted, restored) and the tasks, notes, attachments and logged
//! activities attached to it.

use rapport_meta::RelationKind;
use rapport_query::Filter;
use rapport_store::Tx;
use serde_json::Value;

use crate::error::CrmError;

pub struct TimelineEntry {
    pub at: String,
    /// `CREATED`, `UPDATED`, `DELETED`, `RESTORED`, `TASK`, `NOTE`, `ATTACHMENT`, `ACTIVITY`
    pub kind: String,
    pub actor: Option<String>,
    pub summary: String,
    /// The fields (object, field) whose values `summary` shows, so a
    /// caller that may not see one of them gets a summary without it.
    pub summary_reads: Vec<(String, String)>,
    pub changes: Value,
    pub related: Option<(String, String)>,
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub async fn record_timeline(
    tx: &Tx<'_>,
    object: &str,
    id: &str,
    first: i64,
) -> Result<Vec<TimelineEntry>, CrmError> {
    if !(1..=500).contains(&first) {
        return Err(CrmError::bad("first", "between 1 and 500"));
    }
    // A record in the trash (deleted, or merged into another) keeps its
    // history readable to whoever may read it.
    tx.get_with_deleted(object, id).await?;
    let mut out = history_entries(tx, object, id, first).await?;
    out.extend(attached_entries(tx, object, id, first).await?);
    out.extend(activity_entries(tx, object, id, first).await?);
    out.sort_by(|a, b| b.at.cmp(&a.at));
    out.truncate(first as usize);
    Ok(out)
}

/// The record's own history, each change summed up in words.
async fn history_entries(
    tx: &Tx<'_>,
    object: &str,
    id: &str,
    first: i64,
) -> Result<Vec<TimelineEntry>, CrmError> {
    let out: Vec<TimelineEntry> = tx
        .history(object, id, first)
        .await?
        .into_iter()
        .map(|h| {
            let fields: Vec<String> = h
                .changes
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            TimelineEntry {
                summary: match h.action.as_str() {
                    "UPDATED" => format!("changed {}", fields.join(", ")),
                    "MERGED" => format!(
                        "merged {} record(s) into this one",
                        h.changes["merged"].as_array().map_or(0, Vec::len)
                    ),
                    "MERGED_INTO" => "merged into another record".to_string(),
                    other => other.to_lowercase(),
                },
                summary_reads: match h.action.as_str() {
                    "UPDATED" => fields
                        .iter()
                        .map(|f| (object.to_string(), f.clone()))
                        .collect(),
                    _ => Vec::new(),
                },
                at: h.at,
                kind: h.action,
                actor: Some(h.actor),
                changes: h.changes,
                related: None,
            }
        })
        .collect();
    Ok(out)
}

/// Tasks, notes and attachments attached to the record through a
/// polymorphic `related`.
async fn attached_entries(
    tx: &Tx<'_>,
    object: &str,
    id: &str,
    first: i64,
) -> Result<Vec<TimelineEntry>, CrmError> {
    let mut out = Vec::new();
    for (attached, kind, title) in [
        ("task", "TASK", "title"),
        ("note", "NOTE", "title"),
        ("attachment", "ATTACHMENT", "fileName"),
    ] {
        let Ok(def) = tx.object(attached) else {
            continue;
        };
        for f in def
            .fields
            .iter()
            .filter(|f| f.relation_kind() == Some(RelationKind::Polymorphic))
        {
            let filter = Filter::eq(rapport_query::object_column(f), object)
                .and(Filter::eq(rapport_query::id_column(f), id));
            for r in tx.find(attached, filter, first).await? {
                out.push(TimelineEntry {
                    at: text(&Value::Object(r.clone()), "createdAt"),
                    kind: kind.into(),
                    actor: r
                        .get("createdBy")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    summary: text(&Value::Object(r.clone()), title),
                    summary_reads: vec![(attached.to_string(), title.to_string())],
                    changes: Value::Null,
                    related: Some((attached.to_string(), text(&Value::Object(r), "id"))),
                });
            }
        }
    }
    Ok(out)
}

/// Logged interactions (activities) pointing at the record.
async fn activity_entries(
    tx: &Tx<'_>,
    object: &str,
    id: &str,
    first: i64,
) -> Result<Vec<TimelineEntry>, CrmError> {
    let mut out = Vec::new();
    if let Ok(def) = tx.object("activity") {
        let links: Vec<String> = def
            .fields
            .iter()
            .filter(|f| {
                f.relation
                    .as_ref()
                    .is_some_and(|r| r.kind == RelationKind::ManyToOne && r.target == object)
            })
            .map(rapport_query::id_column)
            .collect();
        for key in links {
            for r in tx.find("activity", Filter::eq(key, id), first).await? {
                let v = Value::Object(r.clone());
                let at = Some(text(&v, "occurredAt"))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| text(&v, "createdAt"));
                out.push(TimelineEntry {
                    at,
                    kind: "ACTIVITY".into(),
                    actor: r
                        .get("createdBy")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    summary: format!(
                        "{} {}",
                        text(&v, "type").to_lowercase(),
                        text(&v, "subject")
                    )
                    .trim()
                    .to_string(),
                    summary_reads: vec![
                        ("activity".into(), "type".into()),
                        ("activity".into(), "subject".into()),
                    ],
                    changes: Value::Null,
                    related: Some(("activity".into(), text(&v, "id"))),
                });
            }
        }
    }
    Ok(out)
}
