use rapport_meta::{FieldDef, FieldType, ObjectDef, RelationKind};

/// How a column is stored and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Text,
    Int,
    Float,
    Decimal,
    Bool,
    Date,
    DateTime,
    Json,
    Uuid,
}

impl Scalar {
    pub fn of(t: FieldType) -> Scalar {
        match t {
            FieldType::Integer | FieldType::Rating => Scalar::Int,
            FieldType::Number | FieldType::Percent => Scalar::Float,
            FieldType::Decimal => Scalar::Decimal,
            FieldType::Boolean => Scalar::Bool,
            FieldType::Date => Scalar::Date,
            FieldType::DateTime => Scalar::DateTime,
            FieldType::Json | FieldType::MultiSelect => Scalar::Json,
            _ => Scalar::Text,
        }
    }
}

/// One physical column and the field (and sub-field) it stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub scalar: Scalar,
    /// The GraphQL-side key: `companyId`, `amount`, `name`.
    pub key: String,
    /// For composites, the sub-field (`currencyCode`).
    pub part: Option<&'static str>,
}

/// Columns of one stored field: composites expand to `name__part`, a
/// many-to-one to `nameId`, a polymorphic relation to `nameObject` + `nameId`.
pub fn field_columns(f: &FieldDef) -> Vec<Column> {
    if let Some(composite) = f.field_type.composite() {
        return composite
            .parts()
            .iter()
            .map(|(part, t)| Column {
                name: format!("{}__{}", f.name, part),
                scalar: Scalar::of(*t),
                key: f.name.clone(),
                part: Some(part),
            })
            .collect();
    }
    match f.relation_kind() {
        Some(RelationKind::ManyToOne) => vec![Column {
            name: id_column(f),
            scalar: Scalar::Uuid,
            key: id_column(f),
            part: None,
        }],
        Some(RelationKind::Polymorphic) => vec![
            Column {
                name: object_column(f),
                scalar: Scalar::Text,
                key: object_column(f),
                part: None,
            },
            Column {
                name: id_column(f),
                scalar: Scalar::Uuid,
                key: id_column(f),
                part: None,
            },
        ],
        Some(_) => Vec::new(),
        None => vec![Column {
            name: f.name.clone(),
            scalar: Scalar::of(f.field_type),
            key: f.name.clone(),
            part: None,
        }],
    }
}

/// The column holding the id a many-to-one or polymorphic relation points
/// at (`companyId`); also its key in records and filters.
pub fn id_column(f: &FieldDef) -> String {
    format!("{}Id", f.name)
}

/// The column naming the object a polymorphic relation points at
/// (`relatedObject`).
pub fn object_column(f: &FieldDef) -> String {
    format!("{}Object", f.name)
}

/// The columns of a junction table: `(this side, the other side)` of a
/// many-to-many relation, seen from field `f` (its generated inverse sees
/// the link from the target's side).
pub fn junction_columns(f: &FieldDef) -> (&'static str, &'static str) {
    if f.generated {
        ("targetId", "sourceId")
    } else {
        ("sourceId", "targetId")
    }
}

/// The junction (by name, for [`crate::Layout::table`]) holding the links of
/// many-to-many field `f` of `object`: the relation's owner's, which the
/// generated inverse shares.
pub fn junction_of(object: &str, f: &FieldDef) -> String {
    let rel = f.relation.as_ref();
    match rel {
        Some(rel) if f.generated => crate::sql::Layout::junction_name(
            &rel.target,
            rel.inverse.as_deref().unwrap_or_default(),
        ),
        _ => crate::sql::Layout::junction_name(object, &f.name),
    }
}

pub(crate) fn system_column(name: &str) -> Option<Column> {
    let scalar = match name {
        "id" | "ownerId" => Scalar::Uuid,
        "createdAt" | "updatedAt" | "deletedAt" => Scalar::DateTime,
        "version" => Scalar::Int,
        "createdBy" => Scalar::Text,
        _ => return None,
    };
    Some(Column {
        name: name.to_string(),
        scalar,
        key: name.to_string(),
        part: None,
    })
}

pub const SYSTEM_COLUMNS: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "version",
    "ownerId",
    "createdBy",
];

/// Every column of an object's table, system columns first.
pub fn record_columns(object: &ObjectDef) -> Vec<Column> {
    let mut cols: Vec<Column> = SYSTEM_COLUMNS
        .iter()
        .filter_map(|n| system_column(n))
        .collect();
    for f in object.stored_fields() {
        cols.extend(field_columns(f));
    }
    cols
}
