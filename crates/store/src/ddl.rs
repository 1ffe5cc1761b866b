//! DDL per backend, planned as statement text and run inside the metadata
//! change's transaction. Every ALTER is one operation per statement, which
//! both SQLite and PostgreSQL support, so no table rebuild is ever needed.

use rapport_meta::{FieldDef, FieldType, ObjectDef, RelationKind};
use rapport_query::{Backend, Column, Layout, Scalar, field_columns, record_columns};
use sha2::{Digest, Sha256};

pub(crate) fn column_type(backend: Backend, scalar: Scalar) -> &'static str {
    match (backend, scalar) {
        (Backend::Postgres, Scalar::Text) => "text",
        (Backend::Postgres, Scalar::Int) => "bigint",
        (Backend::Postgres, Scalar::Float) => "double precision",
        (Backend::Postgres, Scalar::Decimal) => "numeric",
        (Backend::Postgres, Scalar::Bool) => "boolean",
        (Backend::Postgres, Scalar::Date) => "date",
        (Backend::Postgres, Scalar::DateTime) => "timestamptz",
        (Backend::Postgres, Scalar::Json) => "jsonb",
        (Backend::Postgres, Scalar::Uuid) => "uuid",
        (Backend::Sqlite, Scalar::Int) => "INTEGER",
        (Backend::Sqlite, Scalar::Float) => "REAL",
        (Backend::Sqlite, Scalar::Bool) => "BOOLEAN",
        // Decimals, dates, date-times, JSON and ids are text on SQLite.
        (Backend::Sqlite, _) => "TEXT",
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn column_def(backend: Backend, c: &Column) -> String {
    let mut def = format!("{} {}", quote(&c.name), column_type(backend, c.scalar));
    match c.name.as_str() {
        "id" => def.push_str(" PRIMARY KEY"),
        "createdAt" | "updatedAt" => def.push_str(" NOT NULL"),
        "version" => def.push_str(" NOT NULL DEFAULT 1"),
        _ => {}
    }
    def
}

/// Index names fit PostgreSQL's 63 bytes and are unique per workspace.
fn index_name(layout: &Layout, table: &str, column: &str, unique: bool) -> String {
    let digest = Sha256::digest(format!("{}.{table}.{column}", layout.namespace).as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let prefix: String = format!("{table}_{column}").chars().take(40).collect();
    format!("{}_{prefix}_{hex}", if unique { "uq" } else { "ix" })
}

pub(crate) fn create_namespace(layout: &Layout) -> Vec<String> {
    match layout.backend {
        Backend::Postgres => vec![format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote(&layout.namespace)
        )],
        Backend::Sqlite => Vec::new(),
    }
}

pub(crate) fn create_object(layout: &Layout, object: &ObjectDef) -> Vec<String> {
    let cols: Vec<String> = record_columns(object)
        .iter()
        .map(|c| column_def(layout.backend, c))
        .collect();
    let mut out = vec![format!(
        "CREATE TABLE {} ({})",
        layout.table(&object.name),
        cols.join(", ")
    )];
    out.push(deleted_at_index(layout, &object.name));
    for f in object.fields.iter().filter(|f| !f.generated) {
        out.extend(field_indexes(layout, object, f));
        out.extend(junction(layout, object, f));
    }
    out
}

/// The index of deleted records, for the trash and purges. Partial: live
/// records (nearly all) are not in it, so a write of one pays no entry, and
/// a look-up of live records cannot pick it. SQLite, without statistics,
/// took the full index for `"deletedAt" IS NULL` and scanned every row to
/// check 500 ids; PostgreSQL did the same on stale statistics.
pub(crate) fn deleted_at_index(layout: &Layout, table: &str) -> String {
    format!(
        "{} WHERE \"deletedAt\" IS NOT NULL",
        create_index(layout, table, "deletedAt", false)
    )
}

fn create_index(layout: &Layout, table: &str, column: &str, unique: bool) -> String {
    let name = index_name(layout, table, column, unique);
    let name = match layout.backend {
        Backend::Postgres => quote(&name),
        // SQLite indexes live in the schema of their table; prefix keeps them per workspace.
        Backend::Sqlite => quote(&format!("{}__{name}", layout.namespace)),
    };
    format!(
        "CREATE {}INDEX {name} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        layout.table(table),
        quote(column)
    )
}

pub(crate) fn drop_index(layout: &Layout, table: &str, column: &str, unique: bool) -> String {
    let name = index_name(layout, table, column, unique);
    match layout.backend {
        Backend::Postgres => format!(
            "DROP INDEX IF EXISTS {}.{}",
            quote(&layout.namespace),
            quote(&name)
        ),
        Backend::Sqlite => format!(
            "DROP INDEX IF EXISTS {}",
            quote(&format!("{}__{name}", layout.namespace))
        ),
    }
}

/// Indexes a field wants: its relation id column, and any unique or indexed column.
pub(crate) fn field_indexes(layout: &Layout, object: &ObjectDef, f: &FieldDef) -> Vec<String> {
    index_plan(f)
        .into_iter()
        .map(|(col, unique)| create_index(layout, &object.name, &col, unique))
        .collect()
}

pub(crate) fn drop_field_indexes(layout: &Layout, object: &ObjectDef, f: &FieldDef) -> Vec<String> {
    index_plan(f)
        .into_iter()
        .map(|(col, unique)| drop_index(layout, &object.name, &col, unique))
        .collect()
}

fn index_plan(f: &FieldDef) -> Vec<(String, bool)> {
    let cols = field_columns(f);
    match f.relation_kind() {
        Some(RelationKind::ManyToOne) => vec![(cols[0].name.clone(), f.unique)],
        Some(RelationKind::Polymorphic) => vec![(cols[1].name.clone(), false)],
        Some(_) => Vec::new(),
        None if f.unique || f.field_type == FieldType::AutoNumber => {
            vec![(cols[0].name.clone(), true)]
        }
        None if f.indexed => cols.iter().map(|c| (c.name.clone(), false)).collect(),
        None => Vec::new(),
    }
}

/// The junction table of a many-to-many relation owned by `f`.
pub(crate) fn junction(layout: &Layout, object: &ObjectDef, f: &FieldDef) -> Vec<String> {
    if f.relation_kind() != Some(RelationKind::ManyToMany) || f.generated {
        return Vec::new();
    }
    let table = Layout::junction_name(&object.name, &f.name);
    let id = column_type(layout.backend, Scalar::Uuid);
    vec![
        format!(
            "CREATE TABLE {} (\"sourceId\" {id} NOT NULL, \"targetId\" {id} NOT NULL, PRIMARY KEY (\"sourceId\", \"targetId\"))",
            layout.table(&table)
        ),
        create_index(layout, &table, "targetId", false),
    ]
}

pub(crate) fn add_field(layout: &Layout, object: &ObjectDef, f: &FieldDef) -> Vec<String> {
    let mut out: Vec<String> = field_columns(f)
        .iter()
        .map(|c| {
            format!(
                "ALTER TABLE {} ADD COLUMN {}",
                layout.table(&object.name),
                column_def(layout.backend, c)
            )
        })
        .collect();
    out.extend(field_indexes(layout, object, f));
    out.extend(junction(layout, object, f));
    out
}

pub(crate) fn rename_column(layout: &Layout, table: &str, from: &str, to: &str) -> String {
    format!(
        "ALTER TABLE {} RENAME COLUMN {} TO {}",
        layout.table(table),
        quote(from),
        quote(to)
    )
}

pub(crate) fn drop_column(layout: &Layout, table: &str, column: &str) -> String {
    format!(
        "ALTER TABLE {} DROP COLUMN {}",
        layout.table(table),
        quote(column)
    )
}

pub(crate) fn add_column(layout: &Layout, table: &str, c: &Column) -> String {
    format!(
        "ALTER TABLE {} ADD COLUMN {}",
        layout.table(table),
        column_def(layout.backend, c)
    )
}

pub(crate) fn drop_table(layout: &Layout, table: &str) -> String {
    format!("DROP TABLE IF EXISTS {}", layout.table(table))
}
