//! `rapport import` and `rapport export`: records in and out as CSV (a
//! header naming fields, `name.firstName` for a part of a composite) or JSON
//! Lines (one GraphQL-shaped record per line).

use std::io::{BufRead, IsTerminal, Write};

use rapport_meta::{FieldType, ObjectDef, RelationKind};
use rapport_store::{Actor, ImportReport, Record, RecordStore, StatementCounter};
use serde_json::{Map, Value};

use crate::error::ServerError;

/// Lines per validated, written chunk.
const CHUNK: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn of_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            _ => Format::Jsonl,
        }
    }
}

/// A CSV cell as the JSON value its field expects; what does not parse is
/// passed on as text, for the validator to refuse with a reason.
fn cell(object: &ObjectDef, column: &str, text: &str) -> Option<(String, Option<String>, Value)> {
    if text.is_empty() {
        return None;
    }
    let (key, part) = match column.split_once('.') {
        Some((k, p)) => (k.to_string(), Some(p.to_string())),
        None => (column.to_string(), None),
    };
    let field_type = object
        .field(&key)
        .map(|f| match (&part, f.field_type) {
            (Some(_), FieldType::Currency) if part.as_deref() == Some("amount") => {
                FieldType::Decimal
            }
            (Some(p), FieldType::Address) if p == "latitude" || p == "longitude" => {
                FieldType::Number
            }
            (Some(_), _) => FieldType::Text,
            (None, t) => t,
        })
        .unwrap_or(FieldType::Text);
    let text_value = || Value::String(text.to_string());
    let value = match field_type {
        FieldType::Integer | FieldType::Rating => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| text_value()),
        FieldType::Number | FieldType::Percent => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .unwrap_or_else(text_value),
        FieldType::Boolean => match text.trim().to_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => text_value(),
        },
        FieldType::MultiSelect => Value::Array(
            text.split(';')
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        ),
        FieldType::Json => serde_json::from_str(text).unwrap_or_else(|_| text_value()),
        _ => text_value(),
    };
    Some((key, part, value))
}

/// Whether a column (or JSON key) names something of the object: a field
/// or a part of one, a relation's `…Id`/`…Object`/`…Ids`, or a system field.
fn known_column(object: &ObjectDef, column: &str) -> bool {
    let key = column.split('.').next().unwrap_or(column);
    if rapport_meta::SYSTEM_FIELDS.contains(&key) || object.field(key).is_some() {
        return true;
    }
    ["Ids", "Id", "Object"].iter().any(|suffix| {
        key.strip_suffix(suffix)
            .and_then(|base| object.field(base))
            .is_some_and(|f| f.relation.is_some())
    })
}

fn unknown_error(object: &ObjectDef, what: &str, unknown: &[String]) -> ServerError {
    let names: Vec<String> = unknown.iter().map(|u| format!("`{u}`")).collect();
    ServerError::Usage(format!(
        "{what}: {} not a field of `{}`; nothing imported (--ignore-unknown leaves {} out)",
        names.join(", "),
        object.name,
        if unknown.len() == 1 { "it" } else { "them" }
    ))
}

fn csv_record(object: &ObjectDef, header: &[String], row: &csv::StringRecord) -> Record {
    let mut record = Map::new();
    for (column, text) in header.iter().zip(row.iter()) {
        if column.is_empty() {
            continue;
        }
        let Some((key, part, value)) = cell(object, column, text) else {
            continue;
        };
        match part {
            None => {
                record.insert(key, value);
            }
            Some(p) => {
                let slot = record
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = slot {
                    m.insert(p, value);
                }
            }
        }
    }
    record
}

/// A file to import and its size in bytes, for the progress bar.
pub struct Input<R> {
    pub reader: R,
    pub size: u64,
}

pub struct ImportOptions<'a> {
    pub format: Format,
    /// The member or key the import acts as (their role's rights): lines
    /// naming a field the role may not write are refused, as `create`
    /// refuses them. `None`: the operator.
    pub access: Option<&'a rapport_graphql::Access>,
    /// Import the valid lines and report the others.
    pub skip_invalid: bool,
    /// Leave out columns and keys that name nothing of the object.
    pub ignore_unknown: bool,
}

/// A line as the caller may import it: refused when it names a field their
/// role may not write, owned by them unless it names an owner.
fn as_caller(
    store: &RecordStore,
    obj: &ObjectDef,
    options: &ImportOptions<'_>,
    line: usize,
    mut record: Record,
    import: &mut rapport_store::Import<'_>,
) -> Option<Record> {
    let Some(access) = options.access else {
        return Some(record);
    };
    if let Some(field) = access.unwritable(&store.meta.catalog, &obj.name, &record) {
        let reason = format!("the `{}` role may not write this field", access.role.name);
        import.reject_field(line, field, reason);
        return None;
    }
    if let Some(owner) = &access.member_id
        && !record.contains_key("ownerId")
    {
        record.insert("ownerId".into(), Value::String(owner.clone()));
    }
    Some(record)
}

/// A progress bar over the bytes read, with a total and a rate, drawn only
/// on a terminal.
fn progress_bar(size: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Imports a file into an object in one transaction.
pub async fn import<R: std::io::Read>(
    store: &RecordStore,
    actor: &Actor,
    object: &str,
    input: Input<R>,
    options: ImportOptions<'_>,
) -> Result<ImportReport, ServerError> {
    let obj = store.object(object)?.clone();
    let counter = StatementCounter::default();
    let mut import = store
        .begin_import(&counter, actor, object, options.skip_invalid)
        .await?;
    let bar = progress_bar(input.size);
    let reader = std::io::BufReader::new(bar.wrap_read(input.reader));
    let mut chunk: Vec<(usize, Record)> = Vec::with_capacity(CHUNK);
    match options.format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let mut header: Vec<String> = reader
                .headers()
                .map_err(|e| ServerError::Usage(format!("line 1: {e}")))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            let unknown: Vec<String> = header
                .iter()
                .filter(|c| !c.is_empty() && !known_column(&obj, c))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                if !options.ignore_unknown {
                    return Err(unknown_error(&obj, "the header", &unknown));
                }
                // A column without a name is left out.
                for c in header.iter_mut().filter(|c| unknown.contains(c)) {
                    c.clear();
                }
            }
            for (i, row) in reader.records().enumerate() {
                // Line 1 is the header.
                let line = i + 2;
                let row = row.map_err(|e| ServerError::Usage(format!("line {line}: {e}")))?;
                if let Some(record) = as_caller(
                    store,
                    &obj,
                    &options,
                    line,
                    csv_record(&obj, &header, &row),
                    &mut import,
                ) {
                    chunk.push((line, record));
                }
                if chunk.len() == CHUNK {
                    import.push(std::mem::take(&mut chunk)).await?;
                    bar.set_message(format!("{line} lines"));
                }
            }
        }
        Format::Jsonl => {
            for (i, text) in reader.lines().enumerate() {
                let line = i + 1;
                let text = text?;
                if text.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(mut record)) => {
                        let unknown: Vec<String> = record
                            .keys()
                            .filter(|k| !known_column(&obj, k))
                            .cloned()
                            .collect();
                        if !unknown.is_empty() {
                            if !options.ignore_unknown {
                                return Err(unknown_error(&obj, &format!("line {line}"), &unknown));
                            }
                            record.retain(|k, _| !unknown.contains(k));
                        }
                        if let Some(record) =
                            as_caller(store, &obj, &options, line, record, &mut import)
                        {
                            chunk.push((line, record));
                        }
                    }
                    Ok(_) => import.reject(line, "a line must be a JSON object"),
                    Err(e) => import.reject(line, format!("not JSON: {e}")),
                }
                if chunk.len() == CHUNK {
                    import.push(std::mem::take(&mut chunk)).await?;
                    bar.set_message(format!("{line} lines"));
                }
            }
        }
    }
    if !chunk.is_empty() {
        import.push(chunk).await?;
    }
    bar.finish_and_clear();
    Ok(import.finish().await?)
}

/// Writes every live record of an object, page by page.
pub async fn export(
    store: &RecordStore,
    object: &str,
    format: Format,
    access: Option<&rapport_graphql::Access>,
    out: &mut impl Write,
) -> Result<u64, ServerError> {
    let mut obj = store.object(object)?.clone();
    // As the caller's role sees the object: only its columns, masked values masked.
    if let Some(view) = access.and_then(|a| a.view.as_ref()) {
        obj = view
            .object(object)
            .ok_or_else(|| ServerError::Usage(format!("no object named `{object}`")))?
            .clone();
    }
    let counter = StatementCounter::default();
    let columns = csv_columns(&obj);
    if format == Format::Csv {
        out.write_all(&csv_line(&columns)?)?;
    }
    let mut after: Option<String> = None;
    let mut written = 0u64;
    loop {
        let q = rapport_graphql::ConnectionArgs {
            first: Some(500),
            after: after.clone(),
            ..Default::default()
        };
        let page = store.connection(&counter, object, &q).await?;
        for (record, _) in &page.edges {
            let shown;
            let record: &Map<String, Value> = match access {
                Some(a) => {
                    let mut redacted = Map::clone(record);
                    a.redact(&store.meta.catalog, object, &mut redacted);
                    shown = redacted;
                    &shown
                }
                None => record,
            };
            match format {
                Format::Csv => {
                    let row: Vec<String> = columns.iter().map(|c| csv_cell(record, c)).collect();
                    out.write_all(&csv_line(&row)?)?;
                }
                Format::Jsonl => {
                    serde_json::to_writer(&mut *out, record)
                        .map_err(|e| ServerError::Usage(e.to_string()))?;
                    out.write_all(b"\n")?;
                }
            }
            written += 1;
        }
        match page.edges.last() {
            Some((_, cursor)) if page.has_next_page => after = Some(cursor.clone()),
            _ => break,
        }
    }
    out.flush()?;
    Ok(written)
}

/// CSV columns of an object: system fields, then each stored field (one
/// column per part of a composite, `companyId` for a relation).
fn csv_columns(obj: &ObjectDef) -> Vec<String> {
    let mut out: Vec<String> = ["id", "createdAt", "updatedAt", "ownerId"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for f in obj.stored_fields() {
        match f.relation_kind() {
            Some(RelationKind::ManyToOne) => out.push(format!("{}Id", f.name)),
            Some(RelationKind::Polymorphic) => {
                out.push(format!("{}Object", f.name));
                out.push(format!("{}Id", f.name));
            }
            Some(_) => {}
            None => match f.field_type.composite() {
                Some(c) => out.extend(c.parts().iter().map(|(p, _)| format!("{}.{p}", f.name))),
                None => out.push(f.name.clone()),
            },
        }
    }
    out
}

/// One CSV line, quoted where needed.
fn csv_line(fields: &[String]) -> Result<Vec<u8>, ServerError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)
        .map_err(|e| ServerError::Usage(e.to_string()))?;
    w.into_inner()
        .map_err(|e| ServerError::Usage(e.to_string()))
}

fn csv_cell(record: &Record, column: &str) -> String {
    let value = match column.split_once('.') {
        Some((k, p)) => record.get(k).and_then(|v| v.get(p)),
        None => record.get(column),
    };
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(";"),
        Some(v) => v.to_string(),
    }
}
