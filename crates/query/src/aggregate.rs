//! Aggregates and group-by over the filtered records of one object.

use rapport_meta::{AggregateFn, Catalog, FieldType, ObjectDef};

use crate::columns::{Column, Scalar, field_columns, system_column};
use crate::computed::{computed_value, virtual_scalar};
use crate::error::QueryError;
use crate::filter::Filter;
use crate::select::{ALIAS, MAX_PAGE, Rows, from_where, relation_id_column};
use crate::sql::{Backend, Layout, Sql};

/// One requested aggregate: `sum` of `amount`, `count` (no field), …
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRequest {
    pub function: AggregateFn,
    pub field: Option<String>,
}

/// Output column kind of an aggregate expression.
fn aggregate_expr(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    req: &AggregateRequest,
) -> Result<(String, Scalar), QueryError> {
    let pg = layout.backend == Backend::Postgres;
    let Some(name) = &req.field else {
        return Ok(("COUNT(*)".into(), Scalar::Int));
    };
    let path = format!("{}.{name}", req.function);
    let virtual_field = object.field(name).filter(|f| f.is_virtual());
    let col = match system_column(name) {
        Some(c) => c,
        None if object.field(name).is_none() => relation_id_column(object, name)
            .ok_or_else(|| QueryError::bad(&path, "no such field"))?,
        None if virtual_field.is_some() => {
            let f = virtual_field.expect("checked");
            Column {
                name: f.name.clone(),
                scalar: virtual_scalar(f),
                key: f.name.clone(),
                part: None,
            }
        }
        None => {
            let f = object
                .field(name)
                .ok_or_else(|| QueryError::bad(&path, "no such field"))?;
            let cols = field_columns(f);
            match f.field_type {
                FieldType::Currency => cols
                    .into_iter()
                    .find(|c| c.part == Some("amount"))
                    .expect("amount part"),
                _ if cols.len() == 1 => cols.into_iter().next().expect("one column"),
                _ => return Err(QueryError::bad(&path, "cannot aggregate this field")),
            }
        }
    };
    let e = match virtual_field {
        Some(f) => computed_value(catalog, layout, object, f, ALIAS)?,
        None => format!("{ALIAS}.\"{}\"", col.name),
    };
    let numeric = matches!(col.scalar, Scalar::Int | Scalar::Float | Scalar::Decimal);
    let num = |e: &str| -> String {
        if !pg && col.scalar == Scalar::Decimal {
            format!("CAST({e} AS REAL)")
        } else {
            e.to_string()
        }
    };
    Ok(match req.function {
        AggregateFn::CountDistinct => (format!("COUNT(DISTINCT {e})"), Scalar::Int),
        AggregateFn::Sum | AggregateFn::Avg if !numeric => {
            return Err(QueryError::bad(&path, "not a numeric field"));
        }
        AggregateFn::Sum => match (col.scalar, pg) {
            (Scalar::Int, true) => (format!("SUM({e})::bigint"), Scalar::Int),
            (Scalar::Decimal, true) => (format!("SUM({e})"), Scalar::Decimal),
            (Scalar::Decimal, false) => (format!("SUM({})", num(&e)), Scalar::Float),
            (s, _) => (format!("SUM({e})"), s),
        },
        AggregateFn::Avg => match (col.scalar, pg) {
            (Scalar::Decimal, true) => (format!("AVG({e})"), Scalar::Decimal),
            (_, true) => (format!("AVG({e})::float8"), Scalar::Float),
            (_, false) => (format!("AVG({})", num(&e)), Scalar::Float),
        },
        AggregateFn::Min | AggregateFn::Max => {
            let f = if req.function == AggregateFn::Min {
                "MIN"
            } else {
                "MAX"
            };
            if matches!(col.scalar, Scalar::Json | Scalar::Bool) {
                return Err(QueryError::bad(
                    &path,
                    "cannot take min or max of this field",
                ));
            }
            if !pg && col.scalar == Scalar::Decimal {
                (format!("{f}({})", num(&e)), Scalar::Float)
            } else {
                (format!("{f}({e})"), col.scalar)
            }
        }
        AggregateFn::Count => return Err(QueryError::bad(&path, "count takes no field")),
    })
}

/// Aggregates over the filtered records; one row, one column per request.
pub fn aggregate_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    filter: Option<&Filter>,
    search: Option<&str>,
    requests: &[AggregateRequest],
) -> Result<(Sql, Vec<Scalar>), QueryError> {
    let mut sql = Sql::new(layout.backend);
    let mut scalars = Vec::new();
    sql.push("SELECT ");
    for (i, r) in requests.iter().enumerate() {
        let (e, s) = aggregate_expr(catalog, layout, object, r)?;
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&e);
        scalars.push(s);
    }
    if requests.is_empty() {
        sql.push("COUNT(*)");
        scalars.push(Scalar::Int);
    }
    let rows = Rows {
        filter,
        search,
        with_deleted: false,
    };
    from_where(&mut sql, catalog, layout, object, rows)?;
    Ok((sql, scalars))
}

#[derive(Debug, Clone, Default)]
pub struct GroupByQuery {
    pub by: Vec<String>,
    pub filter: Option<Filter>,
    pub granularity: DateGranularity,
    pub first: i64,
    pub aggregates: Vec<AggregateRequest>,
}

/// Group keys first (`__g0`…), then the aggregates, one row per group.
pub fn group_by_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    q: &GroupByQuery,
) -> Result<(Sql, Vec<Column>, Vec<Scalar>), QueryError> {
    if q.by.is_empty() {
        return Err(QueryError::bad("by", "name at least one field"));
    }
    if !(1..=MAX_PAGE as i64).contains(&q.first) {
        return Err(QueryError::bad(
            "first",
            format!("between 1 and {MAX_PAGE}"),
        ));
    }
    let pg = layout.backend == Backend::Postgres;
    let mut sql = Sql::new(layout.backend);
    let mut key_cols = Vec::new();
    // How each key orders its groups: a select's in its options' order (a
    // pipeline's stages as the admin laid them out), the rest by value.
    let mut orderings = Vec::new();
    sql.push("SELECT ");
    for (i, name) in q.by.iter().enumerate() {
        let path = format!("by[{i}]");
        let col = match system_column(name) {
            Some(c) => c,
            None => match object.field(name) {
                Some(f)
                    if f.is_stored()
                        && f.filterable
                        && f.field_type.composite().is_none()
                        && !matches!(f.field_type, FieldType::Json | FieldType::MultiSelect) =>
                {
                    field_columns(f).remove(0)
                }
                Some(_) => return Err(QueryError::bad(&path, "cannot group by this field")),
                None => relation_id_column(object, name).ok_or_else(|| {
                    QueryError::bad(&path, format!("`{}` has no field `{name}`", object.name))
                })?,
            },
        };
        let e = format!("{ALIAS}.\"{}\"", col.name);
        let expr = match col.scalar {
            Scalar::Date | Scalar::DateTime => date_bucket(&e, col.scalar, q.granularity, pg),
            _ => e,
        };
        let select = object
            .field(name)
            .filter(|f| f.field_type == FieldType::Select && !f.options.is_empty());
        orderings.push(match select {
            Some(f) => {
                let whens: String = f
                    .options
                    .iter()
                    .enumerate()
                    .map(|(n, o)| format!(" WHEN '{}' THEN {n}", o.value.replace('\'', "''")))
                    .collect();
                format!("CASE {expr}{whens} END ASC NULLS LAST")
            }
            None => format!("{} ASC NULLS LAST", i + 1),
        });
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&expr).push(&format!(" AS \"__g{i}\""));
        let scalar = match col.scalar {
            Scalar::Date | Scalar::DateTime => Scalar::Text,
            s => s,
        };
        key_cols.push(Column {
            scalar,
            key: name.clone(),
            ..col
        });
    }
    let mut scalars = Vec::new();
    sql.push(", COUNT(*)");
    for r in &q.aggregates {
        let (e, s) = aggregate_expr(catalog, layout, object, r)?;
        sql.push(", ").push(&e);
        scalars.push(s);
    }
    let rows = Rows {
        filter: q.filter.as_ref(),
        ..Rows::default()
    };
    from_where(&mut sql, catalog, layout, object, rows)?;
    let positions: Vec<String> = (1..=q.by.len()).map(|i| i.to_string()).collect();
    sql.push(" GROUP BY ").push(&positions.join(", "));
    // Groups come in key order, the null group last, on both backends.
    sql.push(" ORDER BY ").push(&orderings.join(", "));
    sql.push(&format!(" LIMIT {}", q.first));
    Ok((sql, key_cols, scalars))
}

/// How date keys of a group-by are bucketed (`dateGranularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateGranularity {
    #[default]
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl DateGranularity {
    /// The API's name (`DAY`, `WEEK`…).
    pub fn parse(name: &str) -> Result<DateGranularity, QueryError> {
        Ok(match name {
            "DAY" => DateGranularity::Day,
            "WEEK" => DateGranularity::Week,
            "MONTH" => DateGranularity::Month,
            "QUARTER" => DateGranularity::Quarter,
            "YEAR" => DateGranularity::Year,
            _ => {
                return Err(QueryError::bad(
                    "dateGranularity",
                    "expects DAY, WEEK, MONTH, QUARTER or YEAR",
                ));
            }
        })
    }

    /// The unit's name in PostgreSQL's `date_trunc`.
    fn unit(self) -> &'static str {
        match self {
            DateGranularity::Day => "day",
            DateGranularity::Week => "week",
            DateGranularity::Month => "month",
            DateGranularity::Quarter => "quarter",
            DateGranularity::Year => "year",
        }
    }
}

/// The first day (as `YYYY-MM-DD`) or instant of a date's bucket.
fn date_bucket(e: &str, scalar: Scalar, granularity: DateGranularity, pg: bool) -> String {
    let unit = granularity.unit();
    let datetime = scalar == Scalar::DateTime;
    if pg {
        let src = if datetime {
            format!("({e} AT TIME ZONE 'UTC')")
        } else {
            e.to_string()
        };
        let fmt = if datetime {
            "YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\""
        } else {
            "YYYY-MM-DD"
        };
        return format!("to_char(date_trunc('{unit}', {src}), '{fmt}')");
    }
    let day = format!("substr({e}, 1, 10)");
    let date = match granularity {
        DateGranularity::Day => day,
        DateGranularity::Week => format!(
            "date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"
        ),
        DateGranularity::Month => format!("substr({e}, 1, 7) || '-01'"),
        DateGranularity::Quarter => format!(
            "substr({e}, 1, 5) || printf('%02d', ((CAST(substr({e}, 6, 2) AS INTEGER) - 1) / 3) * 3 + 1) || '-01'"
        ),
        DateGranularity::Year => format!("substr({e}, 1, 4) || '-01-01'"),
    };
    if datetime {
        format!("({date}) || 'T00:00:00.000000Z'")
    } else {
        date
    }
}
