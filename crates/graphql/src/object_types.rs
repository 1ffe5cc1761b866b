//! The types generated for one object (API.md): node, connection, edge,
//! filter, ordering, inputs, aggregates and groups.

use async_graphql::dynamic::{Enum, EnumItem, InputObject, InputValue, Object, Type, TypeRef};
use rapport_meta::{AggregateFn, Catalog, FieldDef, FieldType, ObjectDef, RelationKind};

use crate::resolve;
use crate::shared_types::{ENUM_OPS, json_member};

pub(crate) struct Generated {
    pub types: Vec<Type>,
}

pub(crate) fn type_name(object: &str) -> String {
    let mut c = object.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub(crate) fn enum_name(object: &ObjectDef, f: &FieldDef) -> String {
    format!("{}{}", object.type_name(), type_name(&f.name))
}

/// GraphQL scalar of a plain (non-composite, non-relation) field.
pub(crate) fn scalar_type(object: &ObjectDef, f: &FieldDef) -> String {
    match f.value_type() {
        FieldType::Integer | FieldType::Rating => TypeRef::INT.into(),
        FieldType::Number | FieldType::Percent => TypeRef::FLOAT.into(),
        FieldType::Decimal => "Decimal".into(),
        FieldType::Boolean => TypeRef::BOOLEAN.into(),
        FieldType::Date => "Date".into(),
        FieldType::DateTime => "DateTime".into(),
        FieldType::Json => "JSON".into(),
        FieldType::Select | FieldType::MultiSelect => enum_name(object, f),
        FieldType::Currency | FieldType::Address | FieldType::FullName => f
            .field_type
            .composite()
            .map(|c| c.type_name().to_string())
            .unwrap_or_default(),
        _ => TypeRef::STRING.into(),
    }
}

fn filter_type(object: &ObjectDef, f: &FieldDef) -> Option<String> {
    Some(match f.value_type() {
        FieldType::Integer | FieldType::Rating => "IntFilter".into(),
        FieldType::Number | FieldType::Percent => "FloatFilter".into(),
        FieldType::Decimal => "DecimalFilter".into(),
        FieldType::Boolean => "BooleanFilter".into(),
        FieldType::Date => "DateFilter".into(),
        FieldType::DateTime => "DateTimeFilter".into(),
        FieldType::Json => return None,
        FieldType::Select => format!("{}Filter", enum_name(object, f)),
        FieldType::MultiSelect => format!("{}ListFilter", enum_name(object, f)),
        FieldType::Currency | FieldType::Address | FieldType::FullName => {
            format!("{}Filter", scalar_type(object, f))
        }
        _ => "StringFilter".into(),
    })
}

/// The aggregates whose output type follows the field's.
const FIELD_AGGREGATES: [AggregateFn; 4] = [
    AggregateFn::Sum,
    AggregateFn::Avg,
    AggregateFn::Min,
    AggregateFn::Max,
];

/// Output type of `sum`/`avg`/`min`/`max` over a field, if it has one.
pub(crate) fn aggregate_type(f: &FieldDef, function: AggregateFn) -> Option<&'static str> {
    let numeric = match f.value_type() {
        FieldType::Integer | FieldType::Rating => Some(TypeRef::INT),
        FieldType::Number | FieldType::Percent => Some(TypeRef::FLOAT),
        FieldType::Decimal | FieldType::Currency => Some("Decimal"),
        _ => None,
    };
    match function {
        AggregateFn::Sum => numeric,
        AggregateFn::Avg => numeric.map(|t| if t == TypeRef::INT { TypeRef::FLOAT } else { t }),
        _ => numeric.or(match f.value_type() {
            FieldType::Date => Some("Date"),
            FieldType::DateTime => Some("DateTime"),
            _ => None,
        }),
    }
}

/// Fields a `…GroupBy` can group on, with their key type.
pub(crate) fn group_fields(object: &ObjectDef) -> Vec<(String, String)> {
    let mut out = vec![
        ("createdAt".to_string(), "DateTime".to_string()),
        ("ownerId".to_string(), TypeRef::ID.to_string()),
    ];
    for f in object.stored_fields() {
        match f.relation_kind() {
            Some(RelationKind::ManyToOne) => {
                out.push((format!("{}Id", f.name), TypeRef::ID.into()))
            }
            Some(_) => {}
            // Masked and sealed values would show through group keys.
            None if !f.filterable => {}
            None if f.field_type.composite().is_none()
                && !matches!(f.field_type, FieldType::Json | FieldType::MultiSelect) =>
            {
                out.push((f.name.clone(), scalar_type(object, f)));
            }
            None => {}
        }
    }
    out
}

pub(crate) fn for_object(catalog: &Catalog, object: &ObjectDef) -> Generated {
    let t = object.type_name();
    let mut types: Vec<Type> = Vec::new();
    node_type(catalog, object, &t, &mut types);
    select_enums(object, &mut types);
    connection_types(&t, &mut types);
    filter_and_order(object, &t, &mut types);
    write_inputs(object, &t, &mut types);
    aggregate_types(object, &t, &mut types);
    group_types(object, &t, &mut types);
    Generated { types }
}

/// The record type: system fields, then each field as the catalog shapes it.
fn node_type(catalog: &Catalog, object: &ObjectDef, t: &str, types: &mut Vec<Type>) {
    let mut node = Object::new(t).description(
        object
            .description
            .clone()
            .unwrap_or_else(|| object.label.clone()),
    );
    for f in resolve::system_fields(catalog) {
        node = node.field(f);
    }
    for f in &object.fields {
        let about = f.description.clone().unwrap_or_else(|| f.label.clone());
        for field in resolve::node_fields(catalog, object, f) {
            node = node.field(field.description(about.clone()));
        }
    }
    types.push(node.into());
}

/// Enums of select fields, with their filters.
fn select_enums(object: &ObjectDef, types: &mut Vec<Type>) {
    for f in object
        .fields
        .iter()
        .filter(|f| matches!(f.field_type, FieldType::Select | FieldType::MultiSelect))
    {
        let name = enum_name(object, f);
        types.push(
            Enum::new(&name)
                .description(&f.label)
                .items(
                    f.options
                        .iter()
                        .map(|o| EnumItem::new(&o.value).description(&o.label)),
                )
                .into(),
        );
        if f.field_type == FieldType::Select {
            let mut filter = InputObject::new(format!("{name}Filter"));
            for op in ENUM_OPS {
                let ty = match *op {
                    "in" | "notIn" => TypeRef::named_nn_list(&name),
                    "isNull" => TypeRef::named(TypeRef::BOOLEAN),
                    _ => TypeRef::named(&name),
                };
                filter = filter.field(InputValue::new(*op, ty));
            }
            types.push(filter.into());
        } else {
            types.push(
                InputObject::new(format!("{name}ListFilter"))
                    .field(InputValue::new(
                        "containsAny",
                        TypeRef::named_nn_list(&name),
                    ))
                    .field(InputValue::new(
                        "containsAll",
                        TypeRef::named_nn_list(&name),
                    ))
                    .field(InputValue::new("isEmpty", TypeRef::named(TypeRef::BOOLEAN)))
                    .into(),
            );
        }
    }
}

/// Connection and edge.
fn connection_types(t: &str, types: &mut Vec<Type>) {
    types.push(
        Object::new(format!("{t}Edge"))
            .field(resolve::edge_cursor())
            .field(resolve::edge_node(t))
            .into(),
    );
    types.push(
        Object::new(format!("{t}Connection"))
            .field(resolve::connection_edges(t))
            .field(resolve::connection_nodes(t))
            .field(resolve::connection_page_info())
            .field(resolve::connection_total())
            .into(),
    );
}

/// Filter and ordering inputs; a list filter (`some`, `none`, `every`) for relations to it.
fn filter_and_order(object: &ObjectDef, t: &str, types: &mut Vec<Type>) {
    types.push(record_filter(object, t).into());
    types.push(record_order(object, t).into());
    types.push(
        InputObject::new(format!("{t}ListFilter"))
            .field(InputValue::new(
                "some",
                TypeRef::named(format!("{t}Filter")),
            ))
            .field(InputValue::new(
                "none",
                TypeRef::named(format!("{t}Filter")),
            ))
            .field(InputValue::new(
                "every",
                TypeRef::named(format!("{t}Filter")),
            ))
            .into(),
    );
}

fn record_filter(object: &ObjectDef, t: &str) -> InputObject {
    let mut filter = InputObject::new(format!("{t}Filter"))
        .field(InputValue::new(
            "and",
            TypeRef::named_nn_list(format!("{t}Filter")),
        ))
        .field(InputValue::new(
            "or",
            TypeRef::named_nn_list(format!("{t}Filter")),
        ))
        .field(InputValue::new("not", TypeRef::named(format!("{t}Filter"))))
        .field(InputValue::new("id", TypeRef::named("IDFilter")))
        .field(InputValue::new(
            "createdAt",
            TypeRef::named("DateTimeFilter"),
        ))
        .field(InputValue::new(
            "updatedAt",
            TypeRef::named("DateTimeFilter"),
        ))
        .field(InputValue::new(
            "deletedAt",
            TypeRef::named("DateTimeFilter"),
        ))
        .field(InputValue::new("version", TypeRef::named("IntFilter")))
        .field(InputValue::new("ownerId", TypeRef::named("IDFilter")));
    for f in &object.fields {
        match f.relation.as_ref().map(|r| (r.kind, r.target.clone())) {
            Some((RelationKind::ManyToOne, target)) => {
                filter = filter
                    .field(InputValue::new(
                        &f.name,
                        TypeRef::named(format!("{}Filter", type_name(&target))),
                    ))
                    .field(InputValue::new(
                        format!("{}Id", f.name),
                        TypeRef::named("IDFilter"),
                    ));
            }
            Some((RelationKind::Polymorphic, _)) => {
                filter = filter
                    .field(InputValue::new(
                        format!("{}Object", f.name),
                        TypeRef::named("StringFilter"),
                    ))
                    .field(InputValue::new(
                        format!("{}Id", f.name),
                        TypeRef::named("IDFilter"),
                    ));
            }
            Some((_, target)) => {
                filter = filter.field(InputValue::new(
                    &f.name,
                    TypeRef::named(format!("{}ListFilter", type_name(&target))),
                ));
            }
            None if !f.filterable => {}
            None => {
                if let Some(ft) = filter_type(object, f) {
                    filter = filter.field(InputValue::new(&f.name, TypeRef::named(ft)));
                }
            }
        }
    }
    filter
}

fn record_order(object: &ObjectDef, t: &str) -> InputObject {
    let mut order = InputObject::new(format!("{t}OrderBy"));
    for sys in ["id", "createdAt", "updatedAt", "deletedAt", "version"] {
        order = order.field(InputValue::new(sys, TypeRef::named("OrderDirection")));
    }
    for f in &object.fields {
        match f.relation.as_ref().map(|r| (r.kind, r.target.clone())) {
            Some((RelationKind::ManyToOne, target)) => {
                order = order
                    .field(InputValue::new(
                        &f.name,
                        TypeRef::named(format!("{}OrderBy", type_name(&target))),
                    ))
                    .field(InputValue::new(
                        format!("{}Id", f.name),
                        TypeRef::named("OrderDirection"),
                    ));
            }
            Some(_) => {}
            None if !f.filterable => {}
            None => match f.field_type {
                FieldType::Json | FieldType::MultiSelect => {}
                FieldType::Currency | FieldType::Address | FieldType::FullName => {
                    order = order.field(InputValue::new(
                        &f.name,
                        TypeRef::named(format!("{}OrderBy", scalar_type(object, f))),
                    ));
                }
                _ => {
                    order = order.field(InputValue::new(&f.name, TypeRef::named("OrderDirection")))
                }
            },
        }
    }
    order
}

/// Create and update inputs: a required field without a default is non-null when creating.
fn write_inputs(object: &ObjectDef, t: &str, types: &mut Vec<Type>) {
    let mut create = InputObject::new(format!("{t}CreateInput"))
        .field(InputValue::new("ownerId", TypeRef::named(TypeRef::ID)));
    let mut update = InputObject::new(format!("{t}UpdateInput"))
        .field(InputValue::new("ownerId", TypeRef::named(TypeRef::ID)));
    for f in object.stored_fields().filter(|f| !f.read_only) {
        let inputs: Vec<(String, TypeRef)> = match f.relation_kind() {
            Some(RelationKind::ManyToOne) => {
                vec![(format!("{}Id", f.name), TypeRef::named(TypeRef::ID))]
            }
            Some(RelationKind::Polymorphic) => vec![
                (format!("{}Object", f.name), TypeRef::named(TypeRef::STRING)),
                (format!("{}Id", f.name), TypeRef::named(TypeRef::ID)),
            ],
            _ => {
                let ty = scalar_type(object, f);
                let ty = match f.field_type {
                    FieldType::MultiSelect => TypeRef::named_nn_list(ty),
                    FieldType::Currency | FieldType::Address | FieldType::FullName => {
                        TypeRef::named(format!("{ty}Input"))
                    }
                    _ => TypeRef::named(ty),
                };
                vec![(f.name.clone(), ty)]
            }
        };
        // A required field without a default is non-null when creating, so
        // typed clients catch its absence; updates leave fields out freely.
        let needed = f.required && f.default.is_none();
        for (name, ty) in inputs {
            let create_ty = match (&ty, needed) {
                (TypeRef::Named(n), true) => TypeRef::NonNull(Box::new(TypeRef::Named(n.clone()))),
                _ => ty.clone(),
            };
            create = create.field(InputValue::new(&name, create_ty));
            update = update.field(InputValue::new(&name, ty));
        }
    }
    for f in object
        .fields
        .iter()
        .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
    {
        let (set, connect, disconnect) = rapport_store::link_inputs(f);
        create = create.field(InputValue::new(&set, TypeRef::named_nn_list(TypeRef::ID)));
        update = update
            .field(InputValue::new(&set, TypeRef::named_nn_list(TypeRef::ID)))
            .field(InputValue::new(
                connect,
                TypeRef::named_nn_list(TypeRef::ID),
            ))
            .field(InputValue::new(
                disconnect,
                TypeRef::named_nn_list(TypeRef::ID),
            ));
    }
    types.push(create.into());
    types.push(update.into());
}

/// Aggregates: count, distinct counts, and the functions some field takes.
fn aggregate_types(object: &ObjectDef, t: &str, types: &mut Vec<Type>) {
    let mut aggregate = Object::new(format!("{t}Aggregate"))
        .field(json_member("count", TypeRef::named_nn(TypeRef::INT)));
    for function in FIELD_AGGREGATES {
        let sub = format!("{t}Aggregate{}", type_name(function.name()));
        let mut o = Object::new(&sub);
        let mut any = false;
        for f in object.fields.iter() {
            if let Some(ty) = aggregate_type(f, function) {
                o = o.field(json_member(&f.name, TypeRef::named(ty)));
                any = true;
            }
        }
        if any {
            types.push(o.into());
            aggregate = aggregate.field(json_member(function.name(), TypeRef::named_nn(&sub)));
        }
    }
    let distinct = format!("{t}AggregateCountDistinct");
    let mut d = Object::new(&distinct);
    for (name, _) in group_fields(object) {
        d = d.field(json_member(&name, TypeRef::named_nn(TypeRef::INT)));
    }
    types.push(d.into());
    aggregate = aggregate.field(json_member("countDistinct", TypeRef::named_nn(&distinct)));
    types.push(aggregate.into());
}

/// Group-by: the groupable fields, a group's key and its aggregates.
fn group_types(object: &ObjectDef, t: &str, types: &mut Vec<Type>) {
    let groupable = group_fields(object);
    types.push(
        Enum::new(format!("{t}GroupField"))
            .items(groupable.iter().map(|(n, _)| n.clone()))
            .into(),
    );
    let mut key = Object::new(format!("{t}GroupKey"));
    for (name, ty) in &groupable {
        key = key.field(json_member(name, TypeRef::named(ty)));
    }
    types.push(key.into());
    let mut group = Object::new(format!("{t}Group"))
        .field(json_member(
            "key",
            TypeRef::named_nn(format!("{t}GroupKey")),
        ))
        .field(json_member("count", TypeRef::named_nn(TypeRef::INT)));
    for function in FIELD_AGGREGATES {
        let sub = format!("{t}Aggregate{}", type_name(function.name()));
        if object
            .fields
            .iter()
            .any(|f| aggregate_type(f, function).is_some())
        {
            group = group.field(json_member(function.name(), TypeRef::named_nn(&sub)));
        }
    }
    types.push(group.into());
}
