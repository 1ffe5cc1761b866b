//! A [`Filter`] to a SQL boolean expression.

use rapport_meta::{Catalog, FieldDef, ObjectDef, RelationKind};
use serde_json::Value as Json;

use super::ir::{Comparison, Condition, FieldTest, Filter, OptionsTest, Quantifier};
use super::subject::{Ops, Subject, applies, part_column, part_ops, subject};
use crate::columns::{Column, Scalar, id_column, junction_columns, junction_of, object_column};
use crate::computed::computed_value;
use crate::error::QueryError;
use crate::sql::{Backend, Layout, Sql};
use crate::values::encode;

/// Compiles `filter` on `object` (table alias `alias`) into `sql`.
pub fn compile_filter(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    alias: &str,
    filter: &Filter,
) -> Result<(), QueryError> {
    compile_filter_with_prefix(sql, catalog, layout, object, alias, filter, "f")
}

/// As [`compile_filter`], naming its sub-query aliases `<prefix>1`, `<prefix>2`…
/// so filters nested in computed fields never shadow an outer alias.
pub(crate) fn compile_filter_with_prefix(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    alias: &str,
    filter: &Filter,
    prefix: &str,
) -> Result<(), QueryError> {
    let mut c = FilterCompiler {
        catalog,
        layout,
        next_alias: 0,
        prefix: prefix.to_string(),
    };
    c.filter(sql, object, alias, filter, "filter")
}

struct FilterCompiler<'a> {
    catalog: &'a Catalog,
    layout: &'a Layout,
    next_alias: usize,
    prefix: String,
}

/// Joins the parts of a conjunction or disjunction, or writes `empty`.
fn joined<T>(
    sql: &mut Sql,
    items: &[T],
    joiner: &str,
    empty: &str,
    mut each: impl FnMut(&mut Sql, usize, &T) -> Result<(), QueryError>,
) -> Result<(), QueryError> {
    sql.push("(");
    if items.is_empty() {
        sql.push(empty);
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sql.push(joiner);
        }
        each(sql, i, item)?;
    }
    sql.push(")");
    Ok(())
}

impl<'a> FilterCompiler<'a> {
    fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("{}{}", self.prefix, self.next_alias)
    }

    fn filter(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        filter: &Filter,
        path: &str,
    ) -> Result<(), QueryError> {
        joined(sql, &filter.conditions, " AND ", "1=1", |sql, _, c| {
            self.condition(sql, object, alias, c, path)
        })
    }

    fn condition(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        condition: &Condition,
        path: &str,
    ) -> Result<(), QueryError> {
        match condition {
            Condition::All(list) | Condition::Any(list) => {
                let (key, joiner, empty) = match condition {
                    Condition::All(_) => ("and", " AND ", "1=1"),
                    _ => ("or", " OR ", "1=0"),
                };
                joined(sql, list, joiner, empty, |sql, i, f| {
                    self.filter(sql, object, alias, f, &format!("{path}.{key}[{i}]"))
                })
            }
            Condition::Not(f) => {
                sql.push("NOT ");
                self.filter(sql, object, alias, f, &format!("{path}.not"))
            }
            Condition::Field { key, test } => {
                let path = format!("{path}.{key}");
                self.field(sql, object, alias, key, test, &path)
            }
        }
    }

    fn field(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        key: &str,
        test: &FieldTest,
        path: &str,
    ) -> Result<(), QueryError> {
        match (subject(self.catalog, object, key, path)?, test) {
            (Subject::Column(col, ops), FieldTest::Compare(list)) => {
                self.column(sql, alias, &col, ops, list, path)
            }
            (Subject::Computed(f, ops), FieldTest::Compare(list)) => {
                let expr = computed_value(self.catalog, self.layout, object, f, alias)?;
                let mut scalar = Scalar::of(f.value_type());
                if sql.backend == Backend::Sqlite && scalar == Scalar::Decimal {
                    scalar = Scalar::Float;
                }
                self.comparisons(sql, &expr, scalar, ops, list, path)
            }
            (Subject::Options(col), FieldTest::Options(list)) => {
                self.options(sql, alias, &col, list)
            }
            (Subject::Parts(f), FieldTest::Parts(parts)) => {
                joined(sql, parts, " AND ", "1=1", |sql, _, (part, list)| {
                    let col = part_column(f, part, path)?;
                    let ppath = format!("{path}.{part}");
                    self.column(sql, alias, &col, part_ops(&col), list, &ppath)
                })
            }
            (Subject::Parent(f, target), FieldTest::Parent(inner)) => {
                let p = self.alias();
                sql.push("EXISTS (SELECT 1 FROM ")
                    .push(&self.layout.table(&target.name))
                    .push(" ")
                    .push(&p)
                    .push(" WHERE ");
                sql.col(&p, "id").push(" = ").col(alias, &id_column(f));
                sql.push(" AND ").col(&p, "deletedAt").push(" IS NULL");
                push_scope(sql, self.catalog, self.layout, target, &p)?;
                sql.push(" AND ");
                self.filter(sql, target, &p, inner, path)?;
                sql.push(")");
                Ok(())
            }
            (Subject::Children(f, child), FieldTest::Children(tests)) => {
                self.children(sql, object, alias, (f, child), tests, path)
            }
            _ => Err(QueryError::bad(
                path,
                "this test does not apply to the field",
            )),
        }
    }

    /// `some` / `none` / `every` over a child list.
    fn children(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        (f, child): (&FieldDef, &ObjectDef),
        tests: &[(Quantifier, Filter)],
        path: &str,
    ) -> Result<(), QueryError> {
        joined(sql, tests, " AND ", "1=1", |sql, _, (quantifier, inner)| {
            let qpath = format!("{path}.{}", quantifier.name());
            let (prefix, negate_inner) = match quantifier {
                Quantifier::Some => ("EXISTS", false),
                Quantifier::None => ("NOT EXISTS", false),
                Quantifier::Every => ("NOT EXISTS", true),
            };
            let c = self.alias();
            sql.push(prefix).push(" (SELECT 1 FROM ");
            self.link(sql, object, alias, f, child, &c)?;
            sql.push(" AND ").col(&c, "deletedAt").push(" IS NULL");
            push_scope(sql, self.catalog, self.layout, child, &c)?;
            sql.push(" AND ");
            if negate_inner {
                sql.push("NOT ");
            }
            self.filter(sql, child, &c, inner, &qpath)?;
            sql.push(")");
            Ok(())
        })
    }

    /// `<child table> c WHERE <c belongs to alias>` for an inverse or many-to-many list.
    fn link(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        child: &ObjectDef,
        c: &str,
    ) -> Result<(), QueryError> {
        let rel = f.relation.as_ref().expect("relation field");
        let inverse = rel.inverse.as_deref().unwrap_or_default();
        sql.push(&self.layout.table(&child.name)).push(" ").push(c);
        match rel.kind {
            RelationKind::ManyToMany => {
                let (source, target) = junction_columns(f);
                let j = self.alias();
                sql.push(" JOIN ")
                    .push(&self.layout.table(&junction_of(&object.name, f)))
                    .push(" ")
                    .push(&j)
                    .push(" ON ");
                sql.col(&j, target).push(" = ").col(c, "id");
                sql.push(" WHERE ")
                    .col(&j, source)
                    .push(" = ")
                    .col(alias, "id");
            }
            _ => {
                let back = child.field(inverse).ok_or_else(|| {
                    QueryError::bad(&f.name, format!("`{}` has no `{inverse}`", child.name))
                })?;
                sql.push(" WHERE ");
                if back.relation_kind() == Some(RelationKind::Polymorphic) {
                    sql.col(c, &object_column(back))
                        .push(" = ")
                        .param(sea_query::Value::String(Some(object.name.clone())))
                        .push(" AND ");
                }
                sql.col(c, &id_column(back)).push(" = ").col(alias, "id");
            }
        }
        Ok(())
    }

    /// Comparisons on a column; decimals are text on SQLite, compared as numbers.
    fn column(
        &mut self,
        sql: &mut Sql,
        alias: &str,
        col: &Column,
        ops: Ops,
        list: &[Comparison],
        path: &str,
    ) -> Result<(), QueryError> {
        let (expr, scalar) = if sql.backend == Backend::Sqlite && col.scalar == Scalar::Decimal {
            (
                format!("CAST({alias}.\"{}\" AS REAL)", col.name),
                Scalar::Float,
            )
        } else {
            (format!("{alias}.\"{}\"", col.name), col.scalar)
        };
        self.comparisons(sql, &expr, scalar, ops, list, path)
    }

    /// Comparisons on any comparable expression (a column or a computed field).
    fn comparisons(
        &mut self,
        sql: &mut Sql,
        expr: &str,
        scalar: Scalar,
        ops: Ops,
        list: &[Comparison],
        path: &str,
    ) -> Result<(), QueryError> {
        let backend = sql.backend;
        let enc = |v: &Json, p: &str| -> Result<sea_query::Value, QueryError> {
            let v = match (scalar, v) {
                (Scalar::Float, Json::String(s)) => s
                    .parse::<f64>()
                    .map(Json::from)
                    .map_err(|_| QueryError::bad(p, format!("`{s}` is not a number")))?,
                _ => v.clone(),
            };
            encode(backend, scalar, &v).map_err(|r| QueryError::bad(p, r))
        };
        joined(sql, list, " AND ", "1=1", |sql, _, comparison| {
            let opath = format!("{path}.{}", comparison.operator());
            if !applies(ops, comparison.operator()) {
                return Err(QueryError::bad(
                    &opath,
                    "operator does not apply to this field",
                ));
            }
            let like = |sql: &mut Sql, pattern: sea_query::Value| {
                sql.push(expr).push(" LIKE ").param(pattern);
                sql.push(" ESCAPE '\\'");
            };
            match comparison {
                Comparison::IsNull(is) => {
                    sql.push(expr)
                        .push(if *is { " IS NULL" } else { " IS NOT NULL" });
                }
                Comparison::In(values) | Comparison::NotIn(values) => {
                    let is_in = matches!(comparison, Comparison::In(_));
                    if values.is_empty() {
                        sql.push(if is_in { "1=0" } else { "1=1" });
                        return Ok(());
                    }
                    let values = values
                        .iter()
                        .map(|x| enc(x, &opath))
                        .collect::<Result<Vec<_>, _>>()?;
                    sql.push(expr)
                        .push(if is_in { " IN (" } else { " NOT IN (" });
                    sql.params_list(values).push(")");
                }
                // A backslash escapes `%` and `_` on both databases (it is
                // PostgreSQL's default; SQLite has none unless told).
                Comparison::Like(v) => like(sql, enc(v, &opath)?),
                Comparison::ILike(v) => match backend {
                    Backend::Postgres => {
                        sql.push(expr).push(" ILIKE ").param(enc(v, &opath)?);
                        sql.push(" ESCAPE '\\'");
                    }
                    Backend::Sqlite => {
                        sql.push("lower(").push(expr).push(") LIKE lower(");
                        sql.param(enc(v, &opath)?).push(") ESCAPE '\\'");
                    }
                },
                Comparison::StartsWith(s) => like(sql, text(format!("{}%", escape_like(s)))),
                Comparison::EndsWith(s) => like(sql, text(format!("%{}", escape_like(s)))),
                Comparison::Contains(s) => like(sql, text(format!("%{}%", escape_like(s)))),
                Comparison::Eq(v)
                | Comparison::Neq(v)
                | Comparison::Gt(v)
                | Comparison::Gte(v)
                | Comparison::Lt(v)
                | Comparison::Lte(v) => {
                    let sym = match comparison {
                        Comparison::Eq(_) => " = ",
                        Comparison::Neq(_) => " <> ",
                        Comparison::Gt(_) => " > ",
                        Comparison::Gte(_) => " >= ",
                        Comparison::Lt(_) => " < ",
                        _ => " <= ",
                    };
                    sql.push(expr).push(sym).param(enc(v, &opath)?);
                }
            }
            Ok(())
        })
    }

    /// `containsAny`, `containsAll`, `isEmpty` over a multi-select (a JSON array column).
    fn options(
        &mut self,
        sql: &mut Sql,
        alias: &str,
        col: &Column,
        list: &[OptionsTest],
    ) -> Result<(), QueryError> {
        let expr = format!("{alias}.\"{}\"", col.name);
        let backend = sql.backend;
        joined(sql, list, " AND ", "1=1", |sql, _, test| {
            match test {
                OptionsTest::IsEmpty(empty) => {
                    let length = match backend {
                        Backend::Postgres => "jsonb_array_length",
                        Backend::Sqlite => "json_array_length",
                    };
                    if !empty {
                        sql.push("NOT ");
                    }
                    sql.push(&format!("({expr} IS NULL OR {length}({expr}) = 0)"));
                }
                OptionsTest::ContainsAny(names) | OptionsTest::ContainsAll(names) => {
                    let any = matches!(test, OptionsTest::ContainsAny(_));
                    if names.is_empty() {
                        sql.push(if any { "1=0" } else { "1=1" });
                        return Ok(());
                    }
                    let joiner = if any { " OR " } else { " AND " };
                    joined(sql, names, joiner, "", |sql, _, name| {
                        contains_option(sql, backend, &expr, name);
                        Ok(())
                    })?;
                }
            }
            Ok(())
        })
    }
}

/// `expr` (a JSON array of option names) holds `name`.
fn contains_option(sql: &mut Sql, backend: Backend, expr: &str, name: &str) {
    match backend {
        Backend::Postgres => {
            sql.push(expr).push(" @> ");
            sql.param(sea_query::Value::Json(Some(Box::new(Json::Array(vec![
                Json::String(name.to_string()),
            ])))));
        }
        Backend::Sqlite => {
            sql.push("EXISTS (SELECT 1 FROM json_each(")
                .push(expr)
                .push(") WHERE value = ");
            sql.param(text(name.to_string())).push(")");
        }
    }
}

fn text(s: String) -> sea_query::Value {
    sea_query::Value::String(Some(s))
}

/// `s` as a `like`/`ilike` pattern that matches only itself.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// ` AND <scope>` when the caller's record scope restricts `object`: every
/// statement and sub-query over an object goes through here.
pub(crate) fn push_scope(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    alias: &str,
) -> Result<(), QueryError> {
    let Some(scope) = layout.scope(&object.name) else {
        return Ok(());
    };
    sql.push(" AND ");
    compile_filter_with_prefix(
        sql,
        catalog,
        layout,
        object,
        alias,
        scope,
        &format!("{alias}s"),
    )
}
