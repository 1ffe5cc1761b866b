//! The filter IR. It mirrors the API's input: a filter is a conjunction of
//! conditions, each a logical combination or a test on one field, so a
//! filter built here compiles to the SQL its input form would.

use serde_json::Value as Json;

/// Every condition holds (no condition: every record matches).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `and: [...]`: every filter matches (an empty list: always true).
    All(Vec<Filter>),
    /// `or: [...]`: some filter matches (an empty list: never).
    Any(Vec<Filter>),
    Not(Box<Filter>),
    /// A test on the field, system column or relation column named `key`.
    Field {
        key: String,
        test: FieldTest,
    },
}

/// What is tested of one field; which applies is decided by the field's
/// type when the filter is read.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldTest {
    /// Scalar comparisons, all of which hold.
    Compare(Vec<Comparison>),
    /// A composite's sub-fields (`amount: { amount: { gt: 5 } }`).
    Parts(Vec<(String, Vec<Comparison>)>),
    /// A multi-select's options.
    Options(Vec<OptionsTest>),
    /// A many-to-one parent that exists, is visible and matches.
    Parent(Box<Filter>),
    /// A child list, quantified.
    Children(Vec<(Quantifier, Filter)>),
}

/// One operator of a scalar filter. Operands are the API's JSON scalars,
/// encoded for the column's type and database when compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Eq(Json),
    Neq(Json),
    Gt(Json),
    Gte(Json),
    Lt(Json),
    Lte(Json),
    In(Vec<Json>),
    NotIn(Vec<Json>),
    IsNull(bool),
    /// A `LIKE` pattern; `\` escapes `%` and `_`.
    Like(Json),
    ILike(Json),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptionsTest {
    ContainsAny(Vec<String>),
    ContainsAll(Vec<String>),
    IsEmpty(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Some,
    None,
    Every,
}

impl Filter {
    /// The filter every record matches.
    pub fn everything() -> Filter {
        Filter::default()
    }

    /// The filter no record matches (an empty `id in`).
    pub fn nothing() -> Filter {
        Filter::compare("id", Comparison::In(Vec::new()))
    }

    /// One comparison on `key`.
    pub fn compare(key: impl Into<String>, comparison: Comparison) -> Filter {
        Filter::test(key, FieldTest::Compare(vec![comparison]))
    }

    /// `key = value`.
    pub fn eq(key: impl Into<String>, value: impl Into<Json>) -> Filter {
        Filter::compare(key, Comparison::Eq(value.into()))
    }

    /// `key <> value`.
    pub fn neq(key: impl Into<String>, value: impl Into<Json>) -> Filter {
        Filter::compare(key, Comparison::Neq(value.into()))
    }

    /// `key` is one of `values`.
    pub fn one_of<V: Into<Json>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        Filter::compare(
            key,
            Comparison::In(values.into_iter().map(Into::into).collect()),
        )
    }

    /// `key` equals `text`, ignoring case (and matching no wildcard).
    pub fn equals_ignoring_case(key: impl Into<String>, text: &str) -> Filter {
        Filter::compare(
            key,
            Comparison::ILike(Json::String(super::escape_like(text))),
        )
    }

    /// One test on `key`.
    pub fn test(key: impl Into<String>, test: FieldTest) -> Filter {
        Filter {
            conditions: vec![Condition::Field {
                key: key.into(),
                test,
            }],
        }
    }

    /// Every filter matches.
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter {
            conditions: vec![Condition::All(filters.into_iter().collect())],
        }
    }

    /// Some filter matches.
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter {
            conditions: vec![Condition::Any(filters.into_iter().collect())],
        }
    }
}

impl Comparison {
    /// The operator's name in the API.
    pub fn operator(&self) -> &'static str {
        match self {
            Comparison::Eq(_) => "eq",
            Comparison::Neq(_) => "neq",
            Comparison::Gt(_) => "gt",
            Comparison::Gte(_) => "gte",
            Comparison::Lt(_) => "lt",
            Comparison::Lte(_) => "lte",
            Comparison::In(_) => "in",
            Comparison::NotIn(_) => "notIn",
            Comparison::IsNull(_) => "isNull",
            Comparison::Like(_) => "like",
            Comparison::ILike(_) => "ilike",
            Comparison::StartsWith(_) => "startsWith",
            Comparison::EndsWith(_) => "endsWith",
            Comparison::Contains(_) => "contains",
        }
    }
}

impl Quantifier {
    pub fn name(self) -> &'static str {
        match self {
            Quantifier::Some => "some",
            Quantifier::None => "none",
            Quantifier::Every => "every",
        }
    }
}

impl Filter {
    /// This filter and `other` both match (their conditions side by side).
    pub fn and(mut self, other: Filter) -> Filter {
        self.conditions.extend(other.conditions);
        self
    }
}
