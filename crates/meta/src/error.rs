use thiserror::Error;

/// Everything that can be wrong with a metadata document or change.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MetaError {
    /// The document breaks the profile; `path` is a JSON pointer into it.
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    /// A name is already taken by another object or field.
    #[error("{0}")]
    Conflict(String),
    /// The object or field does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl MetaError {
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        MetaError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
