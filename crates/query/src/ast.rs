//! A small SQL AST for the statements the store writes over one table at a
//! time — moving references, linking records, numbering them — printed for
//! each database by [`Statement::print`]. The page, filter and aggregate
//! statements are written by their compilers (`select`, `filter`, `embed`).

use sea_query::Value;

use crate::sql::{Backend, Sql};

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Select),
    Update(Update),
    Delete(Delete),
    Insert(Insert),
}

/// `SELECT columns FROM table WHERE … ORDER BY …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The table's quoted, qualified name ([`crate::Layout::table`]).
    pub table: String,
    pub columns: Vec<String>,
    pub filter: Vec<Cond>,
    pub order_by: Vec<String>,
}

/// `UPDATE table SET … WHERE …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: String,
    pub set: Vec<(String, Assign)>,
    pub filter: Vec<Cond>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Assign {
    Value(Value),
    /// `column = column + 1`.
    Increment,
}

/// `DELETE FROM table WHERE …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: String,
    pub filter: Vec<Cond>,
}

/// `INSERT INTO table (columns) VALUES (…)`, one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: String,
    pub columns: Vec<String>,
    pub values: Vec<Value>,
    /// `ON CONFLICT DO NOTHING`: a row that is already there stays.
    pub unless_present: bool,
}

/// A condition on a column of the statement's table; conditions of a
/// statement all hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(String, Value),
    /// One of the values: ids travel as one parameter ([`Sql::in_list`]).
    In(String, Vec<Value>),
    /// Among what a sub-query selects (its one column).
    InSelect(String, Box<Select>),
}

impl Select {
    pub fn new(table: impl Into<String>, columns: &[&str]) -> Select {
        Select {
            table: table.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            filter: Vec::new(),
            order_by: Vec::new(),
        }
    }

    pub fn filter(mut self, cond: Cond) -> Select {
        self.filter.push(cond);
        self
    }
}

impl Statement {
    /// The statement's text and parameters for `backend`.
    pub fn print(&self, backend: Backend) -> Sql {
        let mut sql = Sql::new(backend);
        match self {
            Statement::Select(s) => select(&mut sql, s),
            Statement::Update(u) => {
                sql.push("UPDATE ").push(&u.table).push(" SET ");
                for (i, (column, assign)) in u.set.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.ident(column).push(" = ");
                    match assign {
                        Assign::Value(v) => sql.param(v.clone()),
                        Assign::Increment => sql.ident(column).push(" + 1"),
                    };
                }
                conditions(&mut sql, &u.filter);
            }
            Statement::Delete(d) => {
                sql.push("DELETE FROM ").push(&d.table);
                conditions(&mut sql, &d.filter);
            }
            Statement::Insert(i) => {
                sql.push("INSERT INTO ").push(&i.table).push(" (");
                for (n, column) in i.columns.iter().enumerate() {
                    if n > 0 {
                        sql.push(", ");
                    }
                    sql.ident(column);
                }
                sql.push(") VALUES (");
                sql.params_list(i.values.iter().cloned()).push(")");
                if i.unless_present {
                    sql.push(" ON CONFLICT DO NOTHING");
                }
            }
        }
        sql
    }
}

fn select(sql: &mut Sql, s: &Select) {
    sql.push("SELECT ");
    for (i, column) in s.columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(column);
    }
    sql.push(" FROM ").push(&s.table);
    conditions(sql, &s.filter);
    for (i, column) in s.order_by.iter().enumerate() {
        sql.push(if i == 0 { " ORDER BY " } else { ", " });
        sql.ident(column);
    }
}

fn conditions(sql: &mut Sql, filter: &[Cond]) {
    for (i, cond) in filter.iter().enumerate() {
        sql.push(if i == 0 { " WHERE " } else { " AND " });
        match cond {
            Cond::Eq(column, value) => {
                sql.ident(column).push(" = ").param(value.clone());
            }
            Cond::In(column, values) => {
                sql.ident(column).in_list(values.clone());
            }
            Cond::InSelect(column, sub) => {
                sql.ident(column).push(" IN (");
                select(sql, sub);
                sql.push(")");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Value {
        Value::Uuid(Some(uuid::Uuid::from_u128(n)))
    }

    fn text(s: &str) -> Value {
        Value::String(Some(s.to_string()))
    }

    #[test]
    fn statements_print_for_each_database() {
        let repoint = Statement::Update(Update {
            table: "\"ws\".\"note\"".into(),
            set: vec![
                ("relatedId".into(), Assign::Value(id(9))),
                ("version".into(), Assign::Increment),
            ],
            filter: vec![
                Cond::In("relatedId".into(), vec![id(1), id(2)]),
                Cond::Eq("relatedObject".into(), text("company")),
            ],
        });
        let pg = repoint.print(Backend::Postgres);
        assert_eq!(
            pg.text,
            "UPDATE \"ws\".\"note\" SET \"relatedId\" = $1, \"version\" = \"version\" + 1 \
             WHERE \"relatedId\" = ANY($2) AND \"relatedObject\" = $3"
        );
        assert_eq!(pg.params.len(), 3);
        // SQLite has no uuid type: the store binds ids as text there.
        let repoint_sqlite = Statement::Update(Update {
            filter: vec![Cond::In("relatedId".into(), vec![text("a"), text("b")])],
            ..match &repoint {
                Statement::Update(u) => u.clone(),
                _ => unreachable!(),
            }
        });
        let lite = repoint_sqlite.print(Backend::Sqlite);
        assert_eq!(
            lite.text,
            "UPDATE \"ws\".\"note\" SET \"relatedId\" = ?1, \"version\" = \"version\" + 1 \
             WHERE \"relatedId\" IN (SELECT value FROM json_each(?2))"
        );

        let drop = Statement::Delete(Delete {
            table: "j".into(),
            filter: vec![
                Cond::In("sourceId".into(), vec![id(1)]),
                Cond::InSelect(
                    "targetId".into(),
                    Box::new(
                        Select::new("j", &["targetId"]).filter(Cond::Eq("sourceId".into(), id(9))),
                    ),
                ),
            ],
        });
        assert_eq!(
            drop.print(Backend::Postgres).text,
            "DELETE FROM j WHERE \"sourceId\" = ANY($1) AND \"targetId\" IN \
             (SELECT \"targetId\" FROM j WHERE \"sourceId\" = $2)"
        );

        let link = Statement::Insert(Insert {
            table: "j".into(),
            columns: vec!["sourceId".into(), "targetId".into()],
            values: vec![id(1), id(2)],
            unless_present: true,
        });
        assert_eq!(
            link.print(Backend::Sqlite).text,
            "INSERT INTO j (\"sourceId\", \"targetId\") VALUES (?1, ?2) ON CONFLICT DO NOTHING"
        );

        let mut numbered = Select::new("t", &["id"]);
        numbered.order_by = vec!["createdAt".into(), "id".into()];
        assert_eq!(
            Statement::Select(numbered).print(Backend::Postgres).text,
            "SELECT \"id\" FROM t ORDER BY \"createdAt\", \"id\""
        );
    }
}
