-- Invitations to join a workspace: an admin names a person by email, and
-- the person proves they are that person's account (or makes it) with the
-- token the admin passed on. Only the token's SHA-256 is kept.
CREATE TABLE rapport_invitation (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    member_id TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT
);
CREATE INDEX rapport_invitation_member ON rapport_invitation (workspace_id, member_id)
