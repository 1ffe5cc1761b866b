-- Files of attachments destroyed (or cascaded away): written in the
-- destroying transaction, so a file is never removed for a destroy that
-- rolled back. The server removes the files, then these rows.
CREATE TABLE rapport_file_orphan (
    workspace_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, attachment_id)
)
