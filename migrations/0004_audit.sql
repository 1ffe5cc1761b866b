-- Record history: who changed what, when, written in the change's transaction.
CREATE TABLE rapport_audit (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX rapport_audit_record ON rapport_audit (workspace_id, object, record_id, at)
