use rapport_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CrmError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workspace lacks an object or field an operation needs (an admin
    /// could have changed the standard objects).
    #[error("{0}")]
    Unavailable(String),
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
    #[error("{0}")]
    Conflict(String),
}

impl CrmError {
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CrmError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
