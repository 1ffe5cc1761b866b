//! `<Type>Filter` input (API.md) to a SQL boolean expression.

use rapport_meta::{Catalog, FieldDef, FieldType, ObjectDef, RelationKind};
use serde_json::Value as Json;

use crate::columns::{Column, Scalar, field_columns, system_column};
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
    filter: &Json,
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
    filter: &Json,
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

#[derive(Clone, Copy, PartialEq)]
enum Ops {
    Text,
    Ordered,
    Bool,
    Id,
    Enum,
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
        filter: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        let Some(entries) = filter.as_object() else {
            return Err(QueryError::bad(path, "a filter is an object"));
        };
        let mut first = true;
        sql.push("(");
        for (key, value) in entries {
            if value.is_null() {
                continue;
            }
            if !first {
                sql.push(" AND ");
            }
            first = false;
            let path = format!("{path}.{key}");
            match key.as_str() {
                "and" | "or" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| QueryError::bad(&path, "expects a list of filters"))?;
                    let joiner = if key == "and" { " AND " } else { " OR " };
                    sql.push("(");
                    if list.is_empty() {
                        sql.push(if key == "and" { "1=1" } else { "1=0" });
                    }
                    for (i, f) in list.iter().enumerate() {
                        if i > 0 {
                            sql.push(joiner);
                        }
                        self.filter(sql, object, alias, f, &format!("{path}[{i}]"))?;
                    }
                    sql.push(")");
                }
                "not" => {
                    sql.push("NOT ");
                    self.filter(sql, object, alias, value, &path)?;
                }
                _ => self.entry(sql, object, alias, key, value, &path)?,
            }
        }
        if first {
            sql.push("1=1");
        }
        sql.push(")");
        Ok(())
    }

    fn entry(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        key: &str,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        if let Some(col) = system_column(key) {
            let ops = if col.scalar == Scalar::Uuid {
                Ops::Id
            } else {
                Ops::Ordered
            };
            return self.operators(sql, alias, &col, ops, value, path);
        }
        if let Some(f) = object.field(key) {
            if f.is_virtual() {
                return self.computed(sql, object, alias, f, value, path);
            }
            return self.field(sql, object, alias, f, value, path);
        }
        // `companyId` of relation `company`, `relatedObject`/`relatedId` of a polymorphic one.
        for f in object.fields.iter().filter(|f| f.relation.is_some()) {
            if let Some(col) = field_columns(f).into_iter().find(|c| c.key == key) {
                let ops = if col.scalar == Scalar::Uuid {
                    Ops::Id
                } else {
                    Ops::Text
                };
                return self.operators(sql, alias, &col, ops, value, path);
            }
        }
        Err(QueryError::bad(
            path,
            format!("`{}` has no field `{key}`", object.name),
        ))
    }

    fn field(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        if !f.filterable {
            return Err(QueryError::bad(path, "this field cannot be filtered on"));
        }
        if let Some(rel) = &f.relation {
            return match rel.kind {
                RelationKind::ManyToOne => {
                    let target = self.object(&rel.target, path)?;
                    let p = self.alias();
                    sql.push("EXISTS (SELECT 1 FROM ")
                        .push(&self.layout.table(&target.name))
                        .push(" ")
                        .push(&p)
                        .push(" WHERE ");
                    sql.col(&p, "id")
                        .push(" = ")
                        .col(alias, &format!("{}Id", f.name));
                    sql.push(" AND ").col(&p, "deletedAt").push(" IS NULL");
                    push_scope(sql, self.catalog, self.layout, target, &p)?;
                    sql.push(" AND ");
                    self.filter(sql, target, &p, value, path)?;
                    sql.push(")");
                    Ok(())
                }
                RelationKind::OneToMany | RelationKind::ManyToMany => {
                    self.children(sql, object, alias, f, value, path)
                }
                RelationKind::Polymorphic => Err(QueryError::bad(
                    path,
                    format!("filter on `{0}Object` and `{0}Id`", f.name),
                )),
            };
        }
        if let Some(composite) = f.field_type.composite() {
            let entries = value
                .as_object()
                .ok_or_else(|| QueryError::bad(path, "expects one filter per sub-field"))?;
            let cols = field_columns(f);
            sql.push("(");
            let mut first = true;
            for (part, v) in entries.iter().filter(|(_, v)| !v.is_null()) {
                let col = cols
                    .iter()
                    .find(|c| c.part == Some(part.as_str()))
                    .ok_or_else(|| {
                        QueryError::bad(path, format!("{} has no `{part}`", composite.type_name()))
                    })?;
                if !first {
                    sql.push(" AND ");
                }
                first = false;
                let ops = if col.scalar == Scalar::Text {
                    Ops::Text
                } else {
                    Ops::Ordered
                };
                self.operators(sql, alias, col, ops, v, &format!("{path}.{part}"))?;
            }
            if first {
                sql.push("1=1");
            }
            sql.push(")");
            return Ok(());
        }
        let col = &field_columns(f)[0];
        match f.field_type {
            FieldType::MultiSelect => self.list_operators(sql, alias, col, value, path),
            FieldType::Json => Err(QueryError::bad(path, "json fields cannot be filtered")),
            FieldType::Select => self.operators(sql, alias, col, Ops::Enum, value, path),
            FieldType::Boolean => self.operators(sql, alias, col, Ops::Bool, value, path),
            t if t.is_textual() => self.operators(sql, alias, col, Ops::Text, value, path),
            _ => self.operators(sql, alias, col, Ops::Ordered, value, path),
        }
    }

    /// A formula or rollup compares like a column of its result type.
    fn computed(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        let expr = computed_value(self.catalog, self.layout, object, f, alias)?;
        let t = f.value_type();
        let mut scalar = Scalar::of(t);
        if sql.backend == Backend::Sqlite && scalar == Scalar::Decimal {
            scalar = Scalar::Float;
        }
        let ops = match t {
            FieldType::Boolean => Ops::Bool,
            x if x.is_textual() => Ops::Text,
            _ => Ops::Ordered,
        };
        self.operators_on(sql, &expr, scalar, ops, value, path)
    }

    fn object(&self, name: &str, path: &str) -> Result<&'a ObjectDef, QueryError> {
        self.catalog
            .object(name)
            .ok_or_else(|| QueryError::bad(path, format!("object `{name}` is not available")))
    }

    /// `some` / `none` / `every` over a child list.
    fn children(
        &mut self,
        sql: &mut Sql,
        object: &ObjectDef,
        alias: &str,
        f: &FieldDef,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        let rel = f.relation.as_ref().expect("relation field");
        let child = self.object(&rel.target, path)?;
        let entries = value
            .as_object()
            .ok_or_else(|| QueryError::bad(path, "expects `some`, `none` or `every`"))?;
        sql.push("(");
        let mut first = true;
        for (quantifier, inner) in entries.iter().filter(|(_, v)| !v.is_null()) {
            if !first {
                sql.push(" AND ");
            }
            first = false;
            let qpath = format!("{path}.{quantifier}");
            let (prefix, negate_inner) = match quantifier.as_str() {
                "some" => ("EXISTS", false),
                "none" => ("NOT EXISTS", false),
                "every" => ("NOT EXISTS", true),
                _ => return Err(QueryError::bad(&qpath, "expects `some`, `none` or `every`")),
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
        }
        if first {
            sql.push("1=1");
        }
        sql.push(")");
        Ok(())
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
                let (owner, owner_field, source, target) = if f.generated {
                    (&child.name, inverse, "targetId", "sourceId")
                } else {
                    (&object.name, f.name.as_str(), "sourceId", "targetId")
                };
                let j = self.alias();
                sql.push(" JOIN ")
                    .push(
                        &self
                            .layout
                            .table(&Layout::junction_name(owner, owner_field)),
                    )
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
                let back = child.field(inverse).and_then(|b| b.relation.as_ref());
                sql.push(" WHERE ");
                if back.is_some_and(|b| b.kind == RelationKind::Polymorphic) {
                    sql.col(c, &format!("{inverse}Object"))
                        .push(" = ")
                        .param(sea_query::Value::String(Some(object.name.clone())))
                        .push(" AND ");
                }
                sql.col(c, &format!("{inverse}Id"))
                    .push(" = ")
                    .col(alias, "id");
            }
        }
        Ok(())
    }

    fn operators(
        &mut self,
        sql: &mut Sql,
        alias: &str,
        col: &Column,
        ops: Ops,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        // Decimals are text on SQLite; compare them as numbers.
        let (expr, scalar) = if sql.backend == Backend::Sqlite && col.scalar == Scalar::Decimal {
            (
                format!("CAST({alias}.\"{}\" AS REAL)", col.name),
                Scalar::Float,
            )
        } else {
            (format!("{alias}.\"{}\"", col.name), col.scalar)
        };
        self.operators_on(sql, &expr, scalar, ops, value, path)
    }

    /// Operators on any comparable expression (a column or a computed field).
    fn operators_on(
        &mut self,
        sql: &mut Sql,
        expr: &str,
        scalar: Scalar,
        ops: Ops,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        let entries = value
            .as_object()
            .ok_or_else(|| QueryError::bad(path, "expects an object of operators"))?;
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
        sql.push("(");
        let mut first = true;
        for (op, v) in entries.iter().filter(|(_, v)| !v.is_null()) {
            let opath = format!("{path}.{op}");
            let allowed = match op.as_str() {
                "eq" | "isNull" => true,
                "neq" | "in" | "notIn" => ops != Ops::Bool,
                "gt" | "gte" | "lt" | "lte" => ops == Ops::Ordered,
                "like" | "ilike" | "startsWith" | "endsWith" | "contains" => ops == Ops::Text,
                _ => false,
            };
            if !allowed {
                return Err(QueryError::bad(
                    &opath,
                    "operator does not apply to this field",
                ));
            }
            if !first {
                sql.push(" AND ");
            }
            first = false;
            match op.as_str() {
                "isNull" => {
                    let is = v
                        .as_bool()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a boolean"))?;
                    sql.push(expr)
                        .push(if is { " IS NULL" } else { " IS NOT NULL" });
                }
                "in" | "notIn" => {
                    let list = v
                        .as_array()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a list"))?;
                    if list.is_empty() {
                        sql.push(if op == "in" { "1=0" } else { "1=1" });
                        continue;
                    }
                    let values = list
                        .iter()
                        .map(|x| enc(x, &opath))
                        .collect::<Result<Vec<_>, _>>()?;
                    sql.push(expr)
                        .push(if op == "in" { " IN (" } else { " NOT IN (" });
                    sql.params_list(values).push(")");
                }
                // A backslash escapes `%` and `_` on both databases (it is
                // PostgreSQL's default; SQLite has none unless told).
                "like" => {
                    sql.push(expr).push(" LIKE ").param(enc(v, &opath)?);
                    sql.push(" ESCAPE '\\'");
                }
                "ilike" => match backend {
                    Backend::Postgres => {
                        sql.push(expr).push(" ILIKE ").param(enc(v, &opath)?);
                        sql.push(" ESCAPE '\\'");
                    }
                    Backend::Sqlite => {
                        sql.push("lower(").push(expr).push(") LIKE lower(");
                        sql.param(enc(v, &opath)?).push(") ESCAPE '\\'");
                    }
                },
                "startsWith" | "endsWith" | "contains" => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a string"))?;
                    let escaped = escape_like(s);
                    let pattern = match op.as_str() {
                        "startsWith" => format!("{escaped}%"),
                        "endsWith" => format!("%{escaped}"),
                        _ => format!("%{escaped}%"),
                    };
                    sql.push(expr).push(" LIKE ");
                    sql.param(sea_query::Value::String(Some(pattern)))
                        .push(" ESCAPE '\\'");
                }
                _ => {
                    let sym = match op.as_str() {
                        "eq" => " = ",
                        "neq" => " <> ",
                        "gt" => " > ",
                        "gte" => " >= ",
                        "lt" => " < ",
                        _ => " <= ",
                    };
                    sql.push(expr).push(sym).param(enc(v, &opath)?);
                }
            }
        }
        if first {
            sql.push("1=1");
        }
        sql.push(")");
        Ok(())
    }

    /// `containsAny`, `containsAll`, `isEmpty` over a multi-select (a JSON array column).
    fn list_operators(
        &mut self,
        sql: &mut Sql,
        alias: &str,
        col: &Column,
        value: &Json,
        path: &str,
    ) -> Result<(), QueryError> {
        let entries = value
            .as_object()
            .ok_or_else(|| QueryError::bad(path, "expects an object of operators"))?;
        let expr = format!("{alias}.\"{}\"", col.name);
        let backend = sql.backend;
        sql.push("(");
        let mut first = true;
        for (op, v) in entries.iter().filter(|(_, v)| !v.is_null()) {
            let opath = format!("{path}.{op}");
            if !first {
                sql.push(" AND ");
            }
            first = false;
            match op.as_str() {
                "isEmpty" => {
                    let empty = v
                        .as_bool()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a boolean"))?;
                    let test = match backend {
                        Backend::Postgres => {
                            format!("({expr} IS NULL OR jsonb_array_length({expr}) = 0)")
                        }
                        Backend::Sqlite => {
                            format!("({expr} IS NULL OR json_array_length({expr}) = 0)")
                        }
                    };
                    if !empty {
                        sql.push("NOT ");
                    }
                    sql.push(&test);
                }
                "containsAny" | "containsAll" => {
                    let list: Vec<String> = v
                        .as_array()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a list"))?
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| QueryError::bad(&opath, "expects a list of options"))?;
                    if list.is_empty() {
                        sql.push(if op == "containsAny" { "1=0" } else { "1=1" });
                        continue;
                    }
                    let joiner = if op == "containsAny" { " OR " } else { " AND " };
                    sql.push("(");
                    for (i, item) in list.into_iter().enumerate() {
                        if i > 0 {
                            sql.push(joiner);
                        }
                        match backend {
                            Backend::Postgres => {
                                sql.push(&expr).push(" @> ");
                                sql.param(sea_query::Value::Json(Some(Box::new(Json::Array(
                                    vec![Json::String(item)],
                                )))));
                            }
                            Backend::Sqlite => {
                                sql.push("EXISTS (SELECT 1 FROM json_each(")
                                    .push(&expr)
                                    .push(") WHERE value = ");
                                sql.param(sea_query::Value::String(Some(item))).push(")");
                            }
                        }
                    }
                    sql.push(")");
                }
                _ => {
                    return Err(QueryError::bad(
                        &opath,
                        "operator does not apply to this field",
                    ));
                }
            }
        }
        if first {
            sql.push("1=1");
        }
        sql.push(")");
        Ok(())
    }
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
