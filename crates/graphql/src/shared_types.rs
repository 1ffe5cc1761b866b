//! Types every workspace schema shares: scalars, operator filters,
//! composites, page info, directions.

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, InputObject, InputValue, Object, Scalar, Type, TypeRef,
};

/// Resolves a field of an object whose parent value is a JSON object.
pub(crate) fn json_member(name: &str, ty: TypeRef) -> Field {
    let key = name.to_string();
    Field::new(name, ty, move |ctx| {
        let key = key.clone();
        FieldFuture::new(async move {
            let v = ctx
                .parent_value
                .as_value()
                .and_then(|v| match v {
                    async_graphql::Value::Object(m) => m.get(key.as_str()).cloned(),
                    _ => None,
                })
                .filter(|v| *v != async_graphql::Value::Null);
            Ok(v.map(async_graphql::dynamic::FieldValue::value))
        })
    })
}

fn filter(name: &str, ty: &str, ops: &[&str]) -> InputObject {
    let mut o = InputObject::new(name);
    for op in ops {
        let t = match *op {
            "in" | "notIn" => TypeRef::named_nn_list(ty),
            "isNull" => TypeRef::named(TypeRef::BOOLEAN),
            _ => TypeRef::named(ty),
        };
        o = o.field(InputValue::new(*op, t));
    }
    o
}

pub(crate) const ORDERED_OPS: &[&str] = &[
    "eq", "neq", "gt", "gte", "lt", "lte", "in", "notIn", "isNull",
];
pub(crate) const STRING_OPS: &[&str] = &[
    "eq",
    "neq",
    "in",
    "notIn",
    "like",
    "ilike",
    "startsWith",
    "endsWith",
    "contains",
    "isNull",
];
pub(crate) const ENUM_OPS: &[&str] = &["eq", "neq", "in", "notIn", "isNull"];

/// The parts of composite types: (name, GraphQL scalar, filter type).
pub(crate) const CURRENCY_PARTS: &[(&str, &str, &str)] = &[
    ("amount", "Decimal", "DecimalFilter"),
    ("currencyCode", "String", "StringFilter"),
];
pub(crate) const ADDRESS_PARTS: &[(&str, &str, &str)] = &[
    ("street1", "String", "StringFilter"),
    ("street2", "String", "StringFilter"),
    ("city", "String", "StringFilter"),
    ("state", "String", "StringFilter"),
    ("postcode", "String", "StringFilter"),
    ("country", "String", "StringFilter"),
    ("latitude", "Float", "FloatFilter"),
    ("longitude", "Float", "FloatFilter"),
];
pub(crate) const FULL_NAME_PARTS: &[(&str, &str, &str)] = &[
    ("firstName", "String", "StringFilter"),
    ("lastName", "String", "StringFilter"),
];

fn composite(name: &str, parts: &[(&str, &str, &str)], required: &[&str]) -> Vec<Type> {
    let mut out = Object::new(name);
    let mut input = InputObject::new(format!("{name}Input"));
    let mut filter = InputObject::new(format!("{name}Filter"));
    let mut order = InputObject::new(format!("{name}OrderBy"));
    for (part, ty, filter_ty) in parts {
        let out_ty = if required.contains(part) {
            TypeRef::named_nn(*ty)
        } else {
            TypeRef::named(*ty)
        };
        out = out.field(json_member(part, out_ty));
        input = input.field(InputValue::new(*part, TypeRef::named(*ty)));
        filter = filter.field(InputValue::new(*part, TypeRef::named(*filter_ty)));
        order = order.field(InputValue::new(*part, TypeRef::named("OrderDirection")));
    }
    vec![out.into(), input.into(), filter.into(), order.into()]
}

pub(crate) fn all() -> Vec<Type> {
    let mut types: Vec<Type> = vec![
        Scalar::new("DateTime")
            .description("RFC 3339 date-time in UTC")
            .into(),
        Scalar::new("Date")
            .description("A calendar date, YYYY-MM-DD")
            .into(),
        Scalar::new("Decimal")
            .description("An exact decimal number as a string")
            .into(),
        Scalar::new("JSON").description("Any JSON value").into(),
        filter("StringFilter", TypeRef::STRING, STRING_OPS).into(),
        filter("IntFilter", TypeRef::INT, ORDERED_OPS).into(),
        filter("FloatFilter", TypeRef::FLOAT, ORDERED_OPS).into(),
        filter("DecimalFilter", "Decimal", ORDERED_OPS).into(),
        filter("DateFilter", "Date", ORDERED_OPS).into(),
        filter("DateTimeFilter", "DateTime", ORDERED_OPS).into(),
        filter("BooleanFilter", TypeRef::BOOLEAN, &["eq", "isNull"]).into(),
        filter("IDFilter", TypeRef::ID, ENUM_OPS).into(),
        Enum::new("OrderDirection")
            .items([
                "ASC",
                "DESC",
                "ASC_NULLS_FIRST",
                "ASC_NULLS_LAST",
                "DESC_NULLS_FIRST",
                "DESC_NULLS_LAST",
            ])
            .into(),
        Enum::new("DateGranularity")
            .items(["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"])
            .into(),
        Object::new("PageInfo")
            .field(json_member(
                "hasNextPage",
                TypeRef::named_nn(TypeRef::BOOLEAN),
            ))
            .field(json_member(
                "hasPreviousPage",
                TypeRef::named_nn(TypeRef::BOOLEAN),
            ))
            .field(json_member("startCursor", TypeRef::named(TypeRef::STRING)))
            .field(json_member("endCursor", TypeRef::named(TypeRef::STRING)))
            .into(),
        Object::new("Actor")
            .description("Who created a record: an API key or a member")
            .field(json_member("kind", TypeRef::named_nn(TypeRef::STRING)))
            .field(json_member("name", TypeRef::named_nn(TypeRef::STRING)))
            .into(),
    ];
    types.extend(composite(
        "Currency",
        CURRENCY_PARTS,
        &["amount", "currencyCode"],
    ));
    types.extend(composite("Address", ADDRESS_PARTS, &[]));
    types.extend(composite("FullName", FULL_NAME_PARTS, &[]));
    types
}
