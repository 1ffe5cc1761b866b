//! The typed filter and ordering: what the layers above build with
//! constructors compiles exactly as the API's input form does, and what
//! does not fit is refused as bad input, never compiled.

mod support;

use rapport_meta::Catalog;
use rapport_query::{
    Backend, Comparison, Direction, FieldTest, Filter, Layout, Order, OrderBy, Quantifier, Sql,
    compile_filter,
};
use serde_json::{Value, json};

fn compiled(catalog: &Catalog, object: &str, filter: &Filter) -> Result<Sql, String> {
    let object = catalog.object(object).expect("a known object");
    let mut sql = Sql::new(Backend::Postgres);
    let layout = Layout::new(Backend::Postgres, "ws");
    compile_filter(&mut sql, catalog, &layout, object, "t0", filter)
        .map(|()| sql)
        .map_err(|e| e.to_string())
}

fn parsed(catalog: &Catalog, object: &str, input: Value) -> Result<Filter, String> {
    let obj = catalog.object(object).expect("a known object");
    Filter::parse(catalog, obj, &input, "filter").map_err(|e| e.to_string())
}

/// A constructor's filter and the input it stands for compile to the same
/// statement text and parameters.
fn same_as_input(catalog: &Catalog, object: &str, built: Filter, input: Value) {
    let from_input = parsed(catalog, object, input.clone()).expect("the input parses");
    assert_eq!(built, from_input, "{input}");
    let (a, b) = (
        compiled(catalog, object, &built).expect("compiles"),
        compiled(catalog, object, &from_input).expect("compiles"),
    );
    assert_eq!((a.text, a.params), (b.text, b.params), "{input}");
}

#[test]
fn constructors_build_what_the_input_form_says() {
    let catalog = support::catalog();
    let id = "01900000-0000-7000-8000-000000000001";
    let other = "01900000-0000-7000-8000-000000000002";
    same_as_input(
        &catalog,
        "opportunity",
        Filter::eq("ownerId", id),
        json!({ "ownerId": { "eq": id } }),
    );
    same_as_input(
        &catalog,
        "opportunity",
        Filter::one_of("id", [id, other]),
        json!({ "id": { "in": [id, other] } }),
    );
    same_as_input(
        &catalog,
        "company",
        Filter::nothing(),
        json!({ "id": { "in": [] } }),
    );
    same_as_input(
        &catalog,
        "company",
        Filter::equals_ignoring_case("name", "50%_off"),
        json!({ "name": { "ilike": "50\\%\\_off" } }),
    );
    same_as_input(
        &catalog,
        "note",
        Filter::eq("relatedObject", "lead").and(Filter::eq("relatedId", id)),
        json!({ "relatedObject": { "eq": "lead" }, "relatedId": { "eq": id } }),
    );
    same_as_input(
        &catalog,
        "opportunity",
        Filter::any([Filter::eq("ownerId", id), Filter::one_of("id", [other])]),
        json!({ "or": [{ "ownerId": { "eq": id } }, { "id": { "in": [other] } }] }),
    );
    same_as_input(
        &catalog,
        "company",
        Filter::all([Filter::neq("id", id), Filter::everything()]),
        json!({ "and": [{ "id": { "neq": id } }, {}] }),
    );
    same_as_input(
        &catalog,
        "company",
        Filter::test(
            "opportunities",
            FieldTest::Children(vec![(Quantifier::Some, Filter::eq("ownerId", id))]),
        ),
        json!({ "opportunities": { "some": { "ownerId": { "eq": id } } } }),
    );
}

#[test]
fn a_test_that_does_not_fit_its_field_is_refused() {
    let catalog = support::catalog();
    // A parent's filter on a text field, a comparison on a list.
    let parent_on_text = Filter::test("name", FieldTest::Parent(Box::new(Filter::everything())));
    let refused = compiled(&catalog, "company", &parent_on_text).expect_err("refused");
    assert!(refused.contains("filter.name"), "{refused}");
    let compare_on_list = Filter::eq("opportunities", "x");
    assert!(compiled(&catalog, "company", &compare_on_list).is_err());
    // An operator the field's type does not take, built by hand.
    let ordered_on_bool = Filter::compare("electric", Comparison::Gt(json!(true)));
    let refused = compiled(&catalog, "vehicle", &ordered_on_bool).expect_err("refused");
    assert!(refused.contains("operator does not apply"), "{refused}");
}

#[test]
fn input_is_read_against_the_catalog_with_its_place_named() {
    let catalog = support::catalog();
    for (input, place) in [
        (json!({ "nope": { "eq": 1 } }), "filter.nope"),
        (json!({ "name": { "gt": "a", "in": 5 } }), "filter.name.gt"),
        (
            json!({ "and": [{}, { "name": { "isNull": "yes" } }] }),
            "filter.and[1].name.isNull",
        ),
        (
            json!({ "opportunities": { "most": {} } }),
            "filter.opportunities.most",
        ),
        (
            json!({ "address": { "town": { "eq": "x" } } }),
            "filter.address",
        ),
        (json!([]), "filter"),
    ] {
        let refused = parsed(&catalog, "company", input.clone()).expect_err("refused");
        assert!(
            refused.starts_with(&format!("{place}:")),
            "{input}: {refused}"
        );
    }
}

#[test]
fn a_filter_nested_past_any_input_limit_is_refused_not_recursed_into() {
    let catalog = support::catalog();
    let mut deep = json!({ "name": { "eq": "x" } });
    for _ in 0..100 {
        deep = json!({ "not": deep });
    }
    let refused = parsed(&catalog, "company", deep).expect_err("refused");
    assert!(refused.contains("nests too deep"), "{refused}");
    let mut shallow = json!({ "name": { "eq": "x" } });
    for _ in 0..20 {
        shallow = json!({ "parentCompany": shallow });
    }
    parsed(&catalog, "company", shallow).expect("twenty parents up is fine");
}

#[test]
fn orderings_are_read_once_and_refused_with_their_place() {
    let parsed = Order::parse_list(&json!([
        { "name": "DESC_NULLS_LAST" },
        { "company": { "name": "ASC" } }
    ]))
    .expect("parses");
    assert_eq!(
        parsed,
        vec![
            Order::by("name", Direction::DescNullsLast),
            Order {
                key: "company".into(),
                by: OrderBy::Nested(Box::new(Order::by("name", Direction::Asc))),
            },
        ]
    );
    assert_eq!(
        Order::parse_list(&json!({ "name": "ASC" })).expect("one element alone"),
        vec![Order::by("name", Direction::Asc)]
    );
    for (input, place) in [
        (json!([{ "name": "SIDEWAYS" }]), "orderBy[0]"),
        (json!([{}, { "name": "ASC", "id": "ASC" }]), "orderBy[0]"),
        (json!([{ "id": "ASC" }, { "company": {} }]), "orderBy[1]"),
        (json!(5), "orderBy"),
    ] {
        let refused = Order::parse_list(&input).expect_err("refused").to_string();
        assert!(
            refused.starts_with(&format!("{place}:")),
            "{input}: {refused}"
        );
    }
    // Nesting deeper than any catalog allows is refused, not recursed into.
    let mut deep = json!("ASC");
    for _ in 0..200 {
        deep = json!({ "parent": deep });
    }
    assert!(Order::parse_list(&json!([{ "company": deep }])).is_err());
}
