use thiserror::Error;

/// Storage failures, in terms the API edge maps to its codes.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// No or bad credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Database failures: logged, never shown to callers.
    #[error("database error: {0}")]
    Database(sea_orm::DbErr),
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        // PostgreSQL refuses NUL in text; any input that reaches it is the
        // caller's (record input is refused earlier, by the validator).
        if e.to_string()
            .contains("invalid byte sequence for encoding \"UTF8\": 0x00")
        {
            return StoreError::bad("input", "text may not contain NUL characters");
        }
        StoreError::Database(e)
    }
}

impl From<rapport_query::QueryError> for StoreError {
    fn from(e: rapport_query::QueryError) -> Self {
        match e {
            rapport_query::QueryError::BadInput { field, reason } => {
                StoreError::BadInput { field, reason }
            }
        }
    }
}

impl From<rapport_meta::MetaError> for StoreError {
    fn from(e: rapport_meta::MetaError) -> Self {
        use rapport_meta::MetaError as M;
        match e {
            M::Invalid { path, reason } => StoreError::BadInput {
                field: path,
                reason,
            },
            M::Conflict(m) => StoreError::Conflict(m),
            M::NotFound(m) => StoreError::NotFound(m),
        }
    }
}
