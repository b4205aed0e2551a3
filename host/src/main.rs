//! The `integrations-host` command: `serve` and `check` (API.md §1). Every `serve` flag can
//! also come from the environment (`INTEGRATIONS_HOST_<FLAG>`) and from `--config FILE`
//! (TOML, the flags' names with `_`); precedence is flag > env > file > default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use integrations_host::check::check_module;
use integrations_host::runtime::HostLimits;
use integrations_host::server::{RunningHost, ServeConfig};
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
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    Human,
    Json,
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
    /// MODULE.NAME=URL: override a module endpoint (repeatable).
    #[arg(long = "endpoint", env = "INTEGRATIONS_HOST_ENDPOINT", value_delimiter = ',')]
    endpoints: Vec<String>,
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
    endpoint: Option<Vec<String>>,
    log_format: Option<LogFormat>,
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
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
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
        endpoints: if args.endpoints.is_empty() { file.endpoint.unwrap_or_default() } else { args.endpoints },
        limits: HostLimits::default(),
        delivery: Default::default(),
        sync: Default::default(),
        pinned_names: Default::default(),
    };
    let host = RunningHost::start(config).await?;
    if let Some(key) = &host.generated_admin_key {
        println!("Generated admin key (shown once, stored hashed): {key}");
    }
    host.serve(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
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
