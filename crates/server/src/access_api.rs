//! `POST /metadata`, accounts and access: sign-up, login, members, API keys,
//! roles and the audit log.

use async_graphql::{Context, ErrorExtensions, Json, Object, SimpleObject};
use rapport_graphql::ErrorCode;
use serde_json::Value;

use crate::metadata_api::{app, err, live, principal, require_admin};

#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// History of the workspace: `_metadata` (object and field changes),
    /// `_access` (roles, keys, members), or an object's records.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        object: String,
        record_id: Option<String>,
        #[graphql(default = 50)] first: i64,
    ) -> async_graphql::Result<Vec<AuditLogEntry>> {
        require_admin(ctx)?;
        let ws = principal(ctx)?.workspace_id.clone();
        let entries =
            rapport_store::audit_log(&app(ctx)?.db, &ws, &object, record_id.as_deref(), first)
                .await
                .map_err(err)?;
        Ok(entries
            .into_iter()
            .map(|(record_id, e)| AuditLogEntry {
                record_id,
                at: e.at,
                action: e.action,
                actor: e.actor,
                changes: Json(e.changes),
            })
            .collect())
    }

    /// Roles of the workspace, built-in and custom, with their definitions.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleInfo>> {
        require_admin(ctx)?;
        let ws = principal(ctx)?.workspace_id.clone();
        let roles = rapport_store::list_roles(&app(ctx)?.db, &ws)
            .await
            .map_err(err)?;
        Ok(roles
            .into_iter()
            .map(|(name, definition)| RoleInfo {
                name,
                definition: Json(definition),
            })
            .collect())
    }

    /// The caller's workspace's API keys (never their secrets).
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKeyInfo>> {
        require_admin(ctx)?;
        let ws = principal(ctx)?.workspace_id.clone();
        let keys = rapport_store::list_api_keys(&app(ctx)?.db, &ws)
            .await
            .map_err(err)?;
        Ok(keys
            .into_iter()
            .map(|k| ApiKeyInfo {
                id: k.id,
                name: k.name,
                role: k.role,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                revoked_at: k.revoked_at,
            })
            .collect())
    }
}

#[derive(SimpleObject)]
struct AuthPayload {
    token: String,
    expires_at: String,
    workspace_id: String,
    workspace_name: String,
    member_id: String,
}

impl From<rapport_store::Session> for AuthPayload {
    fn from(s: rapport_store::Session) -> Self {
        AuthPayload {
            token: s.token,
            expires_at: s.expires_at,
            workspace_id: s.workspace.id,
            workspace_name: s.workspace.name,
            member_id: s.member_id,
        }
    }
}

#[derive(SimpleObject)]
struct ApiKeyInfo {
    id: String,
    name: String,
    role: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

#[derive(SimpleObject)]
struct MemberInvitation {
    member_id: String,
    email: String,
    /// Shown once; only its hash is kept. Valid for seven days.
    invitation_token: String,
    expires_at: String,
}

#[derive(SimpleObject)]
struct AuditLogEntry {
    record_id: String,
    at: String,
    action: String,
    actor: String,
    changes: Json<Value>,
}

#[derive(SimpleObject)]
struct RoleInfo {
    name: String,
    definition: Json<Value>,
}

#[derive(SimpleObject)]
struct CreatedApiKey {
    id: String,
    name: String,
    role: String,
    /// Shown once; only its hash is kept.
    key: String,
}

#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Creates a workspace with the standard objects and its first admin, and logs them in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        workspace_name: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        let s = rapport_store::sign_up(
            &app.db,
            &email,
            &password,
            &workspace_name,
            &crate::standard::standard_documents(),
            app.session_ttl,
        )
        .await
        .map_err(err)?;
        Ok(s.into())
    }

    /// A session token for a member (in `workspaceId`, or their first workspace).
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        workspace_id: Option<String>,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        if let Some(secs) = app.login_pause(&email) {
            return Err(
                async_graphql::Error::new("too many failed logins; try again later").extend_with(
                    |_, e| {
                        e.set("code", ErrorCode::RateLimited.as_str());
                        e.set("retryAfter", secs);
                    },
                ),
            );
        }
        let result = rapport_store::login(
            &app.db,
            &email,
            &password,
            workspace_id.as_deref(),
            app.session_ttl,
        )
        .await;
        app.login_result(&email, result.is_ok());
        Ok(result.map_err(err)?.into())
    }

    /// A named API key of the caller's workspace with a role (`admin` or `member`).
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        #[graphql(default_with = "\"member\".to_string()")] role: String,
    ) -> async_graphql::Result<CreatedApiKey> {
        require_admin(ctx)?;
        let ws = principal(ctx)?.workspace_id.clone();
        let (id, key) = rapport_store::issue_api_key(
            &app(ctx)?.db,
            &principal(ctx)?.actor(),
            &ws,
            &name,
            &role,
        )
        .await
        .map_err(err)?;
        Ok(CreatedApiKey {
            id,
            name,
            role,
            key,
        })
    }

    /// Invites a person to the workspace (admin only): their
    /// `workspaceMember` record and an invitation token, shown once, for
    /// the admin to pass on. The person joins with `acceptInvitation`.
    async fn create_member(
        &self,
        ctx: &Context<'_>,
        email: String,
        first_name: String,
        #[graphql(default_with = "\"member\".to_string()")] role: String,
    ) -> async_graphql::Result<MemberInvitation> {
        require_admin(ctx)?;
        let live = live(ctx).await?;
        let invitation = rapport_store::create_member(
            &app(ctx)?.db,
            &principal(ctx)?.actor(),
            &live.meta.workspace,
            &email,
            &first_name,
            &role,
        )
        .await
        .map_err(err)?;
        Ok(MemberInvitation {
            member_id: invitation.member_id,
            email: invitation.email,
            invitation_token: invitation.token,
            expires_at: invitation.expires_at,
        })
    }

    /// Joins a workspace with an invitation's token: an existing account
    /// gives its own password, a new one chooses it. Returns a session.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = app(ctx)?;
        let session = rapport_store::accept_invitation(&app.db, &token, &password, app.session_ttl)
            .await
            .map_err(err)?;
        Ok(session.into())
    }

    /// A custom role: `{ "default": { "read": "all", "create": true, "update": "own", … },
    /// "objects": { "opportunity": { "read": "team" } },
    /// "fields": { "company.annualRevenue": "none" } }` (scopes none, own, team, all).
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        name: String,
        definition: Json<Value>,
    ) -> async_graphql::Result<bool> {
        save_role(ctx, &name, &definition.0, false).await
    }

    async fn update_role(
        &self,
        ctx: &Context<'_>,
        name: String,
        definition: Json<Value>,
    ) -> async_graphql::Result<bool> {
        save_role(ctx, &name, &definition.0, true).await
    }

    /// Ends a member's access; their records are kept.
    async fn deactivate_member(
        &self,
        ctx: &Context<'_>,
        member_id: String,
    ) -> async_graphql::Result<bool> {
        require_admin(ctx)?;
        let live = live(ctx).await?;
        let app = app(ctx)?;
        rapport_store::deactivate_member(
            &app.db,
            &principal(ctx)?.actor(),
            &live.meta.workspace,
            &member_id,
        )
        .await
        .map_err(err)?;
        app.forget_principal(&member_id).await;
        Ok(true)
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        require_admin(ctx)?;
        let ws = principal(ctx)?.workspace_id.clone();
        let app = app(ctx)?;
        rapport_store::revoke_api_key(&app.db, &principal(ctx)?.actor(), &ws, &id)
            .await
            .map_err(err)?;
        app.forget_principal(&id).await;
        Ok(true)
    }
}

async fn save_role(
    ctx: &Context<'_>,
    name: &str,
    definition: &Value,
    replace: bool,
) -> async_graphql::Result<bool> {
    require_admin(ctx)?;
    let p = principal(ctx)?;
    let app = app(ctx)?;
    rapport_store::save_role(
        &app.db,
        &p.actor(),
        &p.workspace_id,
        name,
        definition,
        replace,
    )
    .await
    .map_err(err)?;
    app.forget_role(&p.workspace_id, name);
    Ok(true)
}
