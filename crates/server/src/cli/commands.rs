//! What the data commands do: import, export, metadata as code and keys,
//! each as the operator or as the member or key a token speaks for.

use std::sync::Arc;

use serde_json::Value;

use super::{ExportArgs, ImportArgs, SchemaCommand, open};
use crate::app::App;
use crate::error::ServerError;

/// `rapport import`: one transaction, every line validated; with
/// `--skip-invalid` the valid ones go in and the others are reported.
pub(super) async fn import(url: &str, args: &ImportArgs) -> Result<(), ServerError> {
    let file = &args.file;
    let opened = std::fs::File::open(file)
        .map_err(|e| ServerError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let (app, _) = open(url).await?;
    let format = args
        .format
        .unwrap_or_else(|| crate::transfer::Format::of_path(file));
    let caller = caller(
        &app,
        args.workspace.as_deref(),
        args.key.as_deref(),
        "import",
    )
    .await?;
    if let Some(access) = &caller.access {
        access
            .write_filter(&args.object, rapport_graphql::WriteOp::Create)
            .map_err(|e| ServerError::Usage(e.to_string()))?;
    }
    let report = crate::transfer::import(
        &caller.store,
        &caller.actor,
        &args.object,
        crate::transfer::Input {
            reader: std::io::BufReader::new(opened),
            size,
        },
        crate::transfer::ImportOptions {
            format,
            access: caller.access.as_ref(),
            skip_invalid: args.skip_invalid,
            ignore_unknown: args.ignore_unknown,
        },
    )
    .await?;
    for e in &report.errors {
        let field = if e.field.is_empty() { "-" } else { &e.field };
        eprintln!("line {}: {field}: {}", e.line, e.reason);
    }
    if report.refused > 0 && !args.skip_invalid {
        return Err(ServerError::Usage(format!(
            "{} invalid line(s); nothing imported (--skip-invalid imports the others)",
            report.refused
        )));
    }
    println!(
        "{} record(s) imported, {} line(s) refused",
        report.imported, report.refused
    );
    Ok(())
}

/// `rapport export`: every record of an object the caller may read.
pub(super) async fn export(url: &str, args: &ExportArgs) -> Result<(), ServerError> {
    let (app, _) = open(url).await?;
    let caller = caller(
        &app,
        args.workspace.as_deref(),
        args.key.as_deref(),
        "export",
    )
    .await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    crate::transfer::export(
        &caller.store,
        &args.object,
        args.format,
        caller.access.as_ref(),
        &mut out,
    )
    .await?;
    Ok(())
}

/// `rapport keys create-admin`: a new admin API key, printed once.
pub(super) async fn create_admin_key(
    url: &str,
    workspace: Option<&str>,
    name: &str,
) -> Result<(), ServerError> {
    let (app, _) = open(url).await?;
    let workspace = match workspace {
        Some(id) => rapport_store::list_workspaces(&app.db)
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| ServerError::Usage(format!("no workspace with id {id}")))?,
        None => app.workspace.clone(),
    };
    let (_, secret) = rapport_store::issue_api_key(
        &app.db,
        &cli_actor("keys create-admin"),
        &workspace.id,
        name,
        "admin",
    )
    .await?;
    println!(
        "Admin API key for workspace {} ({}), shown once: {secret}",
        workspace.name, workspace.id
    );
    Ok(())
}

/// Who a command acts as, and the store it reads and writes through.
struct Caller {
    store: rapport_store::RecordStore,
    actor: rapport_store::Actor,
    /// The member's or key's rights; `None` for the operator.
    access: Option<rapport_graphql::Access>,
}

/// The operator in a workspace, or the member or key a token speaks for,
/// with their role's rights and record scopes in their own workspace.
async fn caller(
    app: &App,
    workspace: Option<&str>,
    key: Option<&str>,
    what: &str,
) -> Result<Caller, ServerError> {
    let Some(key) = key else {
        let live = live_of(app, workspace).await?;
        return Ok(Caller {
            store: (*live.store).clone(),
            actor: cli_actor(what),
            access: None,
        });
    };
    let principal = app
        .authenticate(key)
        .await?
        .ok_or_else(|| ServerError::Usage("--key: unknown, revoked or expired token".into()))?;
    if workspace.is_some_and(|w| w != principal.workspace_id) {
        return Err(ServerError::Usage(format!(
            "--key belongs to workspace {}, not the one --workspace names",
            principal.workspace_id
        )));
    }
    let live = app.live_for(&principal.workspace_id).await?;
    let access = app.access_for(&principal, &live).await?;
    Ok(Caller {
        store: live.store.scoped(access.read_scopes(&live.meta.catalog)),
        actor: principal.actor(),
        access: Some(access),
    })
}

/// A workspace's live schema: the one named, or the default.
async fn live_of(
    app: &App,
    workspace: Option<&str>,
) -> Result<Arc<crate::live::Live>, ServerError> {
    let Some(id) = workspace else {
        return Ok(app.live());
    };
    let known = rapport_store::list_workspaces(&app.db)
        .await?
        .iter()
        .any(|w| w.id == id);
    if !known {
        return Err(ServerError::Usage(format!("no workspace with id {id}")));
    }
    app.live_for(id).await
}

pub(super) fn cli_actor(what: &str) -> rapport_store::Actor {
    rapport_store::Actor {
        kind: "system".into(),
        id: "cli".into(),
        name: what.into(),
    }
}

/// Re-seals every workspace's encrypted values under the keyring's first key.
pub async fn reseal_all(app: &App) -> Result<u64, ServerError> {
    let mut total = 0;
    for workspace in rapport_store::list_workspaces(&app.db).await? {
        let meta = rapport_store::load_workspace(&app.db, &workspace).await?;
        total += rapport_store::reseal_workspace(&app.db, &meta).await?;
    }
    Ok(total)
}

pub(super) async fn schema(
    url: &str,
    workspace: Option<&str>,
    command: &SchemaCommand,
) -> Result<(), ServerError> {
    let (app, _) = open(url).await?;
    let live = live_of(&app, workspace).await?;
    match command {
        SchemaCommand::Export { object } => {
            let docs: Vec<Value> = live
                .meta
                .catalog
                .objects()
                .iter()
                .filter(|o| object.as_ref().is_none_or(|n| *n == o.name))
                .map(rapport_meta::export_document)
                .collect();
            if let Some(name) = object {
                let doc = docs
                    .into_iter()
                    .next()
                    .ok_or_else(|| ServerError::Usage(format!("no object named `{name}`")))?;
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&docs).unwrap_or_default()
                );
            }
        }
        SchemaCommand::Apply { files, dry_run } => {
            if files.is_empty() {
                return Err(ServerError::Usage("name at least one file".into()));
            }
            let mut docs = Vec::new();
            for f in files {
                let text = std::fs::read_to_string(f)?;
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| ServerError::Usage(format!("{}: {e}", f.display())))?;
                match v {
                    Value::Array(list) => docs.extend(list),
                    one => docs.push(one),
                }
            }
            let plan = live
                .meta
                .apply_schema(&app.db, &cli_actor("schema apply"), docs, *dry_run)
                .await?;
            for s in &plan.steps {
                println!(
                    "{:<16} {}{} — {}",
                    s.action,
                    s.object,
                    s.field
                        .as_ref()
                        .map(|f| format!(".{f}"))
                        .unwrap_or_default(),
                    s.detail
                );
            }
            println!(
                "{} step(s); metadata version {}{}",
                plan.steps.len(),
                plan.metadata_version,
                if *dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
