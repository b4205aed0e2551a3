//! The settings of `serve`: each one a flag, an environment variable
//! (`INTEGRATIONS_HOST_<FLAG>`) and a key of the `--config` TOML file (the flag's name with
//! `_`). Precedence is flag > environment > file > default; README lists every setting with its
//! default. One struct serves clap and the file, so a setting cannot exist in one and not the
//! other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::capabilities::OutboundLimits;
use crate::runtime::HostLimits;
use crate::server::ServeConfig;
use crate::services::event_delivery::DeliveryPolicy;
use crate::services::scheduled_sync::SyncPolicy;
use crate::services::webhook_gate::WebhookLimits;
use crate::telemetry::LogFormat;

#[derive(clap::Args, Deserialize, Default, Debug, Clone)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSettings {
    /// TOML file with any of the settings below.
    #[arg(long, env = "INTEGRATIONS_HOST_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Log format (the file's; the flag is `--log-format` before or after `serve`).
    #[arg(skip)]
    pub log_format: Option<LogFormat>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "INTEGRATIONS_HOST_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// sqlite://PATH or postgres://USER@HOST/DATABASE [default: sqlite://./data/integrations.db].
    #[arg(long, env = "INTEGRATIONS_HOST_DATABASE")]
    pub database: Option<String>,
    /// Connections to PostgreSQL [default: 16]; SQLite always has one writer and eight readers.
    #[arg(long, env = "INTEGRATIONS_HOST_DATABASE_POOL")]
    pub database_pool: Option<u32>,
    /// Folder of installed modules [default: ./modules].
    #[arg(long, env = "INTEGRATIONS_HOST_MODULES")]
    pub modules: Option<PathBuf>,
    /// How gateways and browsers reach this host [default: http://LISTEN].
    #[arg(long, env = "INTEGRATIONS_HOST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The admin API key; generated and printed once if neither set nor stored.
    #[arg(long, env = "INTEGRATIONS_HOST_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// The key that encrypts credentials at rest [default: master.key beside the database].
    #[arg(long, env = "INTEGRATIONS_HOST_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// MODULE.NAME=URL: override a module endpoint (repeatable).
    #[arg(long = "endpoint", env = "INTEGRATIONS_HOST_ENDPOINT", value_delimiter = ',')]
    #[serde(rename = "endpoint")]
    pub endpoints: Vec<String>,

    /// Provider sandboxes running at once [default: 64].
    #[arg(long, env = "INTEGRATIONS_HOST_MAX_SANDBOXES")]
    pub max_sandboxes: Option<u32>,
    /// Most sandboxes one module may hold at once [default: half of --max-sandboxes].
    #[arg(long, env = "INTEGRATIONS_HOST_MODULE_SHARE")]
    pub module_share: Option<u32>,
    /// Most sandboxes one company may hold at once [default: a quarter of --max-sandboxes].
    #[arg(long, env = "INTEGRATIONS_HOST_COMPANY_SHARE")]
    pub company_share: Option<u32>,
    /// Milliseconds a call waits for a sandbox before it is refused [default: 5000].
    #[arg(long, env = "INTEGRATIONS_HOST_SANDBOX_WAIT_MS")]
    pub sandbox_wait_ms: Option<u64>,
    /// Most memory a provider sandbox may have, whatever its manifest asks [default: 128].
    #[arg(long, env = "INTEGRATIONS_HOST_MAX_MEMORY_MB")]
    pub max_memory_mb: Option<u64>,
    /// Memory of a sandbox whose manifest names none [default: 32].
    #[arg(long, env = "INTEGRATIONS_HOST_DEFAULT_MEMORY_MB")]
    pub default_memory_mb: Option<u64>,
    /// Longest a provider call may take, whatever its manifest asks [default: 30000].
    #[arg(long, env = "INTEGRATIONS_HOST_MAX_CALL_TIMEOUT_MS")]
    pub max_call_timeout_ms: Option<u64>,
    /// Deadline of a call whose manifest names none [default: 10000].
    #[arg(long, env = "INTEGRATIONS_HOST_DEFAULT_CALL_TIMEOUT_MS")]
    pub default_call_timeout_ms: Option<u64>,
    /// Processor cores one company's (or module's) long calls may use [default: half the machine's, at least 1].
    #[arg(long, env = "INTEGRATIONS_HOST_CPU_CORES_PER_COMPANY")]
    pub cpu_cores_per_company: Option<u32>,

    /// Most bytes of a gateway's response a provider gets [default: 1048576].
    #[arg(long, env = "INTEGRATIONS_HOST_OUTBOUND_MAX_RESPONSE_BYTES")]
    pub outbound_max_response_bytes: Option<usize>,
    /// Most bytes of a request body a provider sends [default: 1048576].
    #[arg(long, env = "INTEGRATIONS_HOST_OUTBOUND_MAX_REQUEST_BYTES")]
    pub outbound_max_request_bytes: Option<usize>,
    /// Longest one outbound request may take [default: 15000].
    #[arg(long, env = "INTEGRATIONS_HOST_OUTBOUND_TIMEOUT_MS")]
    pub outbound_timeout_ms: Option<u64>,
    /// Outbound requests one provider call may attempt [default: 8].
    #[arg(long, env = "INTEGRATIONS_HOST_OUTBOUND_REQUESTS_PER_CALL")]
    pub outbound_requests_per_call: Option<u32>,

    /// Webhook calls in progress per integration on its public URL [default: 64].
    #[arg(long, env = "INTEGRATIONS_HOST_WEBHOOK_CONCURRENCY")]
    pub webhook_concurrency: Option<u32>,
    /// Of those, calls whose signature is not yet verified [default: 32].
    #[arg(long, env = "INTEGRATIONS_HOST_WEBHOOK_UNVERIFIED")]
    pub webhook_unverified: Option<u32>,

    /// Seconds before an event delivery is first retried; each retry waits twice as long [default: 30].
    #[arg(long, env = "INTEGRATIONS_HOST_EVENT_FIRST_RETRY_S")]
    pub event_first_retry_s: Option<u64>,
    /// Longest wait between event delivery retries, in seconds [default: 3600].
    #[arg(long, env = "INTEGRATIONS_HOST_EVENT_MAX_RETRY_S")]
    pub event_max_retry_s: Option<u64>,
    /// Seconds after which an undelivered event is marked failed [default: 90000].
    #[arg(long, env = "INTEGRATIONS_HOST_EVENT_GIVE_UP_AFTER_S")]
    pub event_give_up_after_s: Option<u64>,
    /// Seconds one event delivery attempt may take [default: 10].
    #[arg(long, env = "INTEGRATIONS_HOST_EVENT_TIMEOUT_S")]
    pub event_timeout_s: Option<u64>,

    /// Seconds between looks for integrations due a scheduled sync [default: 30].
    #[arg(long, env = "INTEGRATIONS_HOST_SYNC_TICK_S")]
    pub sync_tick_s: Option<u64>,
    /// Seconds a new transaction is left to its webhook before sync asks about it [default: 600].
    #[arg(long, env = "INTEGRATIONS_HOST_SYNC_GRACE_S")]
    pub sync_grace_s: Option<u64>,
    /// The shortest sync interval any manifest gets, in seconds [default: 60].
    #[arg(long, env = "INTEGRATIONS_HOST_SYNC_MIN_INTERVAL_S")]
    pub sync_min_interval_s: Option<u64>,

    /// Seconds SIGTERM/SIGINT waits for requests in flight and background work [default: 30].
    #[arg(long, env = "INTEGRATIONS_HOST_SHUTDOWN_GRACE_S")]
    pub shutdown_grace_s: Option<u64>,
}

/// `Some(a)` wins over `b`.
macro_rules! prefer {
    ($a:ident, $b:ident; $($field:ident),* $(,)?) => {
        ServeSettings { $($field: $a.$field.or($b.$field),)* ..$a }
    };
}

impl ServeSettings {
    /// These settings (flags and environment, as clap read them) over the `--config` file's.
    pub fn with_file(self) -> anyhow::Result<Self> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => Self::default(),
        };
        Ok(self.over(file))
    }

    /// Every setting given here, else `file`'s.
    pub fn over(mut self, mut file: Self) -> Self {
        let endpoints =
            std::mem::take(if self.endpoints.is_empty() { &mut file.endpoints } else { &mut self.endpoints });
        let merged = prefer!(self, file;
            log_format, listen, database, database_pool, modules, public_url, admin_key, master_key_file,
            max_sandboxes, module_share, company_share, sandbox_wait_ms, max_memory_mb, default_memory_mb,
            max_call_timeout_ms, default_call_timeout_ms, cpu_cores_per_company,
            outbound_max_response_bytes, outbound_max_request_bytes, outbound_timeout_ms, outbound_requests_per_call,
            webhook_concurrency, webhook_unverified,
            event_first_retry_s, event_max_retry_s, event_give_up_after_s, event_timeout_s,
            sync_tick_s, sync_grace_s, sync_min_interval_s, shutdown_grace_s,
        );
        Self { endpoints, ..merged }
    }

    /// The server's configuration, defaults filled in; a value out of range is refused by
    /// the setting's name.
    pub fn into_config(self) -> anyhow::Result<ServeConfig> {
        let d = ServeConfig::default();
        let limits = HostLimits {
            max_instances: at_least_one("max_sandboxes", self.max_sandboxes, d.limits.max_instances)?,
            module_share: self.module_share,
            company_share: self.company_share,
            slot_wait: self.sandbox_wait_ms.map(Duration::from_millis).unwrap_or(d.limits.slot_wait),
            max_memory_mb: memory("max_memory_mb", self.max_memory_mb, d.limits.max_memory_mb)?,
            default_memory_mb: memory("default_memory_mb", self.default_memory_mb, d.limits.default_memory_mb)?,
            max_call_timeout: millis("max_call_timeout_ms", self.max_call_timeout_ms, d.limits.max_call_timeout)?,
            default_call_timeout: millis(
                "default_call_timeout_ms",
                self.default_call_timeout_ms,
                d.limits.default_call_timeout,
            )?,
            cpu_cores_per_company: match self.cpu_cores_per_company {
                Some(0) => anyhow::bail!("cpu_cores_per_company: must be at least 1"),
                other => other,
            },
            compile_cache: None,
        };
        let o = OutboundLimits::default();
        let outbound = OutboundLimits {
            max_response_bytes: at_least_one(
                "outbound_max_response_bytes",
                self.outbound_max_response_bytes,
                o.max_response_bytes,
            )?,
            max_request_bytes: at_least_one(
                "outbound_max_request_bytes",
                self.outbound_max_request_bytes,
                o.max_request_bytes,
            )?,
            request_timeout: millis("outbound_timeout_ms", self.outbound_timeout_ms, o.request_timeout)?,
            requests_per_call: at_least_one(
                "outbound_requests_per_call",
                self.outbound_requests_per_call,
                o.requests_per_call,
            )?,
        };
        let delivery = DeliveryPolicy {
            first_retry: seconds("event_first_retry_s", self.event_first_retry_s, d.delivery.first_retry)?,
            max_retry: seconds("event_max_retry_s", self.event_max_retry_s, d.delivery.max_retry)?,
            give_up_after: seconds("event_give_up_after_s", self.event_give_up_after_s, d.delivery.give_up_after)?,
            timeout: seconds("event_timeout_s", self.event_timeout_s, d.delivery.timeout)?,
        };
        let sync = SyncPolicy {
            tick: seconds("sync_tick_s", self.sync_tick_s, d.sync.tick)?,
            grace: self.sync_grace_s.map(Duration::from_secs).unwrap_or(d.sync.grace),
            min_interval: seconds("sync_min_interval_s", self.sync_min_interval_s, d.sync.min_interval)?,
        };
        let webhooks = WebhookLimits {
            concurrent: at_least_one("webhook_concurrency", self.webhook_concurrency, d.webhooks.concurrent)?,
            unverified: at_least_one("webhook_unverified", self.webhook_unverified, d.webhooks.unverified)?,
        };
        Ok(ServeConfig {
            listen: self.listen.unwrap_or(d.listen),
            database: self.database.unwrap_or(d.database),
            database_pool: match self.database_pool {
                Some(0) => anyhow::bail!("database_pool: must be at least 1"),
                other => other,
            },
            modules_dir: self.modules.unwrap_or(d.modules_dir),
            public_url: self.public_url,
            admin_key: self.admin_key,
            master_key_file: self.master_key_file,
            endpoints: self.endpoints,
            limits,
            delivery,
            sync,
            webhooks,
            outbound,
            shutdown_grace: self.shutdown_grace_s.map(Duration::from_secs).unwrap_or(d.shutdown_grace),
            ..d
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<ServeSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("--config {}", path.display()))
}

fn at_least_one<T: PartialOrd + From<u8>>(name: &str, value: Option<T>, default: T) -> anyhow::Result<T> {
    match value {
        Some(value) if value < T::from(1) => anyhow::bail!("{name}: must be at least 1"),
        Some(value) => Ok(value),
        None => Ok(default),
    }
}

/// A guest memory size: bounded lifting relies on a memory under 2 GiB.
fn memory(name: &str, value: Option<u64>, default: u64) -> anyhow::Result<u64> {
    match value {
        Some(mb @ 1..=2047) => Ok(mb),
        Some(_) => anyhow::bail!("{name}: must be from 1 to 2047 (MiB)"),
        None => Ok(default),
    }
}

fn millis(name: &str, value: Option<u64>, default: Duration) -> anyhow::Result<Duration> {
    duration(name, value, default, Duration::from_millis)
}

fn seconds(name: &str, value: Option<u64>, default: Duration) -> anyhow::Result<Duration> {
    duration(name, value, default, Duration::from_secs)
}

/// A positive number of `unit`s, else the default.
fn duration(name: &str, value: Option<u64>, default: Duration, unit: fn(u64) -> Duration) -> anyhow::Result<Duration> {
    Ok(value.map(|n| at_least_one(name, Some(n), 0)).transpose()?.map_or(default, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        settings: ServeSettings,
    }

    fn flags(args: &[&str]) -> ServeSettings {
        use clap::Parser as _;
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).unwrap().settings
    }

    fn file(toml: &str) -> ServeSettings {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let merged = flags(&["--max-memory-mb", "64", "--event-first-retry-s", "5"])
            .over(file("max_memory_mb = 96\ndefault_call_timeout_ms = 2500\noutbound_requests_per_call = 3\nendpoint = [\"m.api=http://127.0.0.1:1\"]"));
        let config = merged.into_config().unwrap();
        assert_eq!(config.limits.max_memory_mb, 64, "the flag");
        assert_eq!(config.limits.default_call_timeout, Duration::from_millis(2500), "the file");
        assert_eq!(config.outbound.requests_per_call, 3, "the file");
        assert_eq!(config.endpoints, ["m.api=http://127.0.0.1:1"], "the file");
        assert_eq!(config.delivery.first_retry, Duration::from_secs(5), "the flag");
        let defaults = ServeConfig::default();
        assert_eq!(config.delivery.max_retry, defaults.delivery.max_retry, "the default");
        assert_eq!(config.sync.min_interval, Duration::from_secs(60));
        assert_eq!(config.outbound.max_response_bytes, 1 << 20);
    }

    #[test]
    fn values_out_of_range_are_refused_by_name() {
        for (toml, says) in [
            ("max_memory_mb = 4096", "max_memory_mb: must be from 1 to 2047 (MiB)"),
            ("max_call_timeout_ms = 0", "max_call_timeout_ms: must be at least 1"),
            ("outbound_requests_per_call = 0", "outbound_requests_per_call: must be at least 1"),
            ("event_timeout_s = 0", "event_timeout_s: must be at least 1"),
            ("cpu_cores_per_company = 0", "cpu_cores_per_company: must be at least 1"),
        ] {
            let refused = file(toml).into_config().unwrap_err().to_string();
            assert_eq!(refused, says);
        }
        let unknown = toml::from_str::<ServeSettings>("max_sandboxs = 3").unwrap_err().to_string();
        assert!(unknown.contains("unknown field `max_sandboxs`"), "{unknown}");
    }
}
