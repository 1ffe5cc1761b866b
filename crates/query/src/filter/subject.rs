//! What a filter key names on an object, decided in one place for reading a
//! filter and for compiling it.

use rapport_meta::{Catalog, FieldDef, FieldType, ObjectDef, RelationKind};

use crate::columns::{Column, Scalar, field_columns, system_column};
use crate::error::QueryError;

/// The operators a comparable value takes.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Ops {
    Text,
    Ordered,
    Bool,
    Id,
    Enum,
}

pub(super) enum Subject<'a> {
    /// A stored column: a system column, a scalar field, a relation's id
    /// (or, for a polymorphic one, object) column.
    Column(Column, Ops),
    /// A formula or rollup, compared like a column of its result type.
    Computed(&'a FieldDef, Ops),
    /// A multi-select (a JSON array column).
    Options(Column),
    /// A composite, by sub-field.
    Parts(&'a FieldDef),
    /// A many-to-one relation and its target.
    Parent(&'a FieldDef, &'a ObjectDef),
    /// A one-to-many or many-to-many list and its target.
    Children(&'a FieldDef, &'a ObjectDef),
}

/// What `key` names on `object`; `path` places an error in the input.
pub(super) fn subject<'a>(
    catalog: &'a Catalog,
    object: &'a ObjectDef,
    key: &str,
    path: &str,
) -> Result<Subject<'a>, QueryError> {
    if let Some(col) = system_column(key) {
        let ops = if col.scalar == Scalar::Uuid {
            Ops::Id
        } else {
            Ops::Ordered
        };
        return Ok(Subject::Column(col, ops));
    }
    if let Some(f) = object.field(key) {
        if f.is_virtual() {
            let ops = match f.value_type() {
                FieldType::Boolean => Ops::Bool,
                t if t.is_textual() => Ops::Text,
                _ => Ops::Ordered,
            };
            return Ok(Subject::Computed(f, ops));
        }
        return field_subject(catalog, f, path);
    }
    // `companyId` of relation `company`, `relatedObject`/`relatedId` of a polymorphic one.
    for f in object.fields.iter().filter(|f| f.relation.is_some()) {
        if let Some(col) = field_columns(f).into_iter().find(|c| c.key == key) {
            let ops = if col.scalar == Scalar::Uuid {
                Ops::Id
            } else {
                Ops::Text
            };
            return Ok(Subject::Column(col, ops));
        }
    }
    Err(QueryError::bad(
        path,
        format!("`{}` has no field `{key}`", object.name),
    ))
}

fn field_subject<'a>(
    catalog: &'a Catalog,
    f: &'a FieldDef,
    path: &str,
) -> Result<Subject<'a>, QueryError> {
    if !f.filterable {
        return Err(QueryError::bad(path, "this field cannot be filtered on"));
    }
    if let Some(rel) = &f.relation {
        let target = || {
            catalog.object(&rel.target).ok_or_else(|| {
                QueryError::bad(path, format!("object `{}` is not available", rel.target))
            })
        };
        return match rel.kind {
            RelationKind::ManyToOne => Ok(Subject::Parent(f, target()?)),
            RelationKind::OneToMany | RelationKind::ManyToMany => {
                Ok(Subject::Children(f, target()?))
            }
            RelationKind::Polymorphic => Err(QueryError::bad(
                path,
                format!("filter on `{0}Object` and `{0}Id`", f.name),
            )),
        };
    }
    if f.field_type.composite().is_some() {
        return Ok(Subject::Parts(f));
    }
    let col = field_columns(f).swap_remove(0);
    Ok(match f.field_type {
        FieldType::MultiSelect => Subject::Options(col),
        FieldType::Json => return Err(QueryError::bad(path, "json fields cannot be filtered")),
        FieldType::Select => Subject::Column(col, Ops::Enum),
        FieldType::Boolean => Subject::Column(col, Ops::Bool),
        t if t.is_textual() => Subject::Column(col, Ops::Text),
        _ => Subject::Column(col, Ops::Ordered),
    })
}

/// The column of a composite's sub-field `part`.
pub(super) fn part_column(f: &FieldDef, part: &str, path: &str) -> Result<Column, QueryError> {
    field_columns(f)
        .into_iter()
        .find(|c| c.part == Some(part))
        .ok_or_else(|| {
            let type_name = f
                .field_type
                .composite()
                .map(|c| c.type_name())
                .unwrap_or("");
            QueryError::bad(path, format!("{type_name} has no `{part}`"))
        })
}

/// The operators a composite's sub-field column takes.
pub(super) fn part_ops(col: &Column) -> Ops {
    if col.scalar == Scalar::Text {
        Ops::Text
    } else {
        Ops::Ordered
    }
}

/// Whether an operator (by its API name) applies to a value of kind `ops`.
pub(super) fn applies(ops: Ops, operator: &str) -> bool {
    match operator {
        "eq" | "isNull" => true,
        "neq" | "in" | "notIn" => ops != Ops::Bool,
        "gt" | "gte" | "lt" | "lte" => ops == Ops::Ordered,
        "like" | "ilike" | "startsWith" | "endsWith" | "contains" => ops == Ops::Text,
        _ => false,
    }
}
