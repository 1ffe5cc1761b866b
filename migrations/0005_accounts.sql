-- People who log in, their place in workspaces, and their sessions.
CREATE TABLE rapport_user (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE rapport_membership (
    user_id TEXT NOT NULL REFERENCES rapport_user (id),
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    member_id TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);
CREATE TABLE rapport_session (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES rapport_user (id),
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    member_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
)
