//! Starting the host: open the database (migrations run), open the keyring (the master key
//! checked, plain values sealed), settle the admin key, load the modules folder, bind, serve
//! until shutdown.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::router;
use crate::capabilities::{HostServices, OutboundHttp, OutboundLimits, ProviderCache, StaticNames};
use crate::metrics::HostMetrics;
use crate::registry::{watch_modules, EndpointOverrides, ModuleRegistry, ModulesWatcher};
use crate::runtime::{HostLimits, ProviderRuntime};
use crate::secrets::{default_key_file, Keyring};
use crate::services::event_delivery::DeliveryPolicy;
use crate::services::refund_reconciliation::RefundPolicy;
use crate::services::scheduled_sync::SyncPolicy;
use crate::services::webhook_gate::{WebhookGate, WebhookLimits};
use crate::services::{random_token, App};
use crate::store::{settings, Backend, Db};

/// Everything `serve` needs, after flags, environment and config file are merged.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database: String,
    /// Connections to PostgreSQL (None: `store::DEFAULT_POSTGRES_POOL`).
    pub database_pool: Option<u32>,
    pub modules_dir: PathBuf,
    /// None: `http://<bound address>`.
    pub public_url: Option<String>,
    pub admin_key: Option<String>,
    /// The master key file; None: `master.key` beside the SQLite database file.
    pub master_key_file: Option<PathBuf>,
    pub endpoints: Vec<String>,
    pub limits: HostLimits,
    pub delivery: DeliveryPolicy,
    pub sync: SyncPolicy,
    /// Bounds on calls in progress per integration on the public webhook URLs.
    pub webhooks: WebhookLimits,
    /// When refunds in doubt are repeated.
    pub refunds: RefundPolicy,
    /// An Idempotency-Key claim without an answer this old is taken over (every route).
    pub idempotency_takeover: std::time::Duration,
    /// Names the outbound resolver answers itself before asking the system, for tests (a
    /// name pointed at 127.0.0.1 proves the address filter) and operators pinning names. Not
    /// a CLI flag, and no way around the address policy: answers are filtered like any other.
    pub pinned_names: StaticNames,
    /// After SIGTERM/SIGINT (or the shutdown future), how long requests in flight and the
    /// background workers get to finish before they are cut.
    pub shutdown_grace: Duration,
    /// Caps on providers' outbound requests.
    pub outbound: OutboundLimits,
}

/// How long a stop waits for requests in flight by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            database: "sqlite://./data/integrations.db".into(),
            database_pool: None,
            modules_dir: PathBuf::from("./modules"),
            public_url: None,
            admin_key: None,
            master_key_file: None,
            endpoints: Vec::new(),
            limits: HostLimits::default(),
            delivery: DeliveryPolicy::default(),
            sync: SyncPolicy::default(),
            webhooks: WebhookLimits::default(),
            refunds: RefundPolicy::default(),
            idempotency_takeover: crate::store::idempotency::DEFAULT_TAKEOVER,
            pinned_names: StaticNames::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            outbound: OutboundLimits::default(),
        }
    }
}

/// A host listening on a socket.
pub struct RunningHost {
    pub app: Arc<App>,
    pub address: SocketAddr,
    /// The admin key, when this start generated it (printed once by the CLI).
    pub generated_admin_key: Option<String>,
    listener: TcpListener,
    /// Watches the modules folder while the host runs.
    watcher: ModulesWatcher,
    /// Event delivery, scheduled sync and refund reconciliation, stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
    shutdown_grace: Duration,
}

const ADMIN_KEY_SETTING: &str = "admin_key_sha256";

impl RunningHost {
    /// Opens everything and binds; call [`RunningHost::serve`] to answer requests.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        let overrides = EndpointOverrides::parse(&config.endpoints).map_err(anyhow::Error::msg)?;
        let listener =
            TcpListener::bind(config.listen).await.map_err(|e| anyhow::anyhow!("--listen {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        let public_url = public_url.trim_end_matches('/').to_string();
        match url::Url::parse(&public_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => anyhow::bail!("--public-url `{public_url}` is not an http(s) URL"),
        }

        let db = Db::connect_with(&config.database, config.database_pool).await?;
        if db.backend() == Backend::Postgres && config.master_key_file.is_none() {
            anyhow::bail!(
                "--master-key-file: required with a PostgreSQL database; every host on it must use the same key file"
            );
        }
        let key_file = config.master_key_file.clone().or_else(|| default_key_file(&config.database));
        let keys = Arc::new(Keyring::open(&db, key_file.as_deref()).await?);
        let (admin_key_hash, generated_admin_key) = settle_admin_key(&db, config.admin_key.as_deref()).await?;
        let mut limits = config.limits.clone();
        if limits.compile_cache.is_none() {
            limits.compile_cache = default_compile_cache(&config.database, key_file.as_deref());
        }
        let runtime = Arc::new(ProviderRuntime::new(limits)?);
        let services = Arc::new(HostServices {
            http: OutboundHttp::new(config.pinned_names.clone(), config.outbound)?,
            db: db.clone(),
            cache: ProviderCache::default(),
            meters: runtime.meters.clone(),
        });
        let metrics = HostMetrics::new(&runtime.meters, db.meters());
        let app = Arc::new(App {
            db,
            keys,
            runtime,
            registry: ModuleRegistry::default(),
            services,
            overrides,
            public_url,
            admin_key_hash,
            install_lock: tokio::sync::Mutex::new(()),
            events_ready: tokio::sync::Notify::new(),
            delivery: config.delivery.clone(),
            sync: config.sync.clone(),
            syncs_running: Default::default(),
            webhook_gate: WebhookGate::new(config.webhooks),
            stopping: tokio::sync::watch::channel(false).0,
            refunds: config.refunds.clone(),
            refund_attempts: Default::default(),
            modules_of: Default::default(),
            integration_cache: Default::default(),
            idempotency_takeover: config.idempotency_takeover,
            metrics,
        });
        if app.db.backend() == Backend::Sqlite {
            // One host per SQLite file: leases and claims a killed process left protect nothing.
            let mut tx = app.db.tx().await?;
            crate::store::events::clear_leases(&mut *tx).await?;
            crate::store::integrations::clear_sync_claims(&mut *tx).await?;
            tx.commit().await?;
        }
        let watcher = load_modules(&app, &config.modules_dir).await?;
        let delivery = app.spawn_event_delivery();
        let syncing = app.spawn_scheduled_sync();
        // After the modules are loaded, so refunds left in doubt by an earlier run find their provider.
        let reconciling = app.spawn_refund_reconciliation();
        let mut background = vec![delivery, syncing, reconciling];
        // Other hosts may share the database: follow the modules they install.
        if app.db.backend() == Backend::Postgres {
            background.push(app.spawn_module_follower());
            background.push(app.spawn_integration_cache_follower());
        }
        Ok(Self {
            app,
            address,
            generated_admin_key,
            listener,
            watcher,
            background,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// Serves until `shutdown` resolves, then stops: no new connection is accepted, requests
    /// in flight finish and the background workers reach a safe point (the delivery or the
    /// transaction sync they are at), all within the shutdown grace; whatever is still
    /// running then is cut (a cut database transaction rolls back).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, public_url = %self.app.public_url, "serving");
        let Self { app, listener, watcher, background, shutdown_grace, .. } = self;
        let stop = app.clone();
        let signalled = Arc::new(std::sync::OnceLock::new());
        let signalled_at = signalled.clone();
        let signal = async move {
            shutdown.await;
            signalled_at.get_or_init(tokio::time::Instant::now);
            tracing::info!(
                grace_s = shutdown_grace.as_secs_f64(),
                "stopping: no new connections, finishing requests in flight"
            );
            stop.request_stop();
        };
        let server = axum::serve(listener, router(app.clone())).with_graceful_shutdown(signal).into_future();
        let cut_after_grace = async {
            app.stop_signal().await;
            tokio::time::sleep(shutdown_grace).await;
        };
        let served = tokio::select! {
            served = server => served,
            () = cut_after_grace => {
                tracing::warn!(grace_s = shutdown_grace.as_secs_f64(), "requests still in flight after the shutdown grace were cut");
                Ok(())
            }
        };
        // However serving ended, the workers stop now, within the same grace.
        app.request_stop();
        drop(watcher);
        let deadline = *signalled.get_or_init(tokio::time::Instant::now) + shutdown_grace;
        for worker in background {
            let abort = worker.abort_handle();
            if tokio::time::timeout_at(deadline, worker).await.is_err() {
                tracing::warn!("a background worker did not stop within the shutdown grace; cut");
                abort.abort();
            }
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Uses the configured admin key (storing its hash), or the stored one, or generates one.
async fn settle_admin_key(db: &Db, configured: Option<&str>) -> anyhow::Result<(String, Option<String>)> {
    if let Some(key) = configured {
        let hash = crate::services::api_keys::key_hash(key);
        let mut tx = db.tx().await?;
        settings::set(&mut *tx, ADMIN_KEY_SETTING, &hash).await?;
        tx.commit().await?;
        return Ok((hash, None));
    }
    if let Some(hash) = settings::get(db.read(), ADMIN_KEY_SETTING).await? {
        return Ok((hash, None));
    }
    let key = format!("ihk_admin_{}", random_token(32));
    let hash = crate::services::api_keys::key_hash(&key);
    // Two hosts starting at once on one new database: one key is stored, and the host whose
    // key lost prints none (it uses the stored one).
    let mut tx = db.tx().await?;
    let set = settings::set_if_absent(&mut *tx, ADMIN_KEY_SETTING, &hash).await?;
    tx.commit().await?;
    if set {
        return Ok((hash, Some(key)));
    }
    let stored = settings::get(db.read(), ADMIN_KEY_SETTING).await?;
    Ok((stored.ok_or_else(|| anyhow::anyhow!("the stored admin key disappeared"))?, None))
}

/// Brings back the modules installed before (from the database), then installs what the
/// modules folder holds that is new, then watches the folder for changes.
async fn load_modules(app: &Arc<App>, dir: &Path) -> anyhow::Result<ModulesWatcher> {
    app.restore_modules().await?;
    let (watcher, mut changed) = watch_modules(dir)?;
    let mut folders: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    folders.sort();
    for folder in folders {
        app.sync_module_folder(&folder).await;
    }
    if app.registry.all().is_empty() {
        tracing::warn!(dir = %dir.display(), "no modules loaded");
    }
    let watching = app.clone();
    tokio::spawn(async move {
        while let Some(folder) = changed.recv().await {
            watching.sync_module_folder(&folder).await;
        }
    });
    Ok(watcher)
}

/// Beside a SQLite database file: `<its folder>/compiled`.
/// Compiled components are kept beside the SQLite file, or, on PostgreSQL, beside the master
/// key file (the host's own folder; the database holds only the component bytes).
fn default_compile_cache(database: &str, key_file: Option<&Path>) -> Option<PathBuf> {
    let Some(path) = database.strip_prefix("sqlite://") else {
        return key_file.map(|key| key.parent().unwrap_or(Path::new(".")).join("compiled"));
    };
    let file = path.split('?').next()?;
    if file == ":memory:" {
        return None;
    }
    Some(Path::new(file).parent().unwrap_or(Path::new(".")).join("compiled"))
}
