//! Orderings: the typed form of `orderBy` (API.md), read from the API's
//! input once ([`Order::parse_list`]), and compiled to ORDER BY keys
//! ([`order_keys`]).

use rapport_meta::{Catalog, FieldDef, FieldType, ObjectDef, RelationKind};
use serde_json::Value as Json;

use crate::columns::{Column, Scalar, field_columns, id_column, system_column};
use crate::computed::{computed_value, virtual_scalar};
use crate::error::QueryError;
use crate::filter::push_scope;
use crate::select::{ALIAS, relation_id_column};
use crate::sql::{Backend, Layout, Sql};

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

/// One ORDER BY key: a SQL expression over the main alias `t0`.
#[derive(Debug, Clone)]
pub struct OrderKey {
    pub expr: String,
    pub scalar: Scalar,
    pub desc: bool,
    pub nulls_first: bool,
}

impl OrderKey {
    pub(crate) fn reversed(&self) -> OrderKey {
        OrderKey {
            desc: !self.desc,
            nulls_first: !self.nulls_first,
            ..self.clone()
        }
    }
}

/// The ORDER BY keys of `orders`; the id always breaks ties.
pub fn order_keys(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    orders: &[Order],
) -> Result<Vec<OrderKey>, QueryError> {
    let mut keys = Vec::with_capacity(orders.len() + 1);
    for (i, order) in orders.iter().enumerate() {
        let at = Ordering {
            catalog,
            layout,
            path: format!("orderBy[{i}]"),
        };
        keys.push(at.key(object, ALIAS, order, 0)?);
    }
    keys.push(OrderKey {
        expr: format!("{ALIAS}.\"id\""),
        scalar: Scalar::Uuid,
        desc: false,
        nulls_first: false,
    });
    Ok(keys)
}

/// One element of `orderBy` being compiled, and where it stands.
struct Ordering<'a> {
    catalog: &'a Catalog,
    layout: &'a Layout,
    path: String,
}

impl Ordering<'_> {
    fn bad(&self, reason: impl Into<String>) -> QueryError {
        QueryError::bad(&self.path, reason)
    }

    /// The key of `order` on `object` at `alias`; `depth` parents down.
    fn key(
        &self,
        object: &ObjectDef,
        alias: &str,
        order: &Order,
        depth: usize,
    ) -> Result<OrderKey, QueryError> {
        let name = order.key.as_str();
        if let Some(col) = system_column(name) {
            return self.column(alias, &col, &order.by);
        }
        let Some(f) = object.field(name) else {
            if let Some(col) = relation_id_column(object, name) {
                return self.column(alias, &col, &order.by);
            }
            return Err(self.bad(format!("`{}` has no field `{name}`", object.name)));
        };
        if !f.filterable {
            return Err(self.bad("this field cannot be ordered by"));
        }
        if f.is_virtual() {
            return self.computed(object, alias, f, &order.by);
        }
        if f.relation.is_some() {
            return self.parent(alias, f, &order.by, depth);
        }
        let cols = field_columns(f);
        if f.field_type.composite().is_some() {
            let OrderBy::Nested(part) = &order.by else {
                return Err(self.bad("set exactly one sub-field"));
            };
            let col = cols
                .iter()
                .find(|c| c.part == Some(part.key.as_str()))
                .ok_or_else(|| self.bad(format!("no sub-field `{}`", part.key)))?;
            return self.column(alias, col, &part.by);
        }
        if matches!(f.field_type, FieldType::Json | FieldType::MultiSelect) {
            return Err(self.bad("json and multi-select fields cannot be ordered"));
        }
        self.column(alias, &cols[0], &order.by)
    }

    fn direction(&self, by: &OrderBy) -> Result<Direction, QueryError> {
        match by {
            OrderBy::Direction(d) => Ok(*d),
            OrderBy::Nested(_) => Err(self.bad("expects an OrderDirection")),
        }
    }

    /// A stored column; decimals are text on SQLite, ordered as numbers.
    fn column(&self, alias: &str, col: &Column, by: &OrderBy) -> Result<OrderKey, QueryError> {
        let direction = self.direction(by)?;
        let sqlite_decimal =
            self.layout.backend == Backend::Sqlite && col.scalar == Scalar::Decimal;
        Ok(OrderKey {
            expr: if sqlite_decimal {
                format!("CAST({alias}.\"{}\" AS REAL)", col.name)
            } else {
                format!("{alias}.\"{}\"", col.name)
            },
            scalar: if sqlite_decimal {
                Scalar::Float
            } else {
                col.scalar
            },
            desc: direction.descending(),
            nulls_first: direction.nulls_first(),
        })
    }

    fn computed(
        &self,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        by: &OrderBy,
    ) -> Result<OrderKey, QueryError> {
        let direction = self.direction(by)?;
        let mut scalar = virtual_scalar(f);
        if self.layout.backend == Backend::Sqlite && scalar == Scalar::Decimal {
            scalar = Scalar::Float;
        }
        Ok(OrderKey {
            expr: computed_value(self.catalog, self.layout, object, f, alias)?,
            scalar,
            desc: direction.descending(),
            nulls_first: direction.nulls_first(),
        })
    }

    /// A many-to-one parent's field, as a sub-query within the caller's
    /// record scope on the parent.
    fn parent(
        &self,
        alias: &str,
        f: &FieldDef,
        by: &OrderBy,
        depth: usize,
    ) -> Result<OrderKey, QueryError> {
        let rel = f.relation.as_ref().expect("a relation");
        if rel.kind != RelationKind::ManyToOne || depth > 2 {
            return Err(self.bad("order by a many-to-one parent's fields only"));
        }
        let parent = self
            .catalog
            .object(&rel.target)
            .ok_or_else(|| self.bad("relation target is not available"))?;
        let OrderBy::Nested(inner) = by else {
            return Err(self.bad("set exactly one parent field"));
        };
        let p = format!("o{}", depth + 1);
        let inner = self.key(parent, &p, inner, depth + 1)?;
        let mut scope = Sql::inline(self.layout.backend);
        push_scope(&mut scope, self.catalog, self.layout, parent, &p)?;
        Ok(OrderKey {
            expr: format!(
                "(SELECT {} FROM {} {p} WHERE {p}.\"id\" = {alias}.\"{}\" AND {p}.\"deletedAt\" IS NULL{})",
                inner.expr,
                self.layout.table(&parent.name),
                id_column(f),
                scope.text
            ),
            ..inner
        })
    }
}
