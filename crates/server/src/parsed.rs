//! Parsed GraphQL documents by query text. Apps send the same few queries
//! over and over; parsing one (twice: for the depth limit, then to run it)
//! was about a fifth of a small request's CPU.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Longer queries are parsed every time rather than kept.
const MAX_CACHED_QUERY: usize = 16 * 1024;
/// Distinct queries kept; the cache starts over when full.
const MAX_CACHED: usize = 1000;

pub(crate) struct Parsed {
    pub doc: ExecutableDocument,
    /// Deepest data selection (see `rapport_graphql::document_depth`).
    pub depth: usize,
}

#[derive(Default)]
pub(crate) struct ParsedQueries(Mutex<HashMap<String, Arc<Parsed>>>);

impl ParsedQueries {
    /// The parsed query, or `None` when it does not parse (execution then
    /// reports the syntax error).
    pub fn get(&self, query: &str) -> Option<Arc<Parsed>> {
        if let Some(hit) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(query) {
            return Some(hit.clone());
        }
        let doc = async_graphql::parser::parse_query(query).ok()?;
        let parsed = Arc::new(Parsed {
            depth: rapport_graphql::document_depth(&doc),
            doc,
        });
        if query.len() <= MAX_CACHED_QUERY {
            let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(query.to_string(), parsed.clone());
        }
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_kept() {
        let cache = ParsedQueries::default();
        let first = cache.get("{ companies { nodes { id } } }").expect("parses");
        let again = cache.get("{ companies { nodes { id } } }").expect("parses");
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.depth, 3);
        assert!(cache.get("{ companies { ").is_none());
        let long = format!("{{ a {} }}", " ".repeat(MAX_CACHED_QUERY));
        let (a, b) = (cache.get(&long).unwrap(), cache.get(&long).unwrap());
        assert!(!Arc::ptr_eq(&a, &b), "long queries are not kept");
    }
}
