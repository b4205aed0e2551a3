//! The `integrations-host` command: `serve`, `check` and `rotate-master-key` (API.md §1). Every
//! `serve` setting is a flag, an environment variable and a `--config` key
//! (`integrations_host::settings`); precedence is flag > env > file > default.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use integrations_host::check::check_module;
use integrations_host::secrets::rotate_master_key;
use integrations_host::server::RunningHost;
use integrations_host::settings::ServeSettings;
use integrations_host::store::Db;
use integrations_host::telemetry::{init_logging as install_logging, LogFormat};

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
    Serve(Box<ServeSettings>),
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

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into());
    use std::io::IsTerminal as _;
    install_logging(format, filter, std::io::stderr, std::io::stderr().is_terminal());
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(settings) => serve(*settings, cli.log_format).await,
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

async fn serve(settings: ServeSettings, log_format: Option<LogFormat>) -> anyhow::Result<ExitCode> {
    let settings = settings.with_file()?;
    init_logging(log_format.or(settings.log_format).unwrap_or(LogFormat::Human));
    let config = settings.into_config()?;
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
