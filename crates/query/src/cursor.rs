//! Opaque cursors: the order-key values of a row and its id, base64url JSON.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::error::QueryError;

pub fn encode_cursor(keys: &[Value]) -> String {
    URL_SAFE_NO_PAD.encode(Value::Array(keys.to_vec()).to_string())
}

/// Decodes a cursor made for an ordering of `expected` keys (the id included).
pub fn decode_cursor(arg: &str, cursor: &str, expected: usize) -> Result<Vec<Value>, QueryError> {
    let bad = || QueryError::bad(arg, "not a cursor of this connection and ordering");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let values: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if values.len() != expected {
        return Err(bad());
    }
    Ok(values)
}
