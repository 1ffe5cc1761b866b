//! Records shared explicitly with a member, or with a team and its
//! sub-teams: a share widens the record scope of the role, never its object
//! rights (a role that may not read an object reads no shared record of it).

use rapport_query::{Filter, WriteOp};
use serde_json::{Value, json};

use crate::change::{ChangeKind, RecordChange};
use crate::db::{Db, sys_execute, sys_query};
use crate::error::StoreError;
use crate::records::{Tx, check_uuid, now_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAccess {
    Read,
    /// Read and update (not delete: deleting stays with the record scope).
    Write,
}

impl ShareAccess {
    pub fn parse(s: &str) -> Option<ShareAccess> {
        match s {
            "read" | "READ" => Some(ShareAccess::Read),
            "write" | "WRITE" => Some(ShareAccess::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ShareAccess::Read => "read",
            ShareAccess::Write => "write",
        }
    }
}

/// Who a record is shared with: exactly one of a member or a team.
#[derive(Debug, Clone, PartialEq)]
pub enum Grantee {
    Member(String),
    Team(String),
}

impl Grantee {
    fn columns(&self) -> (&str, &str) {
        match self {
            Grantee::Member(m) => (m.as_str(), ""),
            Grantee::Team(t) => ("", t.as_str()),
        }
    }

    fn describe(&self) -> Value {
        match self {
            Grantee::Member(m) => json!({ "memberId": m }),
            Grantee::Team(t) => json!({ "teamId": t }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Share {
    pub object: String,
    pub record_id: String,
    pub grantee: Grantee,
    pub access: ShareAccess,
    pub created_at: String,
    pub created_by: String,
}

impl Tx<'_> {
    /// Shares a record the caller may update (`NOT_FOUND` if they cannot see
    /// it, `FORBIDDEN` if they may not update it) with a live member or team.
    /// Sharing again with the same grantee changes the access.
    pub async fn share(
        &self,
        object: &str,
        id: &str,
        grantee: &Grantee,
        access: ShareAccess,
    ) -> Result<Share, StoreError> {
        self.shareable(object, id, grantee).await?;
        self.delete_share(object, id, grantee).await?;
        let (member, team) = grantee.columns();
        let ws = &self.store.meta.workspace.id;
        let backend = self.store.db.backend;
        let at = now_value().as_str().unwrap_or_default().to_string();
        let by = format!("{}:{}", self.actor.kind, self.actor.name);
        sys_execute(
            &self.txn,
            backend,
            "INSERT INTO rapport_share (id, workspace_id, object, record_id, member_id, team_id, access, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                uuid::Uuid::now_v7().to_string().into(),
                ws.into(),
                object.into(),
                id.into(),
                member.into(),
                team.into(),
                access.as_str().into(),
                at.clone().into(),
                by.clone().into(),
            ],
        )
        .await?;
        self.store.db.access_changed();
        let mut detail = grantee.describe();
        detail["access"] = json!(access.as_str());
        self.note(RecordChange::new(
            object,
            id,
            ChangeKind::Shared,
            json!({ "sharedWith": detail }),
        ))
        .await?;
        Ok(Share {
            object: object.into(),
            record_id: id.into(),
            grantee: grantee.clone(),
            access,
            created_at: at,
            created_by: by,
        })
    }

    /// Ends a share; whether there was one.
    pub async fn unshare(
        &self,
        object: &str,
        id: &str,
        grantee: &Grantee,
    ) -> Result<bool, StoreError> {
        self.shareable(object, id, grantee).await?;
        let n = self.delete_share(object, id, grantee).await?;
        if n > 0 {
            self.store.db.access_changed();
            self.note(RecordChange::new(
                object,
                id,
                ChangeKind::Unshared,
                json!({ "sharedWith": grantee.describe() }),
            ))
            .await?;
        }
        Ok(n > 0)
    }

    /// The shares of a record the caller can see.
    pub async fn shares_of(&self, object: &str, id: &str) -> Result<Vec<Share>, StoreError> {
        self.get(object, id).await?;
        let rows = sys_query(
            &self.txn,
            self.store.db.backend,
            "SELECT member_id, team_id, access, created_at, created_by FROM rapport_share WHERE workspace_id = $1 AND object = $2 AND record_id = $3 ORDER BY created_at, id",
            vec![
                self.store.meta.workspace.id.clone().into(),
                object.into(),
                id.into(),
            ],
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let member: String = r.try_get_by_index(0)?;
            let team: String = r.try_get_by_index(1)?;
            let access: String = r.try_get_by_index(2)?;
            out.push(Share {
                object: object.into(),
                record_id: id.into(),
                grantee: if member.is_empty() {
                    Grantee::Team(team)
                } else {
                    Grantee::Member(member)
                },
                access: ShareAccess::parse(&access).unwrap_or(ShareAccess::Read),
                created_at: r.try_get_by_index(3)?,
                created_by: r.try_get_by_index(4)?,
            });
        }
        Ok(out)
    }

    /// Removes the share of a record with a grantee; how many rows went.
    async fn delete_share(
        &self,
        object: &str,
        id: &str,
        grantee: &Grantee,
    ) -> Result<u64, StoreError> {
        let (member, team) = grantee.columns();
        sys_execute(
            &self.txn,
            self.store.db.backend,
            "DELETE FROM rapport_share WHERE workspace_id = $1 AND object = $2 AND record_id = $3 AND member_id = $4 AND team_id = $5",
            vec![
                self.store.meta.workspace.id.clone().into(),
                object.into(),
                id.into(),
                member.into(),
                team.into(),
            ],
        )
        .await
    }

    async fn shareable(&self, object: &str, id: &str, grantee: &Grantee) -> Result<(), StoreError> {
        check_uuid(id)?;
        self.get(object, id).await?;
        self.check(object, WriteOp::Update, Filter::eq("id", id))
            .await?;
        let (target, gid) = match grantee {
            Grantee::Member(m) => ("workspaceMember", m),
            Grantee::Team(t) => ("team", t),
        };
        check_uuid(gid)?;
        self.get(target, gid).await.map_err(|e| match e {
            StoreError::NotFound(_) => StoreError::bad(
                if target == "team" {
                    "teamId"
                } else {
                    "memberId"
                },
                format!("no {target} with id {gid}"),
            ),
            e => e,
        })?;
        Ok(())
    }
}

/// A record shared with a member, directly or through one of their teams.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub object: String,
    pub record_id: String,
    pub access: ShareAccess,
}

/// What is shared with a member or with any of `teams` (their team and the
/// teams above it). One statement.
pub async fn grants_for(
    db: &Db,
    workspace_id: &str,
    member_id: &str,
    teams: &[String],
) -> Result<Vec<Grant>, StoreError> {
    let mut text = String::from(
        "SELECT object, record_id, access FROM rapport_share WHERE workspace_id = $1 AND (member_id = $2",
    );
    let mut values: Vec<sea_orm::Value> = vec![workspace_id.into(), member_id.into()];
    if !teams.is_empty() {
        let slots: Vec<String> = (0..teams.len()).map(|i| format!("${}", i + 3)).collect();
        text.push_str(&format!(" OR team_id IN ({})", slots.join(", ")));
        values.extend(teams.iter().map(|t| sea_orm::Value::from(t.as_str())));
    }
    text.push(')');
    let rows = sys_query(&db.conn, db.backend, &text, values).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let access: String = r.try_get_by_index(2)?;
        out.push(Grant {
            object: r.try_get_by_index(0)?,
            record_id: r.try_get_by_index(1)?,
            access: ShareAccess::parse(&access).unwrap_or(ShareAccess::Read),
        });
    }
    Ok(out)
}
