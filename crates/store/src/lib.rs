//! Storage: the database connection, system migrations, per-object tables and
//! their DDL, the metadata service (every change one transaction with its
//! DDL) and record reads and writes.

mod accounts;
mod audit;
mod backend_heap;
mod bulk_txn;
mod change;
mod convert;
mod crypto;
mod db;
mod ddl;
mod decode;
mod error;
mod held;
mod keys;
mod links;
mod metadata;
mod migrate;
mod records;
mod replica;
mod reseal;
mod roles;
mod shares;

pub use accounts::{
    INVITATION_TTL_DAYS, Invitation, Principal, Session, accept_invitation, authenticate,
    create_member, deactivate_member, end_session, login, sign_up,
};
pub use audit::{AuditEntry, audit_log};
pub use change::{ChangeKind, RecordChange};
pub use crypto::Keyring;
pub use db::{Db, StatementCounter};
pub use decode::{Cell, Rows};
pub use error::StoreError;
pub use held::ReadConn;
pub use keys::{
    ApiKey, ApiKeyInfo, create_api_key, find_api_key, issue_api_key, list_api_keys, revoke_api_key,
};
pub use links::link_inputs;
pub use metadata::{
    CatalogCheck, FieldChange, MigrationPlan, MigrationStep, Workspace, WorkspaceMeta,
    default_workspace, ensure_default_workspace, list_workspaces, load_workspace, metadata_version,
    metadata_versions,
};
pub use records::{
    Actor, ChildPage, Import, ImportReport, LineError, Page, Record, RecordStore, Tx, WriteGuard,
    WriteRule, file_removed, files_to_remove,
};
pub use replica::{Lsn, Replica, format_lsn, parse_lsn};
pub use reseal::reseal_workspace;
pub use roles::{FieldRight, ObjectRights, Role, Scope, find_role, list_roles, save_role};
pub use shares::{Grant, Grantee, Share, ShareAccess, grants_for};
