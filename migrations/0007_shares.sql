-- Records shared explicitly with a member, or with a team and its
-- sub-teams, beyond what the role's record scope gives them. An empty
-- member_id or team_id means the share is not with one of those.
CREATE TABLE rapport_share (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES rapport_workspace (id),
    object TEXT NOT NULL,
    record_id TEXT NOT NULL,
    member_id TEXT NOT NULL DEFAULT '',
    team_id TEXT NOT NULL DEFAULT '',
    access TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX rapport_share_target ON rapport_share (workspace_id, object, record_id, member_id, team_id);
CREATE INDEX rapport_share_member ON rapport_share (workspace_id, member_id);
CREATE INDEX rapport_share_team ON rapport_share (workspace_id, team_id)
