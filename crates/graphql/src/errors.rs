//! The one place store and query errors become GraphQL errors with codes.

use async_graphql::{Error, ErrorExtensions};
use rapport_store::StoreError;
use thiserror::Error as ThisError;

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
        e.set("code", "BAD_USER_INPUT");
        e.set("field", field);
        e.set("reason", reason);
    })
}

/// Maps a storage error to the contract's codes; database details are logged, not sent.
pub fn store_error(e: StoreError) -> Error {
    store_error_ref(&e)
}

fn store_error_ref(e: &StoreError) -> Error {
    let coded = |code: &'static str, message: String| {
        Error::new(message).extend_with(move |_, e| e.set("code", code))
    };
    match e {
        StoreError::BadInput { field, reason } => bad_input(field, reason),
        StoreError::NotFound(m) => coded("NOT_FOUND", m.clone()),
        StoreError::Conflict(m) => coded("CONFLICT", m.clone()),
        StoreError::Forbidden(m) => coded("FORBIDDEN", m.clone()),
        StoreError::Unauthenticated(m) => coded("UNAUTHENTICATED", m.clone()),
        StoreError::Database(db) => {
            tracing::error!(error = %db, "database error");
            coded("INTERNAL", "internal error".into())
        }
        StoreError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            coded("INTERNAL", "internal error".into())
        }
    }
}

/// Maps a business operation's error to the contract's codes.
pub fn crm_error(e: rapport_crm::CrmError) -> Error {
    use rapport_crm::CrmError;
    match e {
        CrmError::Store(s) => store_error(s),
        CrmError::BadInput { field, reason } => bad_input(&field, &reason),
        CrmError::Conflict(m) => Error::new(m).extend_with(|_, e| e.set("code", "CONFLICT")),
        CrmError::Unavailable(m) => bad_input("object", &m),
    }
}
