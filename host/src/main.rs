//! The `integrations-host` command: `serve`, `check` and `rotate-master-key` (API.md §1). Every `serve` flag can
//! also come from the environment (`INTEGRATIONS_HOST_<FLAG>`) and from `--config FILE`
//! (TOML, the flags' names with `_`); precedence is flag > env > file > default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use integrations_host::check::check_module;
use integrations_host::runtime::HostLimits;
use integrations_host::secrets::rotate_master_key;
use integrations_host::server::{RunningHost, ServeConfig};
use integrations_host::services::webhook_gate::WebhookLimits;
use integrations_host::store::Db;
use integrations_host::telemetry::{init_logging as install_logging, LogFormat};
use serde::Deserialize;

#[derive(Parser)]
#[command(
    name = "integrations-host",
    version,
    about = "Runs sandboxed payment and messaging provider modules for an ERP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format.
    #[arg(long, global = true, env = "INTEGRATIONS_HOST_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Validate a module (manifest + component) without a server; exits non-zero with the reasons.
    Check { manifest: PathBuf, component: PathBuf },
    /// Re-wrap every data key under a new master key, in one transaction, while hosts serve.
    RotateMasterKey(RotateArgs),
}

#[derive(clap::Args)]
struct RotateArgs {
    /// sqlite://PATH of the database.
    #[arg(long)]
    database: String,
    /// The master key the database is under now.
    #[arg(long)]
    old_key_file: PathBuf,
    /// The master key to move to; created (mode 0600) when the file does not exist.
    #[arg(long)]
    new_key_file: PathBuf,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "INTEGRATIONS_HOST_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "INTEGRATIONS_HOST_LISTEN")]
    listen: Option<SocketAddr>,
    /// sqlite://PATH [default: sqlite://./data/integrations.db].
    #[arg(long, env = "INTEGRATIONS_HOST_DATABASE")]
    database: Option<String>,
    /// Folder of installed modules [default: ./modules].
    #[arg(long, env = "INTEGRATIONS_HOST_MODULES")]
    modules: Option<PathBuf>,
    /// How gateways and browsers reach this host [default: http://LISTEN].
    #[arg(long, env = "INTEGRATIONS_HOST_PUBLIC_URL")]
    public_url: Option<String>,
    /// The admin API key; generated and printed once if neither set nor stored.
    #[arg(long, env = "INTEGRATIONS_HOST_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// The key that encrypts credentials at rest [default: master.key beside the database].
    #[arg(long, env = "INTEGRATIONS_HOST_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// MODULE.NAME=URL: override a module endpoint (repeatable).
    #[arg(long = "endpoint", env = "INTEGRATIONS_HOST_ENDPOINT", value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Provider sandboxes running at once [default: 64].
    #[arg(long, env = "INTEGRATIONS_HOST_MAX_SANDBOXES")]
    max_sandboxes: Option<u32>,
    /// Most sandboxes one module may hold at once [default: half of --max-sandboxes].
    #[arg(long, env = "INTEGRATIONS_HOST_MODULE_SHARE")]
    module_share: Option<u32>,
    /// Most sandboxes one company may hold at once [default: a quarter of --max-sandboxes].
    #[arg(long, env = "INTEGRATIONS_HOST_COMPANY_SHARE")]
    company_share: Option<u32>,
    /// Milliseconds a call waits for a sandbox before it is refused [default: 5000].
    #[arg(long, env = "INTEGRATIONS_HOST_SANDBOX_WAIT_MS")]
    sandbox_wait_ms: Option<u64>,
    /// Webhook calls in progress per integration on its public URL [default: 64].
    #[arg(long, env = "INTEGRATIONS_HOST_WEBHOOK_CONCURRENCY")]
    webhook_concurrency: Option<u32>,
    /// Of those, calls whose signature is not yet verified [default: 32].
    #[arg(long, env = "INTEGRATIONS_HOST_WEBHOOK_UNVERIFIED")]
    webhook_unverified: Option<u32>,
    /// Seconds SIGTERM/SIGINT waits for requests in flight and background work [default: 30].
    #[arg(long, env = "INTEGRATIONS_HOST_SHUTDOWN_GRACE_S")]
    shutdown_grace_s: Option<u64>,
}

/// `--config` file contents.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    database: Option<String>,
    modules: Option<PathBuf>,
    public_url: Option<String>,
    admin_key: Option<String>,
    master_key_file: Option<PathBuf>,
    endpoint: Option<Vec<String>>,
    log_format: Option<LogFormat>,
    max_sandboxes: Option<u32>,
    module_share: Option<u32>,
    company_share: Option<u32>,
    sandbox_wait_ms: Option<u64>,
    webhook_concurrency: Option<u32>,
    webhook_unverified: Option<u32>,
    shutdown_grace_s: Option<u64>,
}

fn read_config(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
    let Some(path) = path else {
        return Ok(ConfigFile::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("--config {}", path.display()))
}

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into());
    install_logging(format, filter, std::io::stderr);
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args, cli.log_format).await,
        Command::Check { manifest, component } => {
            init_logging(cli.log_format.unwrap_or(LogFormat::Human));
            check(&manifest, &component)
        }
        Command::RotateMasterKey(args) => {
            init_logging(cli.log_format.unwrap_or(LogFormat::Human));
            rotate(args).await
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, log_format: Option<LogFormat>) -> anyhow::Result<ExitCode> {
    let file = read_config(args.config.as_deref())?;
    init_logging(log_format.or(file.log_format).unwrap_or(LogFormat::Human));
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
        database: args.database.or(file.database).unwrap_or(defaults.database),
        modules_dir: args.modules.or(file.modules).unwrap_or(defaults.modules_dir),
        public_url: args.public_url.or(file.public_url),
        admin_key: args.admin_key.or(file.admin_key),
        master_key_file: args.master_key_file.or(file.master_key_file),
        endpoints: if args.endpoints.is_empty() { file.endpoint.unwrap_or_default() } else { args.endpoints },
        limits: HostLimits {
            max_instances: args.max_sandboxes.or(file.max_sandboxes).unwrap_or(defaults.limits.max_instances).max(1),
            module_share: args.module_share.or(file.module_share),
            company_share: args.company_share.or(file.company_share),
            slot_wait: args
                .sandbox_wait_ms
                .or(file.sandbox_wait_ms)
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.limits.slot_wait),
            ..defaults.limits.clone()
        },
        delivery: Default::default(),
        sync: Default::default(),
        webhooks: WebhookLimits {
            concurrent: args
                .webhook_concurrency
                .or(file.webhook_concurrency)
                .unwrap_or(defaults.webhooks.concurrent)
                .max(1),
            unverified: args
                .webhook_unverified
                .or(file.webhook_unverified)
                .unwrap_or(defaults.webhooks.unverified)
                .max(1),
        },
        pinned_names: Default::default(),
        shutdown_grace: args
            .shutdown_grace_s
            .or(file.shutdown_grace_s)
            .map(Duration::from_secs)
            .unwrap_or(defaults.shutdown_grace),
        ..defaults
    };
    // Installed before anything is served, so a signal is never met by the default action.
    let stop = stop_signal()?;
    let host = RunningHost::start(config).await?;
    if let Some(key) = &host.generated_admin_key {
        println!("Generated admin key (shown once, stored hashed): {key}");
    }
    let app = host.app.clone();
    host.serve(stop).await?;
    // Both pools closed: SQLite checkpoints the WAL into the database file.
    if tokio::time::timeout(Duration::from_secs(5), app.db.close()).await.is_err() {
        tracing::warn!("the database did not close within 5 s");
    }
    Ok(ExitCode::SUCCESS)
}

async fn rotate(args: RotateArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = args.database.strip_prefix("sqlite://").and_then(|p| p.split('?').next()) {
        anyhow::ensure!(Path::new(file).exists(), "--database: there is no database at {file}");
    }
    let db = Db::connect(&args.database).await?;
    let report = rotate_master_key(&db, &args.old_key_file, &args.new_key_file).await?;
    if report.created_new_key_file {
        println!(
            "Created the new master key file {} (mode 0600): back it up now, apart from the database.",
            args.new_key_file.display()
        );
    }
    println!(
        "Re-wrapped {} data keys from master key {} to {}. Restart every host with --master-key-file {}; \
         until then they keep serving, but cannot add the first credential of a new company.",
        report.rewrapped,
        report.old,
        report.new,
        args.new_key_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C).
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "stop requested");
    })
}

fn check(manifest: &Path, component: &Path) -> anyhow::Result<ExitCode> {
    match check_module(manifest, component) {
        Ok(summary) => {
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(reasons) => {
            eprintln!("refused: {reasons}");
            Ok(ExitCode::FAILURE)
        }
    }
}
