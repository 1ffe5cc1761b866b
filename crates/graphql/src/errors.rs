//! The one place store and query errors become GraphQL errors with codes.

use async_graphql::{Error, ErrorExtensions};
use rapport_store::StoreError;
use thiserror::Error as ThisError;

/// The contract's error codes, sent as `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    QueryTooComplex,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// A GraphQL error with this code.
    pub fn error(self, message: impl Into<String>) -> Error {
        Error::new(message).extend_with(move |_, e| e.set("code", self.as_str()))
    }

    /// Whether a GraphQL error carries this code.
    pub fn marks(self, extensions: Option<&async_graphql::ErrorExtensionValues>) -> bool {
        extensions.and_then(|x| x.get("code")) == Some(&async_graphql::Value::from(self.as_str()))
    }
}

#[derive(Debug, ThisError)]
pub enum ApiError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
}

impl ApiError {
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> Error {
        match self {
            ApiError::Store(s) => store_error_ref(s),
            ApiError::BadInput { field, reason } => bad_input(field, reason),
        }
    }
}

fn bad_input(field: &str, reason: &str) -> Error {
    Error::new(format!("{field}: {reason}")).extend_with(|_, e| {
        e.set("code", ErrorCode::BadUserInput.as_str());
        e.set("field", field);
        e.set("reason", reason);
    })
}

/// What the authorization rules refuse, with the contract's code.
pub fn access_error(e: rapport_access::AccessError) -> Error {
    match e {
        rapport_access::AccessError::Forbidden(reason) => ErrorCode::Forbidden.error(reason),
    }
}

/// A query the input describes but the query layer refuses: `BAD_USER_INPUT`.
pub fn query_error(e: rapport_query::QueryError) -> Error {
    store_error(e.into())
}

/// Maps a storage error to the contract's codes; database details are logged, not sent.
pub fn store_error(e: StoreError) -> Error {
    store_error_ref(&e)
}

fn store_error_ref(e: &StoreError) -> Error {
    match e {
        StoreError::BadInput { field, reason } => bad_input(field, reason),
        StoreError::NotFound(m) => ErrorCode::NotFound.error(m),
        StoreError::Conflict(m) => ErrorCode::Conflict.error(m),
        StoreError::Forbidden(m) => ErrorCode::Forbidden.error(m),
        StoreError::Unauthenticated(m) => ErrorCode::Unauthenticated.error(m),
        StoreError::Database(db) => {
            tracing::error!(error = %db, "database error");
            ErrorCode::Internal.error("internal error")
        }
        StoreError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            ErrorCode::Internal.error("internal error")
        }
    }
}

/// Maps a business operation's error to the contract's codes.
pub fn crm_error(e: rapport_crm::CrmError) -> Error {
    use rapport_crm::CrmError;
    match e {
        CrmError::Store(s) => store_error(s),
        CrmError::BadInput { field, reason } => bad_input(&field, &reason),
        CrmError::Conflict(m) => ErrorCode::Conflict.error(m),
        CrmError::Unavailable(m) => bad_input("object", &m),
    }
}

/// Gives every field error its `path`. async-graphql's dynamic schema
/// reports a resolver's error with its location only; this extension sees
/// every field resolved, with its path, and writes it into the error.
pub struct FieldErrorPaths;

impl async_graphql::extensions::ExtensionFactory for FieldErrorPaths {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(FieldErrorPaths)
    }
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for FieldErrorPaths {
    async fn resolve(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        info: async_graphql::extensions::ResolveInfo<'_>,
        next: async_graphql::extensions::NextResolve<'_>,
    ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
        use async_graphql::{PathSegment, QueryPathSegment};
        let path_node = info.path_node;
        next.run(ctx, info).await.map_err(|mut e| {
            if e.path.is_empty() {
                let mut path: Vec<PathSegment> = std::iter::once(path_node)
                    .chain(path_node.parents())
                    .map(|node| match node.segment {
                        QueryPathSegment::Name(name) => PathSegment::Field(name.to_string()),
                        QueryPathSegment::Index(i) => PathSegment::Index(i),
                    })
                    .collect();
                path.reverse();
                e.path = path;
            }
            e
        })
    }
}

/// Null propagation for the root fields, as the specification says: a root
/// field that failed is `null` in `data`, and if its type is non-null,
/// `data` itself is `null`. (async-graphql's dynamic schema leaves a
/// failed field out of `data` instead.)
pub fn null_failed_roots(
    response: &mut async_graphql::Response,
    registry: &async_graphql::registry::Registry,
    doc: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) {
    use async_graphql::PathSegment;
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let failed: Vec<String> = response
        .errors
        .iter()
        .filter_map(|e| match e.path.as_slice() {
            [PathSegment::Field(key)] => Some(key.clone()),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    let op = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name),
            None => ops.values().next(),
        },
    };
    let Some(op) = op else { return };
    let root_type = match op.node.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    let root = root_type.and_then(|t| registry.concrete_type_by_name(t));
    let mut non_null = false;
    for key in &failed {
        // The path holds the response key; the document says which field
        // is behind it (an alias or its own name).
        let field = op
            .node
            .selection_set
            .node
            .items
            .iter()
            .find_map(|item| match &item.node {
                Selection::Field(f) if f.node.response_key().node.as_str() == key => {
                    Some(f.node.name.node.as_str())
                }
                _ => None,
            });
        non_null |= field
            .and_then(|name| root?.field_by_name(name))
            .is_some_and(|f| f.ty.ends_with('!'));
        if let async_graphql::Value::Object(data) = &mut response.data {
            data.insert(async_graphql::Name::new(key), async_graphql::Value::Null);
        }
    }
    if non_null {
        response.data = async_graphql::Value::Null;
    }
}
