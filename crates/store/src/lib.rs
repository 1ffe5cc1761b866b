//! Storage: the database connection, system migrations, per-object tables and
//! their DDL, the metadata service (every change one transaction with its
//! DDL) and record reads and writes.

mod audit;
mod convert;
mod db;
mod ddl;
mod decode;
mod error;
mod keys;
mod links;
mod metadata;
mod migrate;
mod records;

pub use audit::AuditEntry;
pub use db::{Db, StatementCounter};
pub use error::StoreError;
pub use keys::{ApiKey, create_api_key, find_api_key};
pub use links::link_inputs;
pub use metadata::{
    CatalogCheck, FieldChange, MigrationPlan, MigrationStep, Workspace, WorkspaceMeta,
    default_workspace, ensure_default_workspace, load_workspace, metadata_version,
};
pub use records::{Actor, ChildPage, Page, Record, RecordStore, Tx};
