//! Many-to-many links: `<field>Ids` sets a record's links, `connect<Field>`
//! and `disconnect<Field>` add and remove some, all in the write's transaction.

use rapport_meta::{FieldDef, ObjectDef, RelationKind};
use rapport_query::{Layout, Scalar, Sql};
use serde_json::Value;

use crate::db::{StatementCounter, execute};
use crate::error::StoreError;
use crate::records::{Record, RecordStore};

/// Input keys of a many-to-many field: (set, connect, disconnect).
pub fn link_inputs(f: &FieldDef) -> (String, String, String) {
    let mut chars = f.name.chars();
    let pascal = chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    (
        format!("{}Ids", f.name),
        format!("connect{pascal}"),
        format!("disconnect{pascal}"),
    )
}

struct Junction {
    table: String,
    mine: &'static str,
    theirs: &'static str,
    target: String,
}

fn junction(layout: &Layout, obj: &ObjectDef, f: &FieldDef) -> Option<Junction> {
    let rel = f
        .relation
        .as_ref()
        .filter(|r| r.kind == RelationKind::ManyToMany)?;
    Some(if f.generated {
        let owner_field = rel.inverse.clone().unwrap_or_default();
        Junction {
            table: layout.table(&Layout::junction_name(&rel.target, &owner_field)),
            mine: "targetId",
            theirs: "sourceId",
            target: rel.target.clone(),
        }
    } else {
        Junction {
            table: layout.table(&Layout::junction_name(&obj.name, &f.name)),
            mine: "sourceId",
            theirs: "targetId",
            target: rel.target.clone(),
        }
    })
}

fn id_list(input: &Record, key: &str) -> Result<Option<Vec<String>>, StoreError> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| uuid::Uuid::parse_str(s).is_ok())
                    .map(str::to_string)
                    .ok_or_else(|| StoreError::bad(key, format!("{v} is not an id")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(StoreError::bad(key, "expects a list of ids")),
    }
}

impl RecordStore {
    fn uuid_value(&self, id: &str) -> Result<sea_query::Value, StoreError> {
        rapport_query::encode(
            self.db.backend,
            Scalar::Uuid,
            &Value::String(id.to_string()),
        )
        .map_err(|r| StoreError::bad("id", r))
    }

    /// Applies the link inputs of one record.
    pub(crate) async fn write_links(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        counter: &StatementCounter,
        obj: &ObjectDef,
        id: &str,
        input: &Record,
    ) -> Result<(), StoreError> {
        for f in obj.fields.iter() {
            let Some(j) = junction(&self.meta.layout, obj, f) else {
                continue;
            };
            let (set_key, connect_key, disconnect_key) = link_inputs(f);
            let set = id_list(input, &set_key)?;
            let connect = id_list(input, &connect_key)?;
            let disconnect = id_list(input, &disconnect_key)?;
            let adding: Vec<String> = set
                .iter()
                .chain(connect.iter())
                .flatten()
                .cloned()
                .collect();
            // No statement when nothing is added.
            if let Some(missing) = self.first_missing(txn, counter, &j.target, &adding).await? {
                // The missing id comes back normalised (lower case).
                let named = |ids: &Option<Vec<String>>| {
                    ids.iter()
                        .flatten()
                        .any(|x| x.eq_ignore_ascii_case(&missing))
                };
                let key = if named(&set) { &set_key } else { &connect_key };
                return Err(StoreError::bad(
                    key,
                    format!("no {} with id {missing}", j.target),
                ));
            }
            let removing = match (&set, &disconnect) {
                (Some(_), _) => Some(None),
                (None, Some(ids)) if !ids.is_empty() => Some(Some(ids.clone())),
                _ => None,
            };
            if let Some(which) = removing {
                let mut sql = Sql::new(self.db.backend);
                sql.push("DELETE FROM ")
                    .push(&j.table)
                    .push(" WHERE ")
                    .ident(j.mine)
                    .push(" = ")
                    .param(self.uuid_value(id)?);
                if let Some(ids) = which {
                    sql.push(" AND ").ident(j.theirs);
                    sql.in_list(
                        ids.iter()
                            .map(|x| self.uuid_value(x))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                execute(txn, counter, sql).await?;
            }
            for other in adding {
                let mut sql = Sql::new(self.db.backend);
                sql.push("INSERT INTO ")
                    .push(&j.table)
                    .push(" (")
                    .ident(j.mine)
                    .push(", ")
                    .ident(j.theirs)
                    .push(") VALUES (");
                sql.param(self.uuid_value(id)?)
                    .push(", ")
                    .param(self.uuid_value(&other)?);
                sql.push(") ON CONFLICT DO NOTHING");
                execute(txn, counter, sql).await?;
            }
        }
        Ok(())
    }
}
