//! CRM business operations — lead conversion, quote to order, assignment,
//! ownership transfer, duplicates and merges — written against the metadata
//! and the record store, never against hard-coded structs: they read the
//! standard objects' fields by name, so an admin's additions ride along.
//! Each runs in one [`Tx`]: it happens whole or not at all.

mod duplicates;
mod error;
mod ownership;
mod privacy;
mod sales;
mod timeline;

pub use duplicates::{DuplicateMatch, find_duplicates, merge_records};
pub use error::CrmError;
pub use ownership::{Successor, assign_records, transfer_ownership};
pub use privacy::erase_subject;
pub use sales::{ConvertLead, Converted, convert_lead, create_order_from_quote};
pub use timeline::{TimelineEntry, record_timeline};

use rapport_store::Record;
use serde_json::{Map, Value};

/// Builds an input record from `(field, value)` pairs, leaving nulls out.
pub(crate) fn input(pairs: &[(&str, Value)]) -> Record {
    let mut m = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            m.insert((*k).to_string(), v.clone());
        }
    }
    m
}

pub(crate) fn id_of(r: &Record) -> String {
    r.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
