//! Accounts: people who log in (argon2 passwords), their membership of
//! workspaces, sessions, and who a bearer token speaks for.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::StatementCounter;
use crate::db::{Db, sys_execute, sys_query};
use crate::error::StoreError;
use crate::metadata::{Workspace, create_workspace_in, load_in};
use crate::records::{Actor, RecordStore, Writing};

/// Who a request acts for: a member (session) or an API key, in one workspace.
#[derive(Debug, Clone)]
pub struct Principal {
    pub workspace_id: String,
    pub role: String,
    /// `member` or `apiKey`
    pub kind: String,
    pub id: String,
    pub name: String,
    /// The workspaceMember record of a logged-in member.
    pub member_id: Option<String>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            kind: self.kind.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
    pub workspace: Workspace,
    pub member_id: String,
}

pub(crate) fn hash_token(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(e.to_string()))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn check_email(email: &str) -> Result<(), StoreError> {
    let email_ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !d.starts_with('.'));
    if !email_ok {
        return Err(StoreError::bad("email", "is not an email address"));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < 10 {
        return Err(StoreError::bad("password", "needs at least 10 characters"));
    }
    // Argon2 reads every byte: a megabyte password is work, not secrecy.
    if password.len() > 1024 {
        return Err(StoreError::bad("password", "at most 1024 bytes"));
    }
    Ok(())
}

fn check_sign_up(email: &str, password: &str, workspace_name: &str) -> Result<(), StoreError> {
    check_email(email)?;
    check_password(password)?;
    if workspace_name.trim().is_empty() || workspace_name.len() > 100 {
        return Err(StoreError::bad("workspaceName", "1 to 100 characters"));
    }
    Ok(())
}

/// A new session of an account as a member of a workspace.
async fn open_session(
    conn: &impl sea_orm::ConnectionTrait,
    db: &Db,
    user_id: &str,
    workspace: Workspace,
    member_id: String,
    ttl: chrono::Duration,
) -> Result<Session, StoreError> {
    let token = format!(
        "rs_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let expires = stamp(now() + ttl);
    sys_execute(
        conn,
        db.backend,
        "INSERT INTO rapport_session (id, token_hash, user_id, workspace_id, member_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![uuid::Uuid::now_v7().to_string().into(), hash_token(&token).into(), user_id.into(), workspace.id.clone().into(), member_id.clone().into(), expires.clone().into(), stamp(now()).into()],
    )
    .await?;
    Ok(Session {
        token,
        expires_at: expires,
        workspace,
        member_id,
    })
}

/// The account joins the workspace as its member, with a role.
async fn add_membership(
    conn: &impl sea_orm::ConnectionTrait,
    db: &Db,
    user_id: &str,
    workspace_id: &str,
    member_id: &str,
    role: &str,
) -> Result<(), StoreError> {
    sys_execute(
        conn,
        db.backend,
        "INSERT INTO rapport_membership (user_id, workspace_id, member_id, role, active, created_at) VALUES ($1, $2, $3, $4, TRUE, $5)",
        vec![user_id.into(), workspace_id.into(), member_id.into(), role.into(), stamp(now()).into()],
    )
    .await?;
    Ok(())
}

/// Creates a workspace with the standard objects, its first member (admin)
/// and that member's account, and logs them in — one transaction.
pub async fn sign_up(
    db: &Db,
    email: &str,
    password: &str,
    workspace_name: &str,
    standard: &[Value],
    ttl: chrono::Duration,
) -> Result<Session, StoreError> {
    let email = email.trim().to_lowercase();
    check_sign_up(&email, password, workspace_name)?;
    let txn = db.begin_write().await?;
    // An existing account signs up for another workspace with its own
    // password; anything else is answered as a failed login is, so the
    // answer does not say whether the email has an account.
    let existing_user = match account(&txn, db, &email, password).await? {
        Account::Owned(id) => Some(id),
        Account::NotOwned => {
            return Err(StoreError::Unauthenticated(
                "wrong email or password".into(),
            ));
        }
        Account::None => None,
    };
    let workspace = create_workspace_in(&txn, db, workspace_name.trim(), standard).await?;
    let meta = std::sync::Arc::new(load_in(&txn, db.backend, &workspace).await?);
    let store = RecordStore::new(db.clone(), meta.clone());
    let local = email.split('@').next().unwrap_or_default().to_string();
    let actor = Actor {
        kind: "system".into(),
        id: "signUp".into(),
        name: "signUp".into(),
    };
    let member_object = meta.object("workspaceMember")?;
    let member = store
        .create_in(
            Writing {
                txn: &txn,
                counter: &StatementCounter::default(),
                actor: &actor,
            },
            member_object,
            &[
                json!({ "name": { "firstName": local }, "email": email, "role": "ADMIN" })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ],
            None,
        )
        .await?
        .pop()
        .ok_or_else(|| StoreError::Internal("member not created".into()))?;
    let member_id = member["id"].as_str().unwrap_or_default().to_string();
    let user_id = match existing_user {
        Some(id) => id,
        None => new_user(&txn, db, &email, password).await?,
    };
    add_membership(&txn, db, &user_id, &workspace.id, &member_id, "admin").await?;
    let session = open_session(&txn, db, &user_id, workspace, member_id, ttl).await?;
    txn.commit().await?;
    Ok(session)
}

/// Checks a password and opens a session in the member's workspace (the
/// given one, or their first). Wrong email and wrong password look the same.
pub async fn login(
    db: &Db,
    email: &str,
    password: &str,
    workspace_id: Option<&str>,
    ttl: chrono::Duration,
) -> Result<Session, StoreError> {
    let denied = || StoreError::Unauthenticated("wrong email or password".into());
    let email = email.trim().to_lowercase();
    let users = sys_query(
        &db.conn,
        db.backend,
        "SELECT id, password_hash FROM rapport_user WHERE email = $1",
        vec![email.into()],
    )
    .await?;
    let Some(user) = users.first() else {
        // Spend the same time as a real check, so timing does not tell which emails exist.
        let _ = password_matches(
            password,
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8J5p1kGkqQ5yJd1f3aXxj9uQ8j1Yw7aDgq0s3xVQ2cI",
        );
        return Err(denied());
    };
    let user_id: String = user.try_get_by_index(0)?;
    let stored: String = user.try_get_by_index(1)?;
    if !password_matches(password, &stored) {
        return Err(denied());
    }
    let memberships = sys_query(
        &db.conn,
        db.backend,
        "SELECT m.workspace_id, m.member_id, w.name, w.namespace FROM rapport_membership m JOIN rapport_workspace w ON w.id = m.workspace_id WHERE m.user_id = $1 AND m.active = TRUE ORDER BY m.created_at",
        vec![user_id.clone().into()],
    )
    .await?;
    let mut chosen = None;
    for m in &memberships {
        let ws: String = m.try_get_by_index(0)?;
        if workspace_id.is_none_or(|w| w == ws) {
            chosen = Some((
                ws,
                m.try_get_by_index::<String>(1)?,
                m.try_get_by_index::<String>(2)?,
                m.try_get_by_index::<String>(3)?,
            ));
            break;
        }
    }
    let (ws, member_id, name, namespace) = chosen.ok_or_else(denied)?;
    let workspace = Workspace {
        id: ws,
        name,
        namespace,
    };
    open_session(&db.conn, db, &user_id, workspace, member_id, ttl).await
}

/// Who a bearer token speaks for, if anyone: a live session of an active
/// member, or an unrevoked API key.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Principal>, StoreError> {
    let h = hash_token(token);
    if token.starts_with("rs_") {
        let rows = sys_query(
            &db.conn,
            db.backend,
            "SELECT s.workspace_id, s.member_id, s.expires_at, m.role, u.email, m.active FROM rapport_session s \
             JOIN rapport_membership m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id \
             JOIN rapport_user u ON u.id = s.user_id WHERE s.token_hash = $1",
            vec![h.into()],
        )
        .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let expires: String = r.try_get_by_index(2)?;
        let active: bool = r.try_get_by_index(5)?;
        let expired = chrono::DateTime::parse_from_rfc3339(&expires)
            .map(|e| e < now())
            .unwrap_or(true);
        if expired || !active {
            return Ok(None);
        }
        let member_id: String = r.try_get_by_index(1)?;
        return Ok(Some(Principal {
            workspace_id: r.try_get_by_index(0)?,
            role: r.try_get_by_index(3)?,
            kind: "member".into(),
            id: member_id.clone(),
            name: r.try_get_by_index(4)?,
            member_id: Some(member_id),
        }));
    }
    let rows = sys_query(&db.conn, db.backend, "SELECT id, workspace_id, name, role FROM rapport_api_key WHERE key_hash = $1 AND revoked_at IS NULL", vec![h.into()]).await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let id: String = r.try_get_by_index(0)?;
    sys_execute(
        &db.conn,
        db.backend,
        "UPDATE rapport_api_key SET last_used_at = $1 WHERE id = $2",
        vec![stamp(now()).into(), id.clone().into()],
    )
    .await?;
    Ok(Some(Principal {
        workspace_id: r.try_get_by_index(1)?,
        role: r.try_get_by_index(3)?,
        kind: "apiKey".into(),
        id,
        name: r.try_get_by_index(2)?,
        member_id: None,
    }))
}

/// Ends a session (logout).
pub async fn end_session(db: &Db, token: &str) -> Result<(), StoreError> {
    sys_execute(
        &db.conn,
        db.backend,
        "DELETE FROM rapport_session WHERE token_hash = $1",
        vec![hash_token(token).into()],
    )
    .await?;
    Ok(())
}

/// The account of an email, as `password` proves it.
enum Account {
    None,
    /// The password is the account's: its id.
    Owned(String),
    NotOwned,
}

async fn account(
    txn: &impl sea_orm::ConnectionTrait,
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Account, StoreError> {
    let rows = sys_query(
        txn,
        db.backend,
        "SELECT id, password_hash FROM rapport_user WHERE email = $1",
        vec![email.into()],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(Account::None);
    };
    let stored: String = row.try_get_by_index(1)?;
    Ok(if password_matches(password, &stored) {
        Account::Owned(row.try_get_by_index(0)?)
    } else {
        Account::NotOwned
    })
}

/// Makes an account for `email` (not taken: the caller checked).
async fn new_user(
    txn: &impl sea_orm::ConnectionTrait,
    db: &Db,
    email: &str,
    password: &str,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    sys_execute(
        txn,
        db.backend,
        "INSERT INTO rapport_user (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        vec![
            id.clone().into(),
            email.into(),
            hash_password(password)?.into(),
            stamp(now()).into(),
        ],
    )
    .await?;
    Ok(id)
}

/// How long an invitation can be accepted.
pub const INVITATION_TTL_DAYS: i64 = 7;

/// An invitation to join a workspace, for the admin to pass on to the
/// person: its token is shown once, and only its hash is kept.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub member_id: String,
    pub email: String,
    pub token: String,
    pub expires_at: String,
}

/// An admin invites a person: a `workspaceMember` record and an
/// invitation. Nothing about an account is decided here: the person
/// accepts with the token ([`accept_invitation`]), proving they own the
/// email's account by its password, or making the account with a password
/// of their own. So no workspace ever attaches an account, or chooses a
/// password another workspace's login accepts.
pub async fn create_member(
    db: &Db,
    by: &Actor,
    workspace: &Workspace,
    email: &str,
    first_name: &str,
    role: &str,
) -> Result<Invitation, StoreError> {
    let email = email.trim().to_lowercase();
    check_email(&email)?;
    if first_name.trim().is_empty() || first_name.len() > 100 {
        return Err(StoreError::bad("firstName", "1 to 100 characters"));
    }
    if crate::roles::find_role(db, &workspace.id, role)
        .await?
        .is_none()
    {
        return Err(StoreError::bad("role", format!("no role `{role}`")));
    }
    let txn = db.begin_write().await?;
    let member_already = sys_query(
        &txn,
        db.backend,
        "SELECT m.member_id FROM rapport_membership m JOIN rapport_user u ON u.id = m.user_id \
         WHERE u.email = $1 AND m.workspace_id = $2",
        vec![email.clone().into(), workspace.id.clone().into()],
    )
    .await?;
    let invited_already = sys_query(
        &txn,
        db.backend,
        "SELECT id FROM rapport_invitation WHERE email = $1 AND workspace_id = $2 AND accepted_at IS NULL AND expires_at > $3",
        vec![email.clone().into(), workspace.id.clone().into(), stamp(now()).into()],
    )
    .await?;
    if !member_already.is_empty() || !invited_already.is_empty() {
        return Err(StoreError::Conflict(format!(
            "{email} is already a member or invited"
        )));
    }
    let meta = std::sync::Arc::new(load_in(&txn, db.backend, workspace).await?);
    let store = RecordStore::new(db.clone(), meta.clone());
    let actor = Actor {
        kind: "system".into(),
        id: "createMember".into(),
        name: "createMember".into(),
    };
    let input = json!({ "name": { "firstName": first_name.trim() }, "email": email, "role": if role == "admin" { "ADMIN" } else { "MEMBER" } });
    let member = store
        .create_in(
            Writing {
                txn: &txn,
                counter: &StatementCounter::default(),
                actor: &actor,
            },
            meta.object("workspaceMember")?,
            &[input.as_object().cloned().unwrap_or_default()],
            None,
        )
        .await?
        .pop()
        .ok_or_else(|| StoreError::Internal("member not created".into()))?;
    let member_id = member["id"].as_str().unwrap_or_default().to_string();
    let token = format!(
        "ri_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let expires_at = stamp(now() + chrono::Duration::days(INVITATION_TTL_DAYS));
    sys_execute(
        &txn,
        db.backend,
        "INSERT INTO rapport_invitation (id, token_hash, workspace_id, member_id, email, role, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            uuid::Uuid::now_v7().to_string().into(),
            hash_token(&token).into(),
            workspace.id.clone().into(),
            member_id.clone().into(),
            email.clone().into(),
            role.into(),
            by.id.clone().into(),
            stamp(now()).into(),
            expires_at.clone().into(),
        ],
    )
    .await?;
    crate::audit::admin_entry(
        &txn,
        db.backend,
        by,
        crate::audit::AdminEntry {
            workspace_id: &workspace.id,
            object: "_access",
            subject: &member_id,
            action: "MEMBER_INVITED",
            detail: json!({ "email": email, "role": role }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Invitation {
        member_id,
        email,
        token,
        expires_at,
    })
}

/// The invited person joins: with the password of the email's account if
/// it has one (proof that they own it), or with a new account and the
/// password they choose. Opens a session in the workspace.
pub async fn accept_invitation(
    db: &Db,
    token: &str,
    password: &str,
    ttl: chrono::Duration,
) -> Result<Session, StoreError> {
    let refused = || StoreError::Unauthenticated("unknown, used or expired invitation".into());
    let txn = db.begin_write().await?;
    let rows = sys_query(
        &txn,
        db.backend,
        "SELECT i.id, i.workspace_id, i.member_id, i.email, i.role, i.expires_at, w.name, w.namespace \
         FROM rapport_invitation i JOIN rapport_workspace w ON w.id = i.workspace_id \
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL",
        vec![hash_token(token).into()],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Err(refused());
    };
    let expires: String = row.try_get_by_index(5)?;
    if chrono::DateTime::parse_from_rfc3339(&expires).map_or(true, |e| e < now()) {
        return Err(refused());
    }
    let invitation_id: String = row.try_get_by_index(0)?;
    let workspace = Workspace {
        id: row.try_get_by_index(1)?,
        name: row.try_get_by_index(6)?,
        namespace: row.try_get_by_index(7)?,
    };
    let member_id: String = row.try_get_by_index(2)?;
    let email: String = row.try_get_by_index(3)?;
    let role: String = row.try_get_by_index(4)?;
    let user_id = match account(&txn, db, &email, password).await? {
        Account::Owned(id) => id,
        Account::NotOwned => {
            return Err(StoreError::Unauthenticated(
                "the password is not this account's: an existing account joins with its own password".into(),
            ));
        }
        Account::None => {
            check_password(password)?;
            new_user(&txn, db, &email, password).await?
        }
    };
    add_membership(&txn, db, &user_id, &workspace.id, &member_id, &role).await?;
    sys_execute(
        &txn,
        db.backend,
        "UPDATE rapport_invitation SET accepted_at = $1 WHERE id = $2",
        vec![stamp(now()).into(), invitation_id.into()],
    )
    .await?;
    let by = Actor {
        kind: "member".into(),
        id: member_id.clone(),
        name: email.clone(),
    };
    crate::audit::admin_entry(
        &txn,
        db.backend,
        &by,
        crate::audit::AdminEntry {
            workspace_id: &workspace.id,
            object: "_access",
            subject: &member_id,
            action: "MEMBER_JOINED",
            detail: json!({ "email": email }),
        },
    )
    .await?;
    let session = open_session(&txn, db, &user_id, workspace, member_id, ttl).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends members' access to a workspace inside a transaction: their logins
/// into it, their sessions and their pending invitations.
pub(crate) async fn end_access_in(
    txn: &impl sea_orm::ConnectionTrait,
    db: &Db,
    workspace_id: &str,
    member_ids: &[String],
) -> Result<u64, StoreError> {
    let mut ended = 0;
    for member_id in member_ids {
        ended += sys_execute(
            txn,
            db.backend,
            "UPDATE rapport_membership SET active = FALSE WHERE workspace_id = $1 AND member_id = $2 AND active = TRUE",
            vec![workspace_id.into(), member_id.clone().into()],
        )
        .await?;
        for table in ["rapport_session", "rapport_invitation"] {
            let pending = if table == "rapport_invitation" {
                " AND accepted_at IS NULL"
            } else {
                ""
            };
            sys_execute(
                txn,
                db.backend,
                &format!("DELETE FROM {table} WHERE workspace_id = $1 AND member_id = $2{pending}"),
                vec![workspace_id.into(), member_id.clone().into()],
            )
            .await?;
        }
    }
    db.sessions_epoch
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(ended)
}

/// Deactivates a member: they can no longer log in, their sessions end, and
/// their records stay theirs (never deleted).
pub async fn deactivate_member(
    db: &Db,
    by: &Actor,
    workspace: &Workspace,
    member_id: &str,
) -> Result<(), StoreError> {
    let txn = db.begin_write().await?;
    let done = end_access_in(&txn, db, &workspace.id, &[member_id.to_string()]).await?;
    if done == 0 {
        return Err(StoreError::NotFound(format!(
            "no active member {member_id}"
        )));
    }
    let meta = std::sync::Arc::new(load_in(&txn, db.backend, workspace).await?);
    let store = RecordStore::new(db.clone(), meta.clone());
    let actor = Actor {
        kind: "system".into(),
        id: "deactivateMember".into(),
        name: "deactivateMember".into(),
    };
    store
        .update_in(
            Writing {
                txn: &txn,
                counter: &StatementCounter::default(),
                actor: &actor,
            },
            meta.object("workspaceMember")?,
            member_id,
            json!({ "active": false })
                .as_object()
                .unwrap_or(&Default::default()),
            None,
            "",
        )
        .await?;
    crate::audit::admin_entry(
        &txn,
        db.backend,
        by,
        crate::audit::AdminEntry {
            workspace_id: &workspace.id,
            object: "_access",
            subject: member_id,
            action: "MEMBER_DEACTIVATED",
            detail: json!({}),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
