//! The metadata model of Rapport: object types and fields read from JSON Schema
//! documents (METADATA.md), checked against the meta-schema, and gathered into a
//! workspace [`Catalog`] with generated inverse relations.

mod catalog;
mod error;
mod formula;
mod model;
mod parse;
mod validate;

pub use catalog::Catalog;
pub use error::MetaError;
pub use formula::{BinOp, Expr, ValueType, parse_formula, paths as formula_paths};
pub use model::{
    AggregateFn, Composite, Computed, FieldDef, FieldType, ObjectDef, OnDelete, Relation,
    RelationKind, SYSTEM_FIELDS, SelectOption,
};
pub use parse::{check_name, export_document, parse_document, parse_field_property};
pub use validate::{InputError, RecordValidator};
