use sea_query::Value;

use crate::filter::Filter;
use crate::values::datetime_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A SQL statement being written: text with placeholders, and their values.
#[derive(Debug, Clone)]
pub struct Sql {
    pub backend: Backend,
    pub text: String,
    pub params: Vec<Value>,
    values: Values,
}

/// How [`Sql::param`] writes a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Values {
    /// A placeholder, the value bound.
    Bound,
    /// An escaped literal (computed-field expressions, which are reused as
    /// plain text).
    Inline,
    /// On PostgreSQL, a scalar as a typed literal (`'…'::type`, the type a
    /// bound value has) and ids and arrays bound; elsewhere bound.
    Constants,
}

impl Sql {
    pub fn new(backend: Backend) -> Sql {
        Sql {
            backend,
            text: String::with_capacity(256),
            params: Vec::new(),
            values: Values::Bound,
        }
    }

    /// A builder whose values become escaped literals in the text.
    pub fn inline(backend: Backend) -> Sql {
        Sql {
            values: Values::Inline,
            ..Sql::new(backend)
        }
    }

    /// A builder for a statement whose values are the same on every run
    /// (a document's own literals): on PostgreSQL, scalars are written as
    /// typed literals and only ids and arrays bound. PostgreSQL plans a
    /// prepared statement with parameters again on every run when its
    /// generic plan looks dearer than the plans for the values given (a
    /// filter on an enum and an amount, Q3 of the benchmark: about a quarter
    /// of the database's CPU on that read); with the values in the text,
    /// the plan is made once per connection, for these very values.
    pub fn constants(backend: Backend) -> Sql {
        Sql {
            values: Values::Constants,
            ..Sql::new(backend)
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// A quoted identifier. Names reaching here passed the metadata name rule,
    /// quoting keeps case and keeps them from ever being read as SQL.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        self.text.push('"');
        self.text.push_str(&name.replace('"', "\"\""));
        self.text.push('"');
        self
    }

    /// `alias."column"`.
    pub fn col(&mut self, alias: &str, name: &str) -> &mut Self {
        self.text.push_str(alias);
        self.text.push('.');
        self.ident(name)
    }

    pub fn param(&mut self, value: Value) -> &mut Self {
        use sea_query::QueryBuilder;
        match (self.values, self.backend) {
            (Values::Inline, Backend::Postgres) => {
                let literal = sea_query::PostgresQueryBuilder.value_to_string(&value);
                return self.push(&literal);
            }
            (Values::Inline, Backend::Sqlite) => {
                let literal = sea_query::SqliteQueryBuilder.value_to_string(&value);
                return self.push(&literal);
            }
            (Values::Constants, Backend::Postgres) => {
                if let Some(literal) = typed_literal(&value) {
                    return self.push(&literal);
                }
            }
            _ => {}
        }
        self.params.push(value);
        // Numbered on both backends, so that a statement may be written out
        // of order (a sub-query's text after values bound before it).
        self.text.push(match self.backend {
            Backend::Postgres => '$',
            Backend::Sqlite => '?',
        });
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// `IN (…)` over `values`. Record ids travel as one parameter instead:
    /// a `uuid[]` on PostgreSQL (`= ANY($n)`), a JSON array of texts on
    /// SQLite (`IN (SELECT value FROM json_each(?n))`). So the statement's
    /// text is the same for any number of ids, prepared once and planned
    /// cheaply, where a list of 500 placeholders is a new statement for every
    /// count; and SQLite finds a numbered parameter's name by a scan of all
    /// of them, so binding 500 cost the square of that.
    pub fn in_list(&mut self, values: Vec<Value>) -> &mut Self {
        if self.values == Values::Inline {
            return self.push(" IN (").params_list(values).push(")");
        }
        if self.backend == Backend::Postgres
            && values.iter().all(|v| matches!(v, Value::Uuid(Some(_))))
        {
            self.push(" = ANY(");
            self.param(Value::Array(
                sea_query::ArrayType::Uuid,
                Some(Box::new(values)),
            ));
            return self.push(")");
        }
        if self.backend == Backend::Sqlite {
            let texts: Option<Vec<serde_json::Value>> = values
                .iter()
                .map(|v| match v {
                    Value::String(Some(s)) => Some(serde_json::Value::String(s.to_string())),
                    _ => None,
                })
                .collect();
            if let Some(texts) = texts {
                self.push(" IN (SELECT value FROM json_each(");
                self.param(Value::String(Some(
                    serde_json::Value::Array(texts).to_string(),
                )));
                return self.push("))");
            }
        }
        self.push(" IN (");
        self.params_list(values);
        self.push(")")
    }

    /// A comma separated list of parameters.
    pub fn params_list(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(v);
        }
        self
    }
}

/// `value` as a PostgreSQL literal of the type it is bound as (sqlx: text,
/// int8, numeric, …), so a statement means the same with it written in;
/// `None` for what stays bound: ids (a kept statement's look-up ids are
/// its parameters), arrays, JSON, non-finite floats and nulls (a null's
/// type comes from the parameter).
fn typed_literal(value: &Value) -> Option<String> {
    use sea_query::QueryBuilder;
    let quoted = |text: &str| {
        sea_query::PostgresQueryBuilder.value_to_string(&Value::String(Some(text.to_string())))
    };
    Some(match value {
        Value::String(Some(s)) => format!("{}::text", quoted(s)),
        Value::BigInt(Some(n)) => format!("'{n}'::int8"),
        Value::Int(Some(n)) => format!("'{n}'::int4"),
        Value::Bool(Some(b)) => b.to_string(),
        Value::Double(Some(f)) if f.is_finite() => format!("'{f:e}'::float8"),
        Value::Decimal(Some(d)) => format!("'{d}'::numeric"),
        Value::ChronoDate(Some(d)) => format!("'{}'::date", d.format("%Y-%m-%d")),
        // Microseconds, as PostgreSQL keeps them and sqlx binds them.
        Value::ChronoDateTimeUtc(Some(t)) => format!("'{}'::timestamptz", datetime_text(t)),
        _ => return None,
    })
}

/// Where a workspace's tables live: a PostgreSQL schema per workspace, or a
/// table-name prefix per workspace in the single SQLite file — and which
/// records of each object the caller may see (record scopes), so every
/// statement built for them carries the restriction.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub backend: Backend,
    pub namespace: String,
    pub scopes: Option<std::sync::Arc<Scopes>>,
}

/// Per object, the filter a caller's records must match (an object not
/// named is open to the caller).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scopes {
    pub objects: std::collections::HashMap<String, Filter>,
    /// `object.field`s the caller may not read clear: search words never
    /// match against them, so their values cannot be probed.
    pub unsearchable: std::collections::HashSet<String>,
}

impl Scopes {
    pub fn for_object(&self, object: &str) -> Option<&Filter> {
        self.objects.get(object)
    }

    /// Whether nothing is restricted.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.unsearchable.is_empty()
    }
}

impl Layout {
    pub fn new(backend: Backend, namespace: impl Into<String>) -> Layout {
        Layout {
            backend,
            namespace: namespace.into(),
            scopes: None,
        }
    }

    /// The same layout, restricted to the caller's record scopes.
    pub fn scoped(&self, scopes: Scopes) -> Layout {
        Layout {
            scopes: Some(std::sync::Arc::new(scopes)),
            ..self.clone()
        }
    }

    /// The scope filter for an object, if the caller is restricted there.
    pub fn scope(&self, object: &str) -> Option<&Filter> {
        self.scopes.as_ref().and_then(|s| s.for_object(object))
    }

    /// The quoted, qualified name of a table of this workspace.
    pub fn table(&self, name: &str) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        match self.backend {
            Backend::Postgres => format!("{}.{}", quote(&self.namespace), quote(name)),
            Backend::Sqlite => quote(&format!("{}__{}", self.namespace, name)),
        }
    }

    /// Unquoted physical name, for index names and catalog look-ups.
    pub fn bare_table(&self, name: &str) -> String {
        match self.backend {
            Backend::Postgres => name.to_string(),
            Backend::Sqlite => format!("{}__{}", self.namespace, name),
        }
    }

    /// The platform-managed junction of a many-to-many relation.
    pub fn junction_name(object: &str, field: &str) -> String {
        format!("{object}__{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| Value::Uuid(Some(uuid::Uuid::from_u128(i as u128))))
            .collect()
    }

    #[test]
    fn record_ids_are_one_array_parameter_on_postgres() {
        let text = |n| {
            let mut sql = Sql::new(Backend::Postgres);
            sql.push("id").in_list(ids(n));
            (sql.text, sql.params.len())
        };
        // One statement text whatever the count: prepared once.
        assert_eq!(text(2), ("id = ANY($1)".to_string(), 1));
        assert_eq!(text(500), text(2));
    }

    #[test]
    fn texts_are_one_json_parameter_on_sqlite() {
        // Record ids are text on SQLite.
        let texts = |n: usize| {
            (0..n)
                .map(|i| Value::String(Some(format!("id-{i}"))))
                .collect::<Vec<_>>()
        };
        let mut sql = Sql::new(Backend::Sqlite);
        sql.push("id").in_list(texts(2));
        assert_eq!(sql.text, "id IN (SELECT value FROM json_each(?1))");
        assert_eq!(
            sql.params,
            vec![Value::String(Some(r#"["id-0","id-1"]"#.into()))]
        );
        let mut long = Sql::new(Backend::Sqlite);
        long.push("id").in_list(texts(500));
        assert_eq!(long.text, sql.text, "one statement text whatever the count");
    }

    #[test]
    fn other_values_keep_the_list() {
        let mut sql = Sql::new(Backend::Sqlite);
        sql.push("n")
            .in_list(vec![Value::BigInt(Some(1)), Value::BigInt(Some(2))]);
        assert_eq!(sql.text, "n IN (?1, ?2)");
        let mut sql = Sql::new(Backend::Postgres);
        sql.push("stage").in_list(vec![
            Value::String(Some("WON".into())),
            Value::String(Some("LOST".into())),
        ]);
        assert_eq!(sql.text, "stage IN ($1, $2)");
        // A value that is not a UUID (an id that failed to parse) must not
        // reach a uuid[] parameter.
        let mut mixed = ids(1);
        mixed.push(Value::String(Some("nope".into())));
        let mut sql = Sql::new(Backend::Postgres);
        sql.push("id").in_list(mixed);
        assert_eq!(sql.text, "id IN ($1, $2)");
    }
}

#[cfg(test)]
mod constants_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_documents_values_are_typed_literals_and_ids_stay_bound_on_postgres() {
        let id = Value::Uuid(Some(uuid::Uuid::from_u128(7)));
        let at = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap();
        let mut sql = Sql::constants(Backend::Postgres);
        sql.param(Value::String(Some("it's \\ x".into())))
            .push(" ")
            .param(Value::BigInt(Some(i64::MIN)))
            .push(" ")
            .param(Value::Bool(Some(false)))
            .push(" ")
            .param(Value::Double(Some(1000.25)))
            .push(" ")
            .param(Value::Decimal(Some("-9000.50".parse().unwrap())))
            .push(" ")
            .param(Value::ChronoDate(Some(at.date_naive())))
            .push(" ")
            .param(Value::ChronoDateTimeUtc(Some(at)))
            .push(" ")
            .param(id.clone())
            .push(" ")
            .param(Value::Double(Some(f64::NAN)))
            .push(" ")
            .param(Value::String(None));
        assert_eq!(
            sql.text,
            "E'it\\'s \\\\ x'::text '-9223372036854775808'::int8 false '1.00025e3'::float8 \
             '-9000.50'::numeric '2024-05-01'::date '2024-05-01T08:30:00.000000Z'::timestamptz $1 $2 $3"
        );
        assert_eq!(sql.params.len(), 3);
        assert_eq!(sql.params[0], id);

        // SQLite binds every value, as without constants.
        let mut sqlite = Sql::constants(Backend::Sqlite);
        sqlite.param(Value::String(Some("x".into())));
        assert_eq!((sqlite.text.as_str(), sqlite.params.len()), ("?1", 1));
    }
}
