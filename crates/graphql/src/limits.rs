//! What a GraphQL document may ask for, checked before anything executes
//! it, on `/graphql` and `/metadata` alike. Every walk here is bounded by
//! the document's text: fragment spreads are followed once per fragment
//! (cycles refused first), and nothing recurses deeper than the parser
//! lets a selection set nest, so no document can overflow the stack or
//! take time that grows faster than its length.
//!
//! - The text's nesting (`{`, `[`, `(`) is capped before the parser sees
//!   it: the parser recurses once per level of an input value.
//! - Fragment cycles are refused (`A` spreads `B` spreads `A`).
//! - The data depth (introspection aside) is capped at [`MAX_DEPTH`].
//! - Input values, literal or variable, nest at most [`MAX_INPUT_DEPTH`].
//! - The cost counts the document as executed: each fragment at every
//!   spread, and a list's selection once per record it may return.

use crate::errors::ErrorCode;
use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::registry::Registry;
use async_graphql::{Name, Positioned};
use async_graphql_value::{ConstValue, Value};

/// Deepest data selection the API accepts, introspection aside.
pub const MAX_DEPTH: usize = 12;
/// Deepest input value (lists and objects, in arguments or variables).
pub const MAX_INPUT_DEPTH: usize = 32;
/// Deepest nesting of brackets in a document's text: above the data depth
/// and the input depth together, below what the parser's recursion bears.
pub const MAX_TEXT_NESTING: usize = 128;
/// Default cost limit: about the number of values a response may hold.
pub const DEFAULT_MAX_COST: u64 = 250_000;
/// A paged field's size when the document does not give one.
const DEFAULT_PAGE: u64 = 50;
/// Largest page a list field returns; larger ones are refused by the field.
const MAX_PAGE: u64 = 500;
/// What a list field with no page of its own is taken to hold.
const LIST_ESTIMATE: u64 = 50;
/// Cost of one `__schema` or `__type`: introspection walks the whole
/// schema whatever it selects, so a request may hold only a few.
const INTROSPECTION_COST: u64 = 10_000;

/// Why a document is refused before it runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the document nests brackets deeper than {MAX_TEXT_NESTING} levels")]
    TextTooNested,
    #[error("fragment `{0}` spreads itself ({1})")]
    FragmentCycle(String, String),
    #[error("the query is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("an input value is nested deeper than {MAX_INPUT_DEPTH} levels")]
    InputTooDeep,
    #[error(
        "the query costs {cost}, over the limit of {limit} (a list counts once per record it may return)"
    )]
    TooCostly { cost: u64, limit: u64 },
    #[error("text may not contain NUL characters")]
    Nul,
}

impl Refusal {
    /// The contract's code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::TooDeep | Refusal::TooCostly { .. } => ErrorCode::QueryTooComplex,
            _ => ErrorCode::BadUserInput,
        }
    }
}

/// Refuses text nested too deep for the parser, in one pass over it.
/// Brackets inside strings and comments do not count.
pub fn check_text(query: &str) -> Result<(), Refusal> {
    let bytes = query.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_TEXT_NESTING {
                    return Err(Refusal::TextTooNested);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Checks that need no schema: fragment cycles, the data depth and literal
/// input depth. Returns the deepest data selection.
pub fn check_shape(doc: &ExecutableDocument) -> Result<usize, Refusal> {
    let order = fragment_order(&doc.fragments)?;
    let mut fragment_depth: HashMap<&Name, usize> = HashMap::new();
    for name in order {
        let set = &doc.fragments[name].node.selection_set.node;
        let d = shape_of(set, &fragment_depth)?;
        fragment_depth.insert(name, d);
    }
    let mut deepest = 0;
    for (_, op) in doc.operations.iter() {
        deepest = deepest.max(shape_of(&op.node.selection_set.node, &fragment_depth)?);
    }
    if deepest > MAX_DEPTH {
        return Err(Refusal::TooDeep);
    }
    Ok(deepest)
}

/// The depth below a selection set (fragments' depths already known),
/// checking its literal arguments' depth on the way.
fn shape_of(set: &SelectionSet, fragments: &HashMap<&Name, usize>) -> Result<usize, Refusal> {
    let mut deepest = 0;
    for item in &set.items {
        let d = match &item.node {
            Selection::Field(f) => {
                for (_, value) in &f.node.arguments {
                    if value_depth(&value.node) > MAX_INPUT_DEPTH {
                        return Err(Refusal::InputTooDeep);
                    }
                }
                if f.node.name.node.starts_with("__") {
                    0
                } else {
                    1 + shape_of(&f.node.selection_set.node, fragments)?
                }
            }
            Selection::FragmentSpread(s) => fragments
                .get(&s.node.fragment_name.node)
                .copied()
                .unwrap_or(0),
            Selection::InlineFragment(i) => shape_of(&i.node.selection_set.node, fragments)?,
        };
        deepest = deepest.max(d);
    }
    Ok(deepest)
}

/// Fragments in an order where each comes after every fragment it
/// spreads, or the first cycle found. Iterative: a chain of thousands of
/// fragments is a valid document.
fn fragment_order(fragments: &Fragments) -> Result<Vec<&Name>, Refusal> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let spreads: HashMap<&Name, Vec<&Name>> = fragments
        .iter()
        .map(|(name, f)| {
            let mut out = Vec::new();
            spreads_in(&f.node.selection_set.node, &mut out);
            out.retain(|n| fragments.contains_key(*n));
            (name, out)
        })
        .collect();
    let mut marks: HashMap<&Name, Mark> = HashMap::new();
    let mut order = Vec::with_capacity(fragments.len());
    let mut roots: Vec<&Name> = fragments.keys().collect();
    roots.sort();
    for root in roots {
        if marks.contains_key(root) {
            continue;
        }
        // (fragment, index of the next spread to follow)
        let mut stack: Vec<(&Name, usize)> = vec![(root, 0)];
        marks.insert(root, Mark::Open);
        while let Some((name, next)) = stack.last_mut() {
            let name = *name;
            let Some(&child) = spreads[name].get(*next) else {
                marks.insert(name, Mark::Done);
                order.push(name);
                stack.pop();
                continue;
            };
            *next += 1;
            match marks.get(child) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let from = stack.iter().position(|(n, _)| *n == child).unwrap_or(0);
                    let mut path: Vec<&str> =
                        stack[from..].iter().map(|(n, _)| n.as_str()).collect();
                    path.push(child.as_str());
                    return Err(Refusal::FragmentCycle(child.to_string(), path.join(" → ")));
                }
                None => {
                    marks.insert(child, Mark::Open);
                    stack.push((child, 0));
                }
            }
        }
    }
    Ok(order)
}

fn spreads_in<'a>(set: &'a SelectionSet, out: &mut Vec<&'a Name>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spreads_in(&f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(&s.node.fragment_name.node),
            Selection::InlineFragment(i) => spreads_in(&i.node.selection_set.node, out),
        }
    }
}

/// How deep lists and objects nest in a literal value, without recursion.
fn value_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::List(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Object(fields) => {
                deepest = deepest.max(d + 1);
                stack.extend(fields.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
        if deepest > MAX_INPUT_DEPTH {
            break;
        }
    }
    deepest
}

/// How deep lists and objects nest in the request's variables.
pub fn check_variables(variables: &Variables) -> Result<(), Refusal> {
    let mut stack: Vec<(&ConstValue, usize)> = variables.values().map(|v| (v, 0)).collect();
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &ConstValue>> = match v {
            ConstValue::List(items) => Box::new(items.iter()),
            ConstValue::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        if d + 1 > MAX_INPUT_DEPTH {
            return Err(Refusal::InputTooDeep);
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    Ok(())
}

/// Refuses NUL characters anywhere in a request's inputs (names, labels,
/// documents): PostgreSQL cannot store them, so SQLite refuses them too.
pub fn check_no_nul(doc: &ExecutableDocument, variables: &Variables) -> Result<(), Refusal> {
    let mut consts: Vec<&ConstValue> = variables.values().collect();
    while let Some(v) = consts.pop() {
        match v {
            ConstValue::String(s) if s.contains('\0') => return Err(Refusal::Nul),
            ConstValue::List(items) => consts.extend(items),
            ConstValue::Object(fields) => {
                if fields.keys().any(|k| k.contains('\0')) {
                    return Err(Refusal::Nul);
                }
                consts.extend(fields.values());
            }
            _ => {}
        }
    }
    let mut sets: Vec<&SelectionSet> = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
        .collect();
    let mut values: Vec<&Value> = Vec::new();
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    values.extend(f.node.arguments.iter().map(|(_, v)| &v.node));
                    sets.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(i) => sets.push(&i.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    while let Some(v) = values.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return Err(Refusal::Nul),
            Value::List(items) => values.extend(items),
            Value::Object(fields) => {
                if fields.keys().any(|k| k.contains('\0')) {
                    return Err(Refusal::Nul);
                }
                values.extend(fields.values());
            }
            _ => {}
        }
    }
    Ok(())
}

/// The cost of the operation a request runs, against the schema that will
/// run it: every field counts 1 plus its selection's cost, times the page
/// it returns for a paged field (`first`/`last`, their default otherwise)
/// and an estimate for other lists; each fragment counts at every spread.
/// Call after [`check_shape`] (no cycles). Linear in the document.
pub fn document_cost(
    doc: &ExecutableDocument,
    registry: &Registry,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Cost {
    let costing = Costing {
        registry,
        variables,
        used_variables: std::cell::Cell::new(false),
    };
    // Fragments cost the same at every spread (their type is their own),
    // so each is costed once, dependencies first.
    let mut fragment_cost: HashMap<&Name, u64> = HashMap::new();
    if let Ok(order) = fragment_order(&doc.fragments) {
        for name in order {
            let f = &doc.fragments[name].node;
            let ty = f.type_condition.node.on.node.as_str();
            let c = costing.set(&f.selection_set.node, ty, false, &fragment_cost);
            fragment_cost.insert(name, c);
        }
    }
    let op = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name),
            None => ops.values().next(),
        },
    };
    let Some(op) = op else {
        return Cost::default();
    };
    let root = match op.node.ty {
        async_graphql::parser::types::OperationType::Query => registry.query_type.as_str(),
        async_graphql::parser::types::OperationType::Mutation => {
            registry.mutation_type.as_deref().unwrap_or_default()
        }
        async_graphql::parser::types::OperationType::Subscription => {
            registry.subscription_type.as_deref().unwrap_or_default()
        }
    };
    let value = costing.set(&op.node.selection_set.node, root, false, &fragment_cost);
    Cost {
        value,
        uses_variables: costing.used_variables.get(),
    }
}

/// A document's cost, and whether a variable (a page size) went into it:
/// one that did not costs the same on every request of the same schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub value: u64,
    pub uses_variables: bool,
}

struct Costing<'a> {
    registry: &'a Registry,
    variables: &'a Variables,
    used_variables: std::cell::Cell<bool>,
}

impl Costing<'_> {
    /// `in_page`: this set belongs to a paged field, whose page already
    /// counts its list (`nodes`, `edges`).
    fn set(
        &self,
        set: &SelectionSet,
        ty: &str,
        in_page: bool,
        fragments: &HashMap<&Name, u64>,
    ) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let c = match &item.node {
                Selection::Field(f) => self.field(&f.node, ty, in_page, fragments),
                Selection::FragmentSpread(s) => fragments
                    .get(&s.node.fragment_name.node)
                    .copied()
                    .unwrap_or(0),
                Selection::InlineFragment(i) => {
                    let on = i
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str());
                    self.set(
                        &i.node.selection_set.node,
                        on.unwrap_or(ty),
                        in_page,
                        fragments,
                    )
                }
            };
            total = total.saturating_add(c);
        }
        total
    }

    fn field(
        &self,
        f: &Field,
        parent: &str,
        in_page: bool,
        fragments: &HashMap<&Name, u64>,
    ) -> u64 {
        let name = f.name.node.as_str();
        if name == "__schema" || name == "__type" {
            return INTROSPECTION_COST;
        }
        let meta = self
            .registry
            .concrete_type_by_name(parent)
            .and_then(|t| t.field_by_name(name));
        let Some(meta) = meta else {
            // `__typename`, or a name validation will refuse.
            return 1;
        };
        let of = meta.ty.trim_matches(|c| c == '[' || c == ']' || c == '!');
        let page = self.page(f, meta);
        let is_list = meta.ty.starts_with('[');
        let (times, child_in_page) = match (page, is_list) {
            (Some(p), _) => (p, true),
            (None, true) if in_page => (1, false),
            (None, true) => (LIST_ESTIMATE, false),
            (None, false) => (1, in_page),
        };
        let children = self.set(&f.selection_set.node, of, child_in_page, fragments);
        1u64.saturating_add(times.saturating_mul(children))
    }

    /// The page a paged field returns: its `first` or `last`, as given or
    /// defaulted, at most the largest page.
    fn page(&self, f: &Field, meta: &async_graphql::registry::MetaField) -> Option<u64> {
        let mut page = None;
        for arg in ["first", "last"] {
            let Some(declared) = meta.args.get(arg) else {
                continue;
            };
            let given = f.get_argument(arg).and_then(|v| match &v.node {
                Value::Number(n) => n.as_u64(),
                Value::Variable(var) => {
                    self.used_variables.set(true);
                    match self.variables.get(var) {
                        Some(ConstValue::Number(n)) => n.as_u64(),
                        _ => None,
                    }
                }
                _ => None,
            });
            let n = given
                .or_else(|| declared.default_value.as_deref()?.parse().ok())
                .unwrap_or(DEFAULT_PAGE);
            page = Some(page.unwrap_or(0).max(n.min(MAX_PAGE)));
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> Result<usize, Refusal> {
        check_text(q)?;
        check_shape(&async_graphql::parser::parse_query(q).expect("parses"))
    }

    #[test]
    fn counts_data_and_skips_introspection() {
        assert_eq!(shape("{ a { b { c } } }"), Ok(3));
        assert_eq!(
            shape("query { a { ...F } } fragment F on A { b { c { d } } }"),
            Ok(4)
        );
        assert_eq!(
            shape("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"),
            Ok(0)
        );
        assert_eq!(shape("{ a { __typename } }"), Ok(1));
    }

    #[test]
    fn fragment_cycles_are_refused_with_their_path() {
        assert_eq!(
            shape("{ ...A } fragment A on Q { ...A }"),
            Err(Refusal::FragmentCycle("A".into(), "A → A".into()))
        );
        let e = shape("{ a { ...A } } fragment A on T { b { ...B } } fragment B on T { ...A }");
        assert!(
            matches!(e, Err(Refusal::FragmentCycle(_, p)) if p.contains("A → B → A") || p.contains("B → A → B"))
        );
    }

    #[test]
    fn a_long_fragment_chain_is_no_cycle_and_no_deep_recursion() {
        let mut q = String::from("{ ...F0 }");
        for i in 0..50_000 {
            q.push_str(&format!(" fragment F{i} on Q {{ ...F{} }}", i + 1));
        }
        q.push_str(" fragment F50000 on Q { a }");
        assert_eq!(shape(&q), Ok(1));
    }

    #[test]
    fn deep_text_and_deep_inputs_are_refused() {
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(3000), "]".repeat(3000));
        assert_eq!(check_text(&deep), Err(Refusal::TextTooNested));
        let inputs = format!("{{ a(x: {}1{}) }}", "[".repeat(40), "]".repeat(40));
        assert_eq!(shape(&inputs), Err(Refusal::InputTooDeep));
        // Brackets in strings and comments are text.
        assert_eq!(
            check_text(&format!(
                "{{ a(x: \"{}\") }} # {}",
                "[".repeat(500),
                "{".repeat(500)
            )),
            Ok(())
        );
        let vars: Variables = serde_json::from_value(serde_json::json!({
            "v": (0..40).fold(serde_json::json!(1), |v, _| serde_json::json!([v]))
        }))
        .unwrap();
        assert_eq!(check_variables(&vars), Err(Refusal::InputTooDeep));
    }
}
