//! Many-to-many links: `<field>Ids` sets a record's links, `connect<Field>`
//! and `disconnect<Field>` add and remove some, all in the write's transaction.

use rapport_meta::{FieldDef, ObjectDef, RelationKind};
use rapport_query::{
    Cond, Delete, Insert, Layout, Scalar, Statement, junction_columns, junction_of,
};
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
    let (mine, theirs) = junction_columns(f);
    Some(Junction {
        table: layout.table(&junction_of(&obj.name, f)),
        mine,
        theirs,
        target: rel.target.clone(),
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
                let mut filter = vec![Cond::Eq(j.mine.into(), self.uuid_value(id)?)];
                if let Some(ids) = which {
                    let ids = ids.iter().map(|x| self.uuid_value(x));
                    filter.push(Cond::In(j.theirs.into(), ids.collect::<Result<_, _>>()?));
                }
                let unlink = Statement::Delete(Delete {
                    table: j.table.clone(),
                    filter,
                });
                execute(txn, counter, unlink.print(self.db.backend)).await?;
            }
            for other in adding {
                let link = Statement::Insert(Insert {
                    table: j.table.clone(),
                    columns: vec![j.mine.into(), j.theirs.into()],
                    values: vec![self.uuid_value(id)?, self.uuid_value(&other)?],
                    unless_present: true,
                });
                execute(txn, counter, link.print(self.db.backend)).await?;
            }
        }
        Ok(())
    }
}
