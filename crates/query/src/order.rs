//! Orderings: the typed form of `orderBy` (API.md), read from the API's
//! input once ([`Order::parse_list`]) and compiled to ORDER BY keys in
//! `select`.

use serde_json::Value as Json;

use crate::error::QueryError;

/// One element of `orderBy`: a field and its direction, or, for a
/// many-to-one parent or a composite, the element one level down.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub key: String,
    pub by: OrderBy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderBy {
    Direction(Direction),
    /// A parent's field or a composite's sub-field.
    Nested(Box<Order>),
}

/// `ASC` puts nulls last and `DESC` first, as PostgreSQL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    AscNullsFirst,
    Desc,
    DescNullsLast,
}

/// Parents nest at most this deep in one element (the compiler takes
/// three levels; the rest is refused there with its reason).
const MAX_NESTING: usize = 4;

impl Direction {
    pub fn parse(name: &str) -> Option<Direction> {
        Some(match name {
            "ASC" | "ASC_NULLS_LAST" => Direction::Asc,
            "ASC_NULLS_FIRST" => Direction::AscNullsFirst,
            "DESC" | "DESC_NULLS_FIRST" => Direction::Desc,
            "DESC_NULLS_LAST" => Direction::DescNullsLast,
            _ => return None,
        })
    }

    pub fn descending(self) -> bool {
        matches!(self, Direction::Desc | Direction::DescNullsLast)
    }

    pub fn nulls_first(self) -> bool {
        matches!(self, Direction::AscNullsFirst | Direction::Desc)
    }
}

impl Order {
    /// `key` in `direction`.
    pub fn by(key: impl Into<String>, direction: Direction) -> Order {
        Order {
            key: key.into(),
            by: OrderBy::Direction(direction),
        }
    }

    /// The elements of an `orderBy` argument: a list, or one element alone
    /// (GraphQL's list coercion).
    pub fn parse_list(input: &Json) -> Result<Vec<Order>, QueryError> {
        let items = match input {
            Json::Null => return Ok(Vec::new()),
            Json::Array(a) => a.as_slice(),
            Json::Object(_) => std::slice::from_ref(input),
            _ => return Err(QueryError::bad("orderBy", "expects a list")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("orderBy[{i}]");
                let (key, value) = only_entry(item)
                    .ok_or_else(|| QueryError::bad(&path, "set exactly one field per element"))?;
                Order::parse_element(key, value, &path, 0)
            })
            .collect()
    }

    fn parse_element(
        key: &str,
        value: &Json,
        path: &str,
        depth: usize,
    ) -> Result<Order, QueryError> {
        let by = match value {
            Json::String(name) => OrderBy::Direction(
                Direction::parse(name)
                    .ok_or_else(|| QueryError::bad(path, "expects an OrderDirection"))?,
            ),
            Json::Object(_) if depth < MAX_NESTING => {
                let (inner, value) = only_entry(value).ok_or_else(|| {
                    QueryError::bad(path, format!("set exactly one field of `{key}`"))
                })?;
                OrderBy::Nested(Box::new(Order::parse_element(
                    inner,
                    value,
                    path,
                    depth + 1,
                )?))
            }
            Json::Object(_) => {
                return Err(QueryError::bad(
                    path,
                    "order by a many-to-one parent's fields only",
                ));
            }
            _ => return Err(QueryError::bad(path, "expects an OrderDirection")),
        };
        Ok(Order {
            key: key.to_string(),
            by,
        })
    }
}

/// The one entry of an input object that is set.
fn only_entry(input: &Json) -> Option<(&str, &Json)> {
    let mut set = input.as_object()?.iter().filter(|(_, v)| !v.is_null());
    match (set.next(), set.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}
