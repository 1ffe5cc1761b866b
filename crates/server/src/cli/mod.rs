//! The `rapport` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::App;

mod commands;
use crate::error::ServerError;
pub use commands::reseal_all;

#[derive(Parser)]
#[command(
    name = "rapport",
    version,
    about = "Rapport: a GraphQL CRM platform with metadata-driven objects"
)]
struct Cli {
    /// `sqlite://PATH` or `postgres://…`; SQLite under the data directory by default.
    #[arg(long, env = "RAPPORT_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Where the SQLite file and the admin key file live.
    #[arg(
        long,
        env = "RAPPORT_DATA_DIR",
        default_value = "rapport-data",
        global = true
    )]
    data_dir: PathBuf,
    /// How log lines are written to standard error: `text` (coloured on a
    /// terminal only) or `json` (one object a line). What is logged is set
    /// by `RAPPORT_LOG` or `RUST_LOG` (a filter such as `info,sqlx=warn`).
    #[arg(
        long,
        env = "RAPPORT_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL and metadata APIs.
    Serve {
        /// The address to listen on: `HOST:PORT`, a host name or an IP
        /// address (`localhost:4000`, `0.0.0.0:4000`).
        #[arg(long, env = "RAPPORT_LISTEN", default_value = "127.0.0.1:4000")]
        listen: String,
        /// An origin a browser app may call the APIs from
        /// (`https://app.example.com`); repeat it or separate with commas.
        /// None by default: no cross-origin calls.
        #[arg(long, env = "RAPPORT_CORS_ORIGIN", value_delimiter = ',')]
        cors_origin: Vec<String>,
        /// Fill a new workspace with demo records.
        #[arg(long)]
        demo: bool,
        /// A PostgreSQL streaming replica for record reads; a caller's own
        /// writes are still read back at once (docs/scaling.md).
        #[arg(long, env = "RAPPORT_READ_DATABASE_URL")]
        read_database_url: Option<String>,
    },
    /// Fill the workspace with demo records (deterministic; scale multiplies
    /// them). On a workspace that has the demo, adds to it.
    Demo {
        /// How many times the base demo (20 companies, 60 people, 40 deals, …).
        #[arg(long, default_value_t = 1)]
        scale: u32,
    },
    /// Admin API keys, and keys for `encryptedText` fields
    /// (docs/security.md).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Import records from CSV (header row of field names, `name.firstName`
    /// for parts) or JSON Lines, validated, in one transaction.
    Import(ImportArgs),
    /// Write every record of an object to stdout.
    Export(ExportArgs),
    /// Metadata as code.
    Schema {
        /// The workspace (its id); the default workspace if not given.
        #[arg(long, global = true)]
        workspace: Option<String>,
        #[command(subcommand)]
        command: SchemaCommand,
    },
}

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// The object the records are of (`company`, `person`, …).
    pub object: String,
    /// The file to read.
    pub file: PathBuf,
    /// By default from the file's extension (.csv, else JSON Lines).
    #[arg(long, value_enum)]
    pub format: Option<crate::transfer::Format>,
    /// Import the valid lines and report the others (default: any
    /// invalid line means nothing is imported).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Leave out columns (or JSON keys) that are not fields of the object
    /// (default: name them and import nothing).
    #[arg(long)]
    pub ignore_unknown: bool,
    /// The workspace (its id); the default workspace if not given.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Import as the member or API key this token speaks for: their
    /// role's rights, in their workspace. Without it, as the operator.
    #[arg(long, env = "RAPPORT_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// The object whose records are written.
    pub object: String,
    /// `jsonl` (one record a line) or `csv`.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: crate::transfer::Format,
    /// The workspace (its id); the default workspace if not given.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Export as the member or API key this token speaks for: only the
    /// records and fields their role reads. Without it, as the operator.
    #[arg(long, env = "RAPPORT_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random encryption key (base64 of 32 bytes).
    Generate,
    /// Make a new admin API key and print it once: the way back in for
    /// someone with access to the server's machine and database.
    CreateAdmin {
        /// The workspace (its id); the default workspace if not given.
        #[arg(long)]
        workspace: Option<String>,
        /// A name for the key, listed by `apiKeys`.
        #[arg(long, default_value = "admin (command line)")]
        name: String,
    },
    /// Re-seal every encrypted value of every workspace under the first key,
    /// after which older keys can leave the keyring.
    Reseal,
}

#[derive(Subcommand)]
pub(crate) enum SchemaCommand {
    /// Print object documents (all, or one with --object).
    Export {
        /// Only this object's document.
        #[arg(long)]
        object: Option<String>,
    },
    /// Make the workspace match the documents in the files (each a document or a list).
    Apply {
        /// Files of object documents (JSON: one document or a list).
        files: Vec<PathBuf>,
        /// Print what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn database_url(cli: &Cli) -> Result<String, ServerError> {
    if let Some(url) = &cli.database_url {
        return Ok(url.clone());
    }
    std::fs::create_dir_all(&cli.data_dir)?;
    Ok(format!(
        "sqlite://{}",
        cli.data_dir.join("rapport.db").display()
    ))
}

/// Entry point of the binary.
pub fn main() {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("rapport: {e}");
        std::process::exit(1);
    }
}

/// `RAPPORT_LOG`, else `RUST_LOG`, else `info,sqlx=warn`; colour only on a
/// terminal.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAPPORT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    let url = database_url(&cli)?;
    match &cli.command {
        Command::Serve {
            listen,
            cors_origin,
            demo,
            read_database_url,
        } => {
            let options = http_options(cors_origin)?;
            let files = files_setting(&cli.data_dir).await?;
            let (app, created) = App::open_replicated(&url, read_database_url.as_deref())
                .await
                .map_err(|e| match e {
                    ServerError::Store(rapport_store::StoreError::Database(db)) => {
                        ServerError::Usage(format!(
                            "cannot open the database at {}: {db}",
                            without_password(&url)
                        ))
                    }
                    other => other,
                })?;
            let key_file = admin_key_file(&cli, &url);
            app.set_files(files);
            serve(app, created, &key_file, listen, *demo, &options).await
        }
        Command::Schema { workspace, command } => {
            commands::schema(&url, workspace.as_deref(), command).await
        }
        Command::Import(args) => commands::import(&url, args).await,
        Command::Export(args) => commands::export(&url, args).await,
        Command::Keys {
            command: KeysCommand::Generate,
        } => {
            println!("{}", rapport_store::Keyring::generate_key());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::CreateAdmin { workspace, name },
        } => commands::create_admin_key(&url, workspace.as_deref(), name).await,
        Command::Keys {
            command: KeysCommand::Reseal,
        } => {
            let (app, _) = open(&url).await?;
            let resealed = reseal_all(&app).await?;
            println!("{resealed} value(s) re-sealed under the first key");
            Ok(())
        }
        Command::Demo { scale } => {
            let (app, _) = open(&url).await?;
            crate::demo::load(&app, *scale).await
        }
    }
}

/// Opens the database for a command, saying which one when it cannot.
async fn open(url: &str) -> Result<(Arc<App>, bool), ServerError> {
    App::open(url).await.map_err(|e| match e {
        ServerError::Store(rapport_store::StoreError::Database(db)) => ServerError::Usage(format!(
            "cannot open the database at {}: {db}",
            without_password(url)
        )),
        other => other,
    })
}

fn without_password(url: &str) -> String {
    url::Url::parse(url)
        .map(|mut u| {
            let _ = u.set_password(None);
            u.to_string()
        })
        .unwrap_or_else(|_| url.to_string())
}

/// Where attachments' files go (an S3-compatible bucket at
/// `RAPPORT_FILES_URL=s3://bucket/prefix`, or else the local directory
/// `RAPPORT_FILES_DIR`, by default `files` in the data directory), how large
/// one may be (`RAPPORT_FILES_MAX_BYTES`) and which content types are
/// accepted (`RAPPORT_FILES_TYPES`, comma separated).
async fn files_setting(data_dir: &Path) -> Result<rapport_files::Files, ServerError> {
    let max = match std::env::var("RAPPORT_FILES_MAX_BYTES") {
        Ok(v) => v.trim().parse().map_err(|_| {
            ServerError::Usage(format!("RAPPORT_FILES_MAX_BYTES `{v}` is not a number"))
        })?,
        Err(_) => rapport_files::DEFAULT_MAX_BYTES,
    };
    let types = match std::env::var("RAPPORT_FILES_TYPES") {
        Ok(v) => v
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        Err(_) => rapport_files::DEFAULT_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
    };
    let files = match std::env::var("RAPPORT_FILES_URL") {
        Ok(location) => rapport_files::Files::s3(location.trim(), max, types).await,
        Err(_) => {
            let dir = std::env::var("RAPPORT_FILES_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| data_dir.join("files"));
            rapport_files::Files::local(&dir, max, types)
        }
    };
    files.map_err(|e| ServerError::Usage(e.to_string()))
}

fn http_options(cors_origins: &[String]) -> Result<crate::HttpOptions, ServerError> {
    let cors_origins = cors_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| {
            axum::http::HeaderValue::from_str(o.trim_end_matches('/'))
                .map_err(|_| ServerError::Usage(format!("--cors-origin `{o}` is not an origin")))
        })
        .collect::<Result<_, _>>()?;
    Ok(crate::HttpOptions { cors_origins })
}

async fn serve(
    app: Arc<App>,
    created: bool,
    key_file: &Path,
    listen: &str,
    demo: bool,
    options: &crate::HttpOptions,
) -> Result<(), ServerError> {
    ensure_admin_key(&app, key_file).await?;
    if demo && created {
        crate::demo::load(&app, 1).await?;
    }
    app.spawn_poller();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServerError::Usage(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "rapport serving http://{address}/ (GraphiQL at /graphql and /metadata)");
    axum::serve(
        listener,
        crate::http::router_with(app, options).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("stopped: every request in flight was answered");
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers send): stop accepting, finish
/// the requests in flight, then exit.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
}

/// Where the admin key of the database at `url` is kept: `admin-api-key`
/// in the data directory for the default SQLite file, and a file named
/// after any other database beside it, so starting against another
/// database never overwrites a key.
fn admin_key_file(cli: &Cli, url: &str) -> PathBuf {
    if cli.database_url.is_none() {
        return cli.data_dir.join("admin-api-key");
    }
    use sha2::Digest;
    // The database's name, and a digest of its address without the password.
    let address = url::Url::parse(url)
        .map(|mut u| {
            let _ = u.set_password(None);
            u.to_string()
        })
        .unwrap_or_else(|_| url.to_string());
    let name: String = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let digest: String = sha2::Sha256::digest(address.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    cli.data_dir.join(format!("admin-api-key-{name}-{digest}"))
}

/// `RAPPORT_ADMIN_KEY` if set; otherwise, the first time a database is
/// served (whichever command made it), a new admin key for its default
/// workspace, printed once and written to `key_file` (mode 0600), which
/// is never overwritten.
async fn ensure_admin_key(app: &Arc<App>, key_file: &Path) -> Result<(), ServerError> {
    if let Ok(secret) = std::env::var("RAPPORT_ADMIN_KEY") {
        if secret.len() < 16 {
            return Err(ServerError::Usage(
                "RAPPORT_ADMIN_KEY must be at least 16 characters".into(),
            ));
        }
        rapport_store::create_api_key(&app.db, &app.workspace.id, "admin", "admin", Some(secret))
            .await?;
        return Ok(());
    }
    // The first start's key is named `admin`; once issued (revoked or
    // not), it is never issued again.
    let issued = rapport_store::list_api_keys(&app.db, &app.workspace.id)
        .await?
        .iter()
        .any(|k| k.name == "admin");
    if issued {
        return Ok(());
    }
    let secret =
        rapport_store::create_api_key(&app.db, &app.workspace.id, "admin", "admin", None).await?;
    if let Some(dir) = key_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if key_file.exists() {
        println!(
            "Admin API key (shown once; {} already exists and is left as it is): {secret}",
            key_file.display()
        );
        return Ok(());
    }
    write_private(key_file, &secret)?;
    println!(
        "Admin API key (shown once, also in {}): {secret}",
        key_file.display()
    );
    Ok(())
}

fn write_private(path: &Path, secret: &str) -> Result<(), ServerError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    writeln!(f, "{secret}")?;
    Ok(())
}
