-- Custom roles of a workspace (admin and member are built in).
CREATE TABLE rapport_role (
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
)
