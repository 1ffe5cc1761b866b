//! SQL for computed fields: formulas and rollups are expressions evaluated on
//! read (so they are always current, and filter and sort like columns);
//! values are inlined as literals so an expression is plain text that can be
//! reused wherever a column could stand.

use rapport_meta::{
    AggregateFn, BinOp, Catalog, Computed, Expr, FieldDef, FieldType, ObjectDef, RelationKind,
};
use serde_json::Value as Json;

use crate::columns::{Column, Scalar, field_columns, id_column};
use crate::error::QueryError;
use crate::filter::{Filter, compile_filter_with_prefix};
use crate::select::ChildLink;
use crate::sql::{Backend, Layout, Sql};

/// Computed fields may build on each other; this bounds the nesting.
const MAX_DEPTH: usize = 6;

/// The scalar a virtual field reads as.
pub fn virtual_scalar(f: &FieldDef) -> Scalar {
    Scalar::of(f.value_type())
}

fn quote_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn literal(v: &Json) -> Option<String> {
    match v {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) => Some(quote_text(s)),
        Json::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
        _ => None,
    }
}

struct Ctx<'a> {
    catalog: &'a Catalog,
    layout: &'a Layout,
}

impl Ctx<'_> {
    fn pg(&self) -> bool {
        self.layout.backend == Backend::Postgres
    }

    /// A column as a comparable value: decimals are numbers on SQLite too.
    fn column(&self, alias: &str, c: &Column) -> String {
        if !self.pg() && c.scalar == Scalar::Decimal {
            format!("CAST({alias}.\"{}\" AS REAL)", c.name)
        } else {
            format!("{alias}.\"{}\"", c.name)
        }
    }

    /// ` AND (…)`: the caller's record scope on `object` at `alias`, so a
    /// computed value never reads a record the caller cannot see.
    fn scope(&self, object: &ObjectDef, alias: &str) -> Result<String, QueryError> {
        let Some(scope) = self.layout.scope(&object.name) else {
            return Ok(String::new());
        };
        let mut inline = Sql::inline(self.layout.backend);
        compile_filter_with_prefix(
            &mut inline,
            self.catalog,
            self.layout,
            object,
            alias,
            scope,
            &format!("{alias}s"),
        )?;
        Ok(format!(" AND ({})", inline.text))
    }

    fn field_value(
        &self,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        depth: usize,
    ) -> Result<String, QueryError> {
        if f.is_virtual() {
            return self.virtual_value(object, alias, f, depth + 1);
        }
        let cols = field_columns(f);
        let col = match f.field_type {
            FieldType::Currency => cols.iter().find(|c| c.part == Some("amount")),
            _ => cols.first(),
        }
        .ok_or_else(|| QueryError::bad(&f.name, "has no value to compute with"))?;
        Ok(self.column(alias, col))
    }

    fn path(
        &self,
        object: &ObjectDef,
        alias: &str,
        path: &[String],
        depth: usize,
    ) -> Result<String, QueryError> {
        let Some(f) = object.field(&path[0]) else {
            return Ok(format!("{alias}.\"{}\"", path[0]));
        };
        let rest = &path[1..];
        if let Some(rel) = f
            .relation
            .as_ref()
            .filter(|r| r.kind == RelationKind::ManyToOne)
        {
            let target = self
                .catalog
                .object(&rel.target)
                .ok_or_else(|| QueryError::bad(&f.name, "relation target is not available"))?;
            let p = format!("p{depth}");
            let inner = self.path(target, &p, rest, depth + 1)?;
            return Ok(format!(
                "(SELECT {inner} FROM {} {p} WHERE {p}.\"id\" = {alias}.\"{}\" AND {p}.\"deletedAt\" IS NULL{})",
                self.layout.table(&target.name),
                id_column(f),
                self.scope(target, &p)?
            ));
        }
        if let (Some(_), [part]) = (f.field_type.composite(), rest) {
            let col = field_columns(f)
                .into_iter()
                .find(|c| c.part == Some(part.as_str()));
            let col = col.ok_or_else(|| QueryError::bad(&f.name, format!("no part `{part}`")))?;
            return Ok(self.column(alias, &col));
        }
        if let (FieldType::Select, [attr]) = (f.field_type, rest) {
            let mut case = format!("CASE {alias}.\"{}\"", f.name);
            for o in &f.options {
                if let Some(v) = o.raw.get(attr).and_then(literal) {
                    case.push_str(&format!(" WHEN {} THEN {v}", quote_text(&o.value)));
                }
            }
            case.push_str(" END");
            return Ok(case);
        }
        self.field_value(object, alias, f, depth)
    }

    fn expr(
        &self,
        object: &ObjectDef,
        alias: &str,
        e: &Expr,
        depth: usize,
    ) -> Result<String, QueryError> {
        let pg = self.pg();
        let sub = |x: &Expr| self.expr(object, alias, x, depth);
        Ok(match e {
            Expr::Number(n) => n.clone(),
            Expr::Text(s) => quote_text(s),
            Expr::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Expr::Null => "NULL".into(),
            Expr::Path(p) => self.path(object, alias, p, depth)?,
            Expr::Neg(x) => format!("(-{})", sub(x)?),
            Expr::Not(x) => format!("(NOT {})", sub(x)?),
            Expr::Binary(BinOp::Div, a, b) => {
                // Division is never integer division, and by zero gives null.
                let ty = if pg { "numeric" } else { "REAL" };
                format!("(CAST({} AS {ty}) / NULLIF({}, 0))", sub(a)?, sub(b)?)
            }
            Expr::Binary(op, a, b) => format!("({} {} {})", sub(a)?, op.sql(), sub(b)?),
            Expr::Call(name, args) => {
                let a = args.iter().map(sub).collect::<Result<Vec<_>, _>>()?;
                match name.as_str() {
                    "if" => format!("(CASE WHEN {} THEN {} ELSE {} END)", a[0], a[1], a[2]),
                    "coalesce" => format!("COALESCE({})", a.join(", ")),
                    "concat" if pg => format!("concat({})", a.join(", ")),
                    "concat" => {
                        let parts: Vec<String> = a
                            .iter()
                            .map(|x| format!("COALESCE(CAST({x} AS TEXT), '')"))
                            .collect();
                        format!("({})", parts.join(" || "))
                    }
                    "daysBetween" if pg => {
                        format!("(CAST({} AS date) - CAST({} AS date))", a[1], a[0])
                    }
                    "daysBetween" => format!(
                        "CAST(julianday(substr({}, 1, 10)) - julianday(substr({}, 1, 10)) AS INTEGER)",
                        a[1], a[0]
                    ),
                    "today" if pg => "CURRENT_DATE".into(),
                    "today" => "date('now')".into(),
                    "round" if pg => format!(
                        "round(CAST({} AS numeric), {})",
                        a[0],
                        a.get(1).map(String::as_str).unwrap_or("0")
                    ),
                    "round" => format!(
                        "round({}, {})",
                        a[0],
                        a.get(1).map(String::as_str).unwrap_or("0")
                    ),
                    "abs" => format!("abs({})", a[0]),
                    "upper" => format!("upper({})", a[0]),
                    "lower" => format!("lower({})", a[0]),
                    other => return Err(QueryError::bad(other, "unknown function")),
                }
            }
        })
    }

    fn rollup(
        &self,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        depth: usize,
    ) -> Result<String, QueryError> {
        let Some(Computed::Rollup {
            relation,
            function,
            field,
            filter,
            ..
        }) = &f.computed
        else {
            return Err(QueryError::bad(&f.name, "not a rollup"));
        };
        let list = object
            .field(relation)
            .ok_or_else(|| QueryError::bad(&f.name, "relation is gone"))?;
        let (link, child_name) = ChildLink::of(self.catalog, self.layout, object, list)
            .ok_or_else(|| QueryError::bad(&f.name, "not a list relation"))?;
        let child = self
            .catalog
            .object(&child_name)
            .ok_or_else(|| QueryError::bad(&f.name, "child object is gone"))?;
        let c = format!("c{depth}");
        let value = match field {
            Some(name) => {
                let cf = child
                    .field(name)
                    .ok_or_else(|| QueryError::bad(&f.name, format!("no field `{name}`")))?;
                self.field_value(child, &c, cf, depth)?
            }
            None => String::new(),
        };
        let agg = match function {
            AggregateFn::Count => "COUNT(*)".to_string(),
            AggregateFn::CountDistinct => format!("COUNT(DISTINCT {value})"),
            AggregateFn::Sum => format!("COALESCE(SUM({value}), 0)"),
            AggregateFn::Avg => format!("AVG({value})"),
            AggregateFn::Min => format!("MIN({value})"),
            AggregateFn::Max => format!("MAX({value})"),
        };
        let mut out = format!("(SELECT {agg} FROM {} {c}", self.layout.table(&child.name));
        match &link {
            ChildLink::Column { column } => out.push_str(&format!(" WHERE {c}.\"{column}\" = {alias}.\"id\"")),
            ChildLink::Polymorphic { object_column, id_column, parent_object } => out.push_str(&format!(
                " WHERE {c}.\"{object_column}\" = {} AND {c}.\"{id_column}\" = {alias}.\"id\"",
                quote_text(parent_object)
            )),
            ChildLink::Junction { table, parent_column, child_column } => out.push_str(&format!(
                " JOIN {table} j{depth} ON j{depth}.\"{child_column}\" = {c}.\"id\" WHERE j{depth}.\"{parent_column}\" = {alias}.\"id\""
            )),
        }
        out.push_str(&format!(" AND {c}.\"deletedAt\" IS NULL"));
        out.push_str(&self.scope(child, &c)?);
        if let Some(filter) = filter.as_ref().filter(|f| !f.is_null()) {
            // A rollup's filter is part of its field's definition, read
            // here from the metadata document it is stored in.
            let mut inline = Sql::inline(self.layout.backend);
            Filter::parse(self.catalog, child, filter, "filter")
                .and_then(|filter| {
                    compile_filter_with_prefix(
                        &mut inline,
                        self.catalog,
                        self.layout,
                        child,
                        &c,
                        &filter,
                        &format!("r{depth}_"),
                    )
                })
                .map_err(|e| QueryError::bad(format!("{}.filter", f.name), e.to_string()))?;
            out.push_str(" AND ");
            out.push_str(&inline.text);
        }
        out.push(')');
        Ok(out)
    }

    fn virtual_value(
        &self,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        depth: usize,
    ) -> Result<String, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::bad(&f.name, "computed fields nest too deeply"));
        }
        match &f.computed {
            Some(Computed::Formula { expression, .. }) => {
                self.expr(object, alias, expression, depth)
            }
            Some(Computed::Rollup { .. }) => self.rollup(object, alias, f, depth),
            _ => Err(QueryError::bad(&f.name, "not a computed field")),
        }
    }
}

/// The value of a virtual field of `object` at `alias`, comparable like a
/// column of its scalar (numbers are numbers on both backends).
pub fn computed_value(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    f: &FieldDef,
    alias: &str,
) -> Result<String, QueryError> {
    let ctx = Ctx { catalog, layout };
    let e = ctx.virtual_value(object, alias, f, 1)?;
    Ok(match (f.value_type(), layout.backend) {
        (FieldType::Integer, Backend::Postgres) => format!("CAST({e} AS bigint)"),
        (FieldType::Integer, Backend::Sqlite) => format!("CAST({e} AS INTEGER)"),
        (FieldType::Number | FieldType::Percent, Backend::Postgres) => {
            format!("CAST({e} AS double precision)")
        }
        (FieldType::Decimal, Backend::Postgres) => format!("CAST({e} AS numeric)"),
        (FieldType::Number | FieldType::Percent | FieldType::Decimal, Backend::Sqlite) => {
            format!("CAST({e} AS REAL)")
        }
        (FieldType::Date, Backend::Postgres) => format!("CAST({e} AS date)"),
        (FieldType::Text, Backend::Postgres) => format!("CAST({e} AS text)"),
        _ => e,
    })
}

/// The expression that reads a virtual field into its column of the result
/// (decimals as text on SQLite, as the decoder expects).
pub fn computed_select(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    f: &FieldDef,
    alias: &str,
) -> Result<String, QueryError> {
    let e = computed_value(catalog, layout, object, f, alias)?;
    Ok(match (f.value_type(), layout.backend) {
        (FieldType::Decimal, Backend::Sqlite) => format!("CAST(round({e}, 10) AS TEXT)"),
        _ => e,
    })
}
