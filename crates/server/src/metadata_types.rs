//! What the metadata API answers about objects, fields and migrations.

use async_graphql::{Json, SimpleObject};
use rapport_meta::{FieldDef, ObjectDef, export_document};
use rapport_store::{MigrationPlan as StorePlan, WorkspaceMeta};
use serde_json::Value;

#[derive(SimpleObject)]
pub(crate) struct RelationMetadata {
    target: String,
    kind: String,
    inverse: Option<String>,
    on_delete: String,
}

#[derive(SimpleObject)]
pub(crate) struct FieldMetadata {
    id: String,
    pub(crate) name: String,
    label: String,
    description: Option<String>,
    #[graphql(name = "type")]
    field_type: String,
    is_required: bool,
    is_unique: bool,
    is_system: bool,
    is_custom: bool,
    pub(crate) is_deleted: bool,
    options: Option<Json<Value>>,
    relation: Option<RelationMetadata>,
}

#[derive(SimpleObject)]
pub(crate) struct ObjectMetadata {
    id: String,
    name: String,
    plural_name: String,
    label: String,
    label_plural: String,
    description: Option<String>,
    module: Option<String>,
    is_system: bool,
    is_custom: bool,
    title_field: Option<String>,
    pub(crate) fields: Vec<FieldMetadata>,
    json_schema: Json<Value>,
    version: i64,
}

#[derive(SimpleObject)]
pub(crate) struct MigrationStep {
    action: String,
    object: String,
    field: Option<String>,
    detail: String,
}

#[derive(SimpleObject)]
pub(crate) struct MigrationPlan {
    steps: Vec<MigrationStep>,
    metadata_version: i64,
}

impl From<StorePlan> for MigrationPlan {
    fn from(p: StorePlan) -> Self {
        MigrationPlan {
            steps: p
                .steps
                .into_iter()
                .map(|s| MigrationStep {
                    action: s.action,
                    object: s.object,
                    field: s.field,
                    detail: s.detail,
                })
                .collect(),
            metadata_version: p.metadata_version,
        }
    }
}

pub(crate) fn field_metadata(
    meta: &WorkspaceMeta,
    object: &ObjectDef,
    f: &FieldDef,
    deleted: bool,
) -> FieldMetadata {
    let id = meta
        .field_ids
        .get(&(object.name.clone(), f.name.clone()))
        .cloned()
        .unwrap_or_else(|| format!("generated:{}.{}", object.name, f.name));
    FieldMetadata {
        id,
        name: f.name.clone(),
        label: f.label.clone(),
        description: f.description.clone(),
        field_type: f.field_type.as_str().to_string(),
        is_required: f.required,
        is_unique: f.unique,
        is_system: f.is_system,
        is_custom: !f.is_system && !f.generated,
        is_deleted: deleted,
        options: (!f.options.is_empty()).then(|| {
            Json(Value::Array(
                f.options.iter().map(|o| o.raw.clone()).collect(),
            ))
        }),
        relation: f.relation.as_ref().map(|r| RelationMetadata {
            target: if r.targets.is_empty() {
                r.target.clone()
            } else {
                r.targets.join(",")
            },
            kind: r.kind.as_str().to_string(),
            inverse: r.inverse.clone(),
            on_delete: r.on_delete.as_str().to_string(),
        }),
    }
}

/// `o` as a role sees it; deleted fields are listed to roles that see the
/// whole catalog.
pub(crate) fn object_metadata(meta: &WorkspaceMeta, o: &ObjectDef, whole: bool) -> ObjectMetadata {
    let mut fields: Vec<FieldMetadata> = o
        .fields
        .iter()
        .map(|f| field_metadata(meta, o, f, false))
        .collect();
    if whole && let Some(deleted) = meta.deleted_fields.get(&o.name) {
        fields.extend(deleted.iter().map(|f| field_metadata(meta, o, f, true)));
    }
    ObjectMetadata {
        id: meta.object_ids.get(&o.name).cloned().unwrap_or_default(),
        name: o.name.clone(),
        plural_name: o.plural_name.clone(),
        label: o.label.clone(),
        label_plural: o.label_plural.clone(),
        description: o.description.clone(),
        module: o.module.clone(),
        is_system: o.is_system,
        is_custom: !o.is_system,
        title_field: o.title_field.clone(),
        fields,
        json_schema: Json(export_document(o)),
        version: meta.version,
    }
}
