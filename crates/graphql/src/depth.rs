//! The depth limit, counted over the data a query reads. Introspection
//! (`__schema`, `__type`) is left out: standard tooling asks for type
//! references about fifteen levels deep, and it reads no records.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

/// Deepest selection the API accepts, introspection aside.
pub const MAX_DEPTH: usize = 12;

/// The query's deepest data selection, or `None` when it does not parse
/// (execution then reports the syntax error).
pub fn query_depth(query: &str) -> Option<usize> {
    let doc: ExecutableDocument = async_graphql::parser::parse_query(query).ok()?;
    Some(document_depth(&doc))
}

/// A parsed document's deepest data selection.
pub fn document_depth(doc: &ExecutableDocument) -> usize {
    let mut deepest = 0;
    for (_, op) in doc.operations.iter() {
        deepest = deepest.max(depth(&op.node.selection_set.node, &doc.fragments, 0));
    }
    deepest
}

fn depth(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    level: usize,
) -> usize {
    // Fragment cycles are invalid, but this runs before validation: stop early.
    if level > MAX_DEPTH * 4 {
        return level;
    }
    let mut deepest = level;
    for item in &set.items {
        let d = match &item.node {
            Selection::Field(f) if f.node.name.node.starts_with("__") => level,
            Selection::Field(f) => depth(&f.node.selection_set.node, fragments, level + 1),
            Selection::FragmentSpread(s) => fragments
                .get(&s.node.fragment_name.node)
                .map(|frag| depth(&frag.node.selection_set.node, fragments, level))
                .unwrap_or(level),
            Selection::InlineFragment(i) => depth(&i.node.selection_set.node, fragments, level),
        };
        deepest = deepest.max(d);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_data_and_skips_introspection() {
        assert_eq!(query_depth("{ a { b { c } } }"), Some(3));
        assert_eq!(
            query_depth("query { a { ...F } } fragment F on A { b { c { d } } }"),
            Some(4)
        );
        assert_eq!(
            query_depth(
                "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"
            ),
            Some(0)
        );
        assert_eq!(query_depth("{ a { __typename } }"), Some(1));
        assert_eq!(query_depth("{ a "), None);
        // A fragment cycle terminates.
        assert!(query_depth("{ a { ...F } } fragment F on A { b { ...F } }").unwrap() > MAX_DEPTH);
    }
}
