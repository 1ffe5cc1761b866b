-- System tables, portable between SQLite and PostgreSQL: timestamps are
-- RFC 3339 text and documents JSON text, so one statement set serves both.
CREATE TABLE rapport_workspace (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    namespace TEXT NOT NULL UNIQUE,
    metadata_version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE rapport_object (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    name TEXT NOT NULL,
    -- the document without `properties` and `required`: those live per field
    header TEXT NOT NULL,
    is_system BOOLEAN NOT NULL,
    deleted_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE rapport_field (
    id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL REFERENCES rapport_object (id),
    name TEXT NOT NULL,
    property TEXT NOT NULL,
    is_required BOOLEAN NOT NULL,
    position INTEGER NOT NULL,
    deleted_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (object_id, name)
);

CREATE TABLE rapport_api_key (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);
