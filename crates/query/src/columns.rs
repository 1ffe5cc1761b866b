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
            name: format!("{}Id", f.name),
            scalar: Scalar::Uuid,
            key: format!("{}Id", f.name),
            part: None,
        }],
        Some(RelationKind::Polymorphic) => vec![
            Column {
                name: format!("{}Object", f.name),
                scalar: Scalar::Text,
                key: format!("{}Object", f.name),
                part: None,
            },
            Column {
                name: format!("{}Id", f.name),
                scalar: Scalar::Uuid,
                key: format!("{}Id", f.name),
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
