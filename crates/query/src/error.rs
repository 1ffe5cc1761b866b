use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum QueryError {
    /// The input names a field or operator that does not apply, or a value of
    /// the wrong shape; `field` is the input path.
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
}

impl QueryError {
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        QueryError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
