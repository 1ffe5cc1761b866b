//! The generated GraphQL API: an async-graphql dynamic schema built from a
//! workspace's metadata, with resolvers that batch every relation level.

mod arguments;
pub mod direct;
mod errors;
pub mod limits;
mod loader;
mod mutation;
mod object_types;
mod operations;
mod query_fields;
mod resolve;
mod shared_types;
mod sharing;

use std::sync::Arc;

use async_graphql::dynamic::{Object, Schema};
use rapport_meta::Catalog;
use rapport_store::RecordStore;

pub use errors::{
    ApiError, ErrorCode, FieldErrorPaths, access_error, null_failed_roots, store_error,
};
pub use limits::MAX_DEPTH;
pub use loader::RecordLoader;
pub use rapport_access::{Access, AccessError, Shared, catalog_view, mask};
pub use rapport_query::ConnectionQuery as ConnectionArgs;
pub use rapport_query::{Filter, WriteOp};
pub use resolve::RequestState;

/// A backstop only: the depth limit that counts is [`MAX_DEPTH`], checked
/// before execution without introspection.
const SCHEMA_DEPTH_BACKSTOP: usize = 64;
/// A backstop only: the cost that counts (`limits::document_cost`, lists
/// weighted by their pages) is checked before execution, and is never
/// below async-graphql's count of the same document.
const SCHEMA_COMPLEXITY_BACKSTOP: usize = 1_000_000;

/// Builds the data API of a workspace. Without a store the schema only
/// checks that the metadata makes a valid API (used before a change commits).
pub fn build_schema(catalog: &Catalog, store: Option<Arc<RecordStore>>) -> Result<Schema, String> {
    let mut query = Object::new("Query");
    let mut mutation = Object::new("Mutation");
    let mut builder_types = shared_types::all();
    for object in catalog.objects() {
        let generated = object_types::for_object(catalog, object);
        builder_types.extend(generated.types);
        for f in query_fields::query_fields(object) {
            query = query.field(f);
        }
        for f in mutation::mutation_fields(object) {
            mutation = mutation.field(f);
        }
    }
    let (mut op_types, mut op_queries, mut op_mutations) = operations::fields(catalog);
    let (share_types, share_queries, share_mutations) = sharing::fields(catalog);
    op_types.extend(share_types);
    op_queries.extend(share_queries);
    op_mutations.extend(share_mutations);
    builder_types.extend(op_types);
    for f in op_queries {
        query = query.field(f);
    }
    for f in op_mutations {
        mutation = mutation.field(f);
    }
    if catalog.objects().is_empty() {
        query = query.field(resolve::empty_field());
        mutation = mutation.field(resolve::empty_field());
    }
    let mut builder = Schema::build("Query", Some("Mutation"), None)
        .register(query)
        .register(mutation)
        .limit_depth(SCHEMA_DEPTH_BACKSTOP)
        .limit_complexity(SCHEMA_COMPLEXITY_BACKSTOP)
        .extension(FieldErrorPaths);
    for t in builder_types {
        builder = builder.register(t);
    }
    if let Some(store) = store {
        builder = builder.data(store);
    }
    builder.finish().map_err(|e| e.0)
}
