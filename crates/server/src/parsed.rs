//! Parsed GraphQL documents by query text. Apps send the same few queries
//! over and over; parsing one (twice: for the limits, then to run it) was
//! about a fifth of a small request's CPU. The checks that need no schema
//! (`rapport_graphql::limits::check_shape`) are kept with the document.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use rapport_graphql::limits::{self, Refusal};

use crate::cache::Cache;

/// Longer queries are parsed every time rather than kept.
const MAX_CACHED_QUERY: usize = 16 * 1024;
/// Distinct queries kept; the cache starts over when full.
const MAX_CACHED: usize = 1000;

pub(crate) struct Parsed {
    pub doc: ExecutableDocument,
    /// The deepest data selection, or why the document is refused whatever
    /// the schema (a fragment cycle, too deep).
    pub shape: Result<usize, Refusal>,
}

pub(crate) struct ParsedQueries(Cache<String, Arc<Parsed>>);

impl Default for ParsedQueries {
    fn default() -> Self {
        ParsedQueries(Cache::new(MAX_CACHED))
    }
}

impl ParsedQueries {
    /// The parsed query; `Ok(None)` when it does not parse (execution then
    /// reports the syntax error), `Err` when its text nests too deep to parse.
    pub fn get(&self, query: &str) -> Result<Option<Arc<Parsed>>, Refusal> {
        if let Some(hit) = self.0.get(query) {
            return Ok(Some(hit));
        }
        limits::check_text(query)?;
        let Ok(doc) = async_graphql::parser::parse_query(query) else {
            return Ok(None);
        };
        let parsed = Arc::new(Parsed {
            shape: limits::check_shape(&doc),
            doc,
        });
        if query.len() <= MAX_CACHED_QUERY {
            self.0.insert(query.to_string(), parsed.clone());
        }
        Ok(Some(parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_kept() {
        let cache = ParsedQueries::default();
        let first = cache
            .get("{ companies { nodes { id } } }")
            .unwrap()
            .expect("parses");
        let again = cache
            .get("{ companies { nodes { id } } }")
            .unwrap()
            .expect("parses");
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.shape, Ok(3));
        assert!(cache.get("{ companies { ").unwrap().is_none());
        let long = format!("{{ a {} }}", " ".repeat(MAX_CACHED_QUERY));
        let (a, b) = (
            cache.get(&long).unwrap().unwrap(),
            cache.get(&long).unwrap().unwrap(),
        );
        assert!(!Arc::ptr_eq(&a, &b), "long queries are not kept");
    }
}
