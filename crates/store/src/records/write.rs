//! Creating and updating records: validation, references, upserts.

use std::collections::HashMap;

use rapport_meta::{FieldType, ObjectDef, RecordValidator, RelationKind};
use rapport_query::{
    ConnectionQuery, Filter, Scalar, WriteSet, connection_sql, id_column, insert_sql,
    object_column, update_sql,
};
use serde_json::Value;

use crate::change::RecordChange;
use crate::db::{StatementCounter, query};
use crate::error::StoreError;
use crate::metadata::numbered_fields;
use crate::records::read::ByIds;
use crate::records::{
    Actor, MAX_BATCH, Record, RecordStore, Writing, check_uuid, now_value, unique_conflict,
};

impl RecordStore {
    /// Turns GraphQL-shaped input into column values, after JSON Schema validation.
    pub(crate) fn write_set(
        &self,
        obj: &ObjectDef,
        input: &Record,
        creating: bool,
        path: &str,
    ) -> Result<WriteSet, StoreError> {
        let validator = self
            .validators
            .get(&obj.name)
            .ok_or_else(|| StoreError::Internal("validator missing".into()))?
            .get_or_init(|| {
                RecordValidator::new(self.meta.catalog.object(&obj.name).unwrap_or(obj))
            });
        // Defaults are filled in on a copy, made only when one applies.
        let mut input = std::borrow::Cow::Borrowed(input);
        if creating {
            for f in obj
                .stored_fields()
                .filter(|f| f.default.is_some() && !f.read_only)
            {
                if !input.contains_key(&f.name) {
                    input
                        .to_mut()
                        .insert(f.name.clone(), f.default.clone().unwrap_or(Value::Null));
                }
            }
        }
        validator
            .validate(&input, creating)
            .map_err(|e| StoreError::bad(format!("{path}{}", e.field), e.reason))?;
        let mut set = WriteSet::default();
        if let Some(owner) = input.get("ownerId") {
            set.set(
                "ownerId",
                self.encode(Scalar::Uuid, owner, &format!("{path}ownerId"))?,
            );
        }
        for (f, columns) in obj.stored_fields().zip(self.write_columns(obj)) {
            for c in columns {
                let Some(given) = input.get(&c.key) else {
                    continue;
                };
                let value = match (c.part, given) {
                    (_, Value::Null) => Value::Null,
                    (Some(part), v) => v.get(part).cloned().unwrap_or(Value::Null),
                    (None, v) => v.clone(),
                };
                if f.read_only && !value.is_null() {
                    return Err(StoreError::bad(format!("{path}{}", c.key), "is read-only"));
                }
                let value = match value {
                    Value::String(clear) if f.field_type == FieldType::EncryptedText => {
                        let keys = self.db.keys()?;
                        Value::String(keys.seal(self.seal_context(obj, f)?, &clear)?)
                    }
                    v => v,
                };
                let encoded = rapport_query::encode(self.db.backend, c.scalar, &value)
                    .map_err(|r| StoreError::bad(format!("{path}{}", c.key), r))?;
                set.set(c.name.clone(), encoded);
            }
        }
        Ok(set)
    }

    /// Every `…Id` in the inputs must name a live record of its target.
    pub(crate) async fn check_references<R: std::borrow::Borrow<Record>>(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        counter: &StatementCounter,
        obj: &ObjectDef,
        inputs: &[R],
    ) -> Result<(), StoreError> {
        // An owner is a live member, once the workspace has members.
        if self.meta.catalog.object("workspaceMember").is_some() {
            let mut owners: Vec<String> = inputs
                .iter()
                .filter_map(|i| {
                    let id = i.borrow().get("ownerId").and_then(Value::as_str)?;
                    Some(id.to_string())
                })
                .collect();
            owners.sort_unstable();
            owners.dedup();
            if let Some(bad) = owners.iter().find(|id| uuid::Uuid::parse_str(id).is_err()) {
                return Err(StoreError::bad("ownerId", format!("`{bad}` is not a UUID")));
            }
            // Whether the member exists is the platform's check, not a read
            // by the caller: a role that reads only its own records (members
            // included) still names itself or another member as owner.
            if let Some(missing) = self
                .unscoped()
                .first_missing(txn, counter, "workspaceMember", &owners)
                .await?
            {
                return Err(StoreError::bad(
                    "ownerId",
                    format!("no workspaceMember with id {missing}"),
                ));
            }
        }
        for f in obj.fields.iter().filter(|f| {
            matches!(
                f.relation_kind(),
                Some(RelationKind::ManyToOne) | Some(RelationKind::Polymorphic)
            )
        }) {
            let rel = f.relation.as_ref().expect("relation");
            let key = id_column(f);
            let mut wanted: HashMap<String, Vec<String>> = HashMap::new();
            for input in inputs {
                let input = input.borrow();
                let Some(id) = input.get(&key).and_then(Value::as_str) else {
                    continue;
                };
                let target = if rel.kind == RelationKind::Polymorphic {
                    let object_key = object_column(f);
                    let t = input
                        .get(&object_key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            StoreError::bad(&object_key, "names the object of the related record")
                        })?;
                    let allowed = rel.targets.iter().any(|x| x == "*" || x == t);
                    if !allowed || self.meta.catalog.object(t).is_none() {
                        return Err(StoreError::bad(
                            &object_key,
                            format!("`{t}` is not a target of `{}`", f.name),
                        ));
                    }
                    t.to_string()
                } else {
                    rel.target.clone()
                };
                wanted.entry(target).or_default().push(id.to_string());
            }
            for (target, mut ids) in wanted {
                // Many children of one parent: ask for the parent once.
                ids.sort_unstable();
                ids.dedup();
                if let Some(missing) = self.first_missing(txn, counter, &target, &ids).await? {
                    return Err(StoreError::bad(
                        &key,
                        format!("no {target} with id {missing}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates records in one transaction; with `upsert_on`, a record whose
    /// values of those fields match an existing one updates it instead.
    pub async fn create(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        inputs: &[Record],
        upsert_on: Option<&[String]>,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        if inputs.len() > MAX_BATCH {
            return Err(StoreError::bad(
                "data",
                format!("at most {MAX_BATCH} records per batch"),
            ));
        }
        if let Some(keys) = upsert_on {
            if keys.is_empty() {
                return Err(StoreError::bad("upsertOn", "name at least one field"));
            }
            for k in keys {
                let ok = obj.field(k).is_some_and(|f| {
                    f.is_stored() && f.field_type.composite().is_none() && f.relation.is_none()
                });
                if !ok {
                    return Err(StoreError::bad(
                        "upsertOn",
                        format!("`{k}` is not a plain field of `{object}`"),
                    ));
                }
            }
        }
        let txn = self.db.begin_write().await?;
        let out = self
            .create_in(
                Writing {
                    txn: &txn,
                    counter,
                    actor,
                },
                obj,
                inputs,
                upsert_on,
            )
            .await?;
        txn.commit().await?;
        Ok(out)
    }

    /// Creates records inside a caller's transaction (validated, references
    /// checked, auto-numbers taken, links written, computed fields read back).
    pub(crate) async fn create_in(
        &self,
        w: Writing<'_>,
        obj: &ObjectDef,
        inputs: &[Record],
        upsert_on: Option<&[String]>,
    ) -> Result<Vec<Record>, StoreError> {
        let Writing {
            txn,
            counter,
            actor,
        } = w;
        self.touched(obj);
        self.check_references(txn, counter, obj, inputs).await?;
        let now = now_value();
        let mut out = Vec::with_capacity(inputs.len());
        let mut changes = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let path = if inputs.len() > 1 {
                format!("data[{i}].")
            } else {
                String::new()
            };
            if let Some(keys) = upsert_on {
                let mut filter = Filter::everything();
                for k in keys {
                    let v = input.get(k).cloned().unwrap_or(Value::Null);
                    if v.is_null() {
                        return Err(StoreError::bad(
                            format!("{path}{k}"),
                            "an upsert key needs a value",
                        ));
                    }
                    filter = filter.and(Filter::eq(k.as_str(), v));
                }
                let q = ConnectionQuery {
                    filter: Some(filter),
                    first: Some(1),
                    ..Default::default()
                };
                let plan = connection_sql(&self.meta.catalog, self.layout(), obj, &q)?;
                let rows = query(txn, counter, self.tagged(plan.sql.clone())).await?;
                if let Some(row) = rows.first() {
                    let existing = self.decode(obj, row, &plan.columns)?;
                    let id = existing["id"].as_str().unwrap_or_default().to_string();
                    out.push(self.update_in(w, obj, &id, input, None, &path).await?);
                    continue;
                }
            }
            let mut set = self.write_set(obj, input, true, &path)?;
            let id = uuid::Uuid::now_v7().to_string();
            set.set("id", self.encode(Scalar::Uuid, &Value::String(id), "id")?);
            set.set(
                "createdAt",
                self.encode(Scalar::DateTime, &now, "createdAt")?,
            );
            set.set(
                "updatedAt",
                self.encode(Scalar::DateTime, &now, "updatedAt")?,
            );
            set.set("version", sea_query::Value::BigInt(Some(1)));
            for field in numbered_fields(&self.meta.field_ids, obj)? {
                let number = field.draw(txn, self.layout(), 1).await?.pop();
                set.set(field.name, sea_query::Value::String(number));
            }
            set.set(
                "createdBy",
                sea_query::Value::String(Some(format!("{}:{}", actor.kind, actor.name))),
            );
            let (sql, columns) = insert_sql(self.layout(), obj, &set);
            let rows = query(txn, counter, self.tagged(sql))
                .await
                .map_err(|e| unique_conflict(e, obj))?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::Internal("insert returned nothing".into()))?;
            let created = self.decode(obj, row, &columns)?;
            let id = created["id"].as_str().unwrap_or_default().to_string();
            self.write_links(txn, counter, obj, &id, input).await?;
            changes.push(RecordChange::between(obj, None, &created));
            out.push(created);
        }
        self.changed(txn, counter, actor, &changes).await?;
        self.with_computed(txn, counter, obj, out).await
    }

    /// The first of `ids` that names no live record of `object` the caller
    /// may see.
    /// Which of `values` a record of `obj` holds in `column`, deleted records
    /// included (their values stay taken), compared as text. Only asked
    /// when an insert failed on a unique value, to name the lines at fault.
    pub(crate) async fn taken_values(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        counter: &StatementCounter,
        obj: &ObjectDef,
        column: &rapport_query::Column,
        values: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let backend = self.db.backend;
        let mut taken = std::collections::HashSet::new();
        for chunk in values.chunks(500) {
            let mut text = rapport_query::Sql::new(backend);
            match backend {
                rapport_query::Backend::Postgres => {
                    text.ident(&column.name).push("::text");
                }
                rapport_query::Backend::Sqlite => {
                    text.push("CAST(").ident(&column.name).push(" AS TEXT)");
                }
            }
            let mut sql = rapport_query::Sql::new(backend);
            sql.push("SELECT ")
                .push(&text.text)
                .push(" FROM ")
                .push(&self.meta.layout.table(&obj.name))
                .push(" WHERE ")
                .push(&text.text)
                .push(" IN (");
            sql.params_list(
                chunk
                    .iter()
                    .map(|v| sea_query::Value::String(Some(v.clone()))),
            )
            .push(")");
            for row in query(conn, counter, self.tagged(sql)).await? {
                taken.insert(row.try_get_by_index::<String>(0)?);
            }
        }
        Ok(taken)
    }

    pub(crate) async fn first_missing(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
    ) -> Result<Option<String>, StoreError> {
        if ids.is_empty() {
            return Ok(None);
        }
        let sql = rapport_query::missing_id_sql(
            &self.meta.catalog,
            self.layout(),
            self.object(object)?,
            ids,
        )?;
        let rows = query(txn, counter, self.tagged(sql)).await?;
        Ok(rows
            .first()
            .map(|row| row.try_get_by_index::<String>(0))
            .transpose()?)
    }

    pub(crate) async fn update_in(
        &self,
        w: Writing<'_>,
        obj: &ObjectDef,
        id: &str,
        input: &Record,
        expected_version: Option<i64>,
        path: &str,
    ) -> Result<Record, StoreError> {
        let Writing {
            txn,
            counter,
            actor,
        } = w;
        self.touched(obj);
        let before = self
            .by_ids_in(
                txn,
                counter,
                &obj.name,
                &[id.to_string()],
                ByIds::WITH_DELETED,
            )
            .await?
            .remove(id)
            .ok_or_else(|| StoreError::NotFound(format!("no {} with id {id}", obj.name)))?;
        let stale = |now: &Value| {
            StoreError::Conflict(format!(
                "version is {now}, not {}: reload and try again",
                expected_version.unwrap_or_default()
            ))
        };
        if let Some(v) = expected_version
            && before.get("version").and_then(Value::as_i64) != Some(v)
        {
            return Err(stale(before.get("version").unwrap_or(&Value::Null)));
        }
        let mut set = self.write_set(obj, input, false, path)?;
        set.set(
            "updatedAt",
            self.encode(Scalar::DateTime, &now_value(), "updatedAt")?,
        );
        let (sql, columns) = update_sql(self.layout(), obj, id, &set, expected_version);
        let rows = query(txn, counter, self.tagged(sql))
            .await
            .map_err(|e| unique_conflict(e, obj))?;
        // The version check in the statement catches a writer between the read and here.
        let row = rows.first().ok_or_else(|| stale(&Value::Null))?;
        self.write_links(txn, counter, obj, id, input).await?;
        let after = self.decode(obj, row, &columns)?;
        let change = RecordChange::between(obj, Some(&before), &after);
        self.changed(txn, counter, actor, &[change]).await?;
        Ok(after)
    }

    pub async fn update(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        id: &str,
        input: &Record,
        expected_version: Option<i64>,
    ) -> Result<Record, StoreError> {
        let obj = self.object(object)?;
        check_uuid(id)?;
        let txn = self.db.begin_write().await?;
        self.check_references(&txn, counter, obj, std::slice::from_ref(input))
            .await?;
        let r = self
            .update_in(
                Writing {
                    txn: &txn,
                    counter,
                    actor,
                },
                obj,
                id,
                input,
                expected_version,
                "",
            )
            .await?;
        let mut r = self.with_computed(&txn, counter, obj, vec![r]).await?;
        txn.commit().await?;
        r.pop()
            .ok_or_else(|| StoreError::Internal("update lost its record".into()))
    }

    pub async fn update_many(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        filter: &Filter,
        input: &Record,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        let txn = self.db.begin_write().await?;
        self.check_references(&txn, counter, obj, std::slice::from_ref(input))
            .await?;
        let ids = self.matching_ids(&txn, counter, obj, filter, false).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(
                self.update_in(
                    Writing {
                        txn: &txn,
                        counter,
                        actor,
                    },
                    obj,
                    id,
                    input,
                    None,
                    "",
                )
                .await?,
            );
        }
        let out = self.with_computed(&txn, counter, obj, out).await?;
        txn.commit().await?;
        Ok(out)
    }
}
