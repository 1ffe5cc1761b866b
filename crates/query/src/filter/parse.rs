//! Reading a filter from the API's input (JSON, as GraphQL coerced it),
//! against the catalog: each key is resolved to what it names, so the
//! typed filter says which test applies.

use rapport_meta::{Catalog, ObjectDef};
use serde_json::{Map, Value as Json};

use super::ir::{Comparison, Condition, FieldTest, Filter, OptionsTest, Quantifier};
use super::subject::{Ops, Subject, applies, part_column, part_ops, subject};
use crate::error::QueryError;

/// Filters nest at most this deep (logical combinations, parents and
/// child lists): the API's input is capped shallower, documents stored in
/// the metadata are not.
const MAX_DEPTH: usize = 64;

impl Filter {
    /// The filter `input` describes on `object`; errors name the place in
    /// the input, starting from `path` (the argument's name).
    pub fn parse(
        catalog: &Catalog,
        object: &ObjectDef,
        input: &Json,
        path: &str,
    ) -> Result<Filter, QueryError> {
        filter_at(catalog, object, input, path, 0)
    }
}

fn filter_at(
    catalog: &Catalog,
    object: &ObjectDef,
    input: &Json,
    path: &str,
    depth: usize,
) -> Result<Filter, QueryError> {
    if depth > MAX_DEPTH {
        return Err(QueryError::bad(path, "the filter nests too deep"));
    }
    let Some(entries) = input.as_object() else {
        return Err(QueryError::bad(path, "a filter is an object"));
    };
    let mut conditions = Vec::with_capacity(entries.len());
    for (key, value) in set(entries) {
        let path = format!("{path}.{key}");
        conditions.push(match key.as_str() {
            "and" | "or" => {
                let list = value
                    .as_array()
                    .ok_or_else(|| QueryError::bad(&path, "expects a list of filters"))?;
                let filters = list
                    .iter()
                    .enumerate()
                    .map(|(i, f)| filter_at(catalog, object, f, &format!("{path}[{i}]"), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "and" {
                    Condition::All(filters)
                } else {
                    Condition::Any(filters)
                }
            }
            "not" => Condition::Not(Box::new(filter_at(
                catalog,
                object,
                value,
                &path,
                depth + 1,
            )?)),
            _ => Condition::Field {
                key: key.clone(),
                test: field_test(catalog, object, (key, value), &path, depth)?,
            },
        });
    }
    Ok(Filter { conditions })
}

/// The entries of an input object that are set (not null).
fn set(entries: &Map<String, Json>) -> impl Iterator<Item = (&String, &Json)> {
    entries.iter().filter(|(_, v)| !v.is_null())
}

/// The set entries of `value`, which must be an object (else `expects`).
fn entries<'v>(
    value: &'v Json,
    path: &str,
    expects: &str,
) -> Result<Vec<(&'v String, &'v Json)>, QueryError> {
    let object = value
        .as_object()
        .ok_or_else(|| QueryError::bad(path, expects))?;
    Ok(set(object).collect())
}

fn field_test(
    catalog: &Catalog,
    object: &ObjectDef,
    (key, value): (&str, &Json),
    path: &str,
    depth: usize,
) -> Result<FieldTest, QueryError> {
    Ok(match subject(catalog, object, key, path)? {
        Subject::Column(_, ops) | Subject::Computed(_, ops) => {
            FieldTest::Compare(comparisons(ops, value, path)?)
        }
        Subject::Options(_) => FieldTest::Options(options(value, path)?),
        Subject::Parts(f) => {
            let mut parts = Vec::new();
            for (part, v) in entries(value, path, "expects one filter per sub-field")? {
                let col = part_column(f, part, path)?;
                let ops = comparisons(part_ops(&col), v, &format!("{path}.{part}"))?;
                parts.push((part.clone(), ops));
            }
            FieldTest::Parts(parts)
        }
        Subject::Parent(_, target) => FieldTest::Parent(Box::new(filter_at(
            catalog,
            target,
            value,
            path,
            depth + 1,
        )?)),
        Subject::Children(_, child) => {
            let mut tests = Vec::new();
            for (name, inner) in entries(value, path, "expects `some`, `none` or `every`")? {
                let qpath = format!("{path}.{name}");
                let quantifier = match name.as_str() {
                    "some" => Quantifier::Some,
                    "none" => Quantifier::None,
                    "every" => Quantifier::Every,
                    _ => return Err(QueryError::bad(&qpath, "expects `some`, `none` or `every`")),
                };
                tests.push((
                    quantifier,
                    filter_at(catalog, child, inner, &qpath, depth + 1)?,
                ));
            }
            FieldTest::Children(tests)
        }
    })
}

/// A scalar filter's operators, each checked to apply to a value of kind `ops`.
fn comparisons(ops: Ops, value: &Json, path: &str) -> Result<Vec<Comparison>, QueryError> {
    let mut out = Vec::new();
    for (op, v) in entries(value, path, "expects an object of operators")? {
        let opath = format!("{path}.{op}");
        if !applies(ops, op) {
            return Err(QueryError::bad(
                &opath,
                "operator does not apply to this field",
            ));
        }
        let list = || {
            v.as_array()
                .cloned()
                .ok_or_else(|| QueryError::bad(&opath, "expects a list"))
        };
        let text = || {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| QueryError::bad(&opath, "expects a string"))
        };
        out.push(match op.as_str() {
            "eq" => Comparison::Eq(v.clone()),
            "neq" => Comparison::Neq(v.clone()),
            "gt" => Comparison::Gt(v.clone()),
            "gte" => Comparison::Gte(v.clone()),
            "lt" => Comparison::Lt(v.clone()),
            "lte" => Comparison::Lte(v.clone()),
            "in" => Comparison::In(list()?),
            "notIn" => Comparison::NotIn(list()?),
            "isNull" => Comparison::IsNull(
                v.as_bool()
                    .ok_or_else(|| QueryError::bad(&opath, "expects a boolean"))?,
            ),
            "like" => Comparison::Like(v.clone()),
            "ilike" => Comparison::ILike(v.clone()),
            "startsWith" => Comparison::StartsWith(text()?),
            "endsWith" => Comparison::EndsWith(text()?),
            _ => Comparison::Contains(text()?),
        });
    }
    Ok(out)
}

/// A multi-select filter's operators.
fn options(value: &Json, path: &str) -> Result<Vec<OptionsTest>, QueryError> {
    let mut out = Vec::new();
    for (op, v) in entries(value, path, "expects an object of operators")? {
        let opath = format!("{path}.{op}");
        let names = || -> Result<Vec<String>, QueryError> {
            v.as_array()
                .ok_or_else(|| QueryError::bad(&opath, "expects a list"))?
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| QueryError::bad(&opath, "expects a list of options"))
        };
        out.push(match op.as_str() {
            "isEmpty" => OptionsTest::IsEmpty(
                v.as_bool()
                    .ok_or_else(|| QueryError::bad(&opath, "expects a boolean"))?,
            ),
            "containsAny" => OptionsTest::ContainsAny(names()?),
            "containsAll" => OptionsTest::ContainsAll(names()?),
            _ => {
                return Err(QueryError::bad(
                    &opath,
                    "operator does not apply to this field",
                ));
            }
        });
    }
    Ok(out)
}
