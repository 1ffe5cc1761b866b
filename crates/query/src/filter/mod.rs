//! Filters: the typed form of a `<Type>Filter` (API.md), read from the API's
//! input once against the catalog ([`Filter::parse`]) or built by the layers
//! above with constructors, and compiled to a SQL boolean expression.

mod compile;
mod ir;
mod parse;
mod subject;

pub use compile::{compile_filter, escape_like};
pub(crate) use compile::{compile_filter_with_prefix, push_scope};
pub use ir::{Comparison, Condition, FieldTest, Filter, OptionsTest, Quantifier};
