//! Starting the host: open the database (migrations run), settle the admin key, load the
//! modules folder, bind, serve until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::router;
use crate::capabilities::{HostServices, OutboundHttp, ProviderCache};
use crate::registry::{load_modules_dir, EndpointOverrides, ModuleRegistry};
use crate::runtime::{HostLimits, ProviderRuntime};
use crate::services::{random_token, App};
use crate::store::{modules, settings, Db};

/// Everything `serve` needs, after flags, environment and config file are merged.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database: String,
    pub modules_dir: PathBuf,
    /// None: `http://<bound address>`.
    pub public_url: Option<String>,
    pub admin_key: Option<String>,
    pub endpoints: Vec<String>,
    pub limits: HostLimits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            database: "sqlite://./data/integrations.db".into(),
            modules_dir: PathBuf::from("./modules"),
            public_url: None,
            admin_key: None,
            endpoints: Vec::new(),
            limits: HostLimits::default(),
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
}

const ADMIN_KEY_SETTING: &str = "admin_key_sha256";

impl RunningHost {
    /// Opens everything and binds; call [`RunningHost::serve`] to answer requests.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        let overrides = EndpointOverrides::parse(&config.endpoints).map_err(anyhow::Error::msg)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("--listen {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        let public_url = public_url.trim_end_matches('/').to_string();
        match url::Url::parse(&public_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => anyhow::bail!("--public-url `{public_url}` is not an http(s) URL"),
        }

        let db = Db::connect(&config.database).await?;
        let (admin_key_hash, generated_admin_key) = settle_admin_key(&db, config.admin_key.as_deref()).await?;
        let runtime = ProviderRuntime::new(config.limits.clone())?;
        let services = Arc::new(HostServices {
            http: OutboundHttp::new()?,
            db: db.clone(),
            cache: ProviderCache::default(),
        });
        let app = Arc::new(App {
            db,
            runtime,
            registry: ModuleRegistry::default(),
            services,
            overrides,
            public_url,
            admin_key_hash,
        });
        load_installed_modules(&app, &config.modules_dir).await?;
        Ok(Self {
            app,
            address,
            generated_admin_key,
            listener,
        })
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, public_url = %self.app.public_url, "serving");
        axum::serve(self.listener, router(self.app))
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Uses the configured admin key (storing its hash), or the stored one, or generates one.
async fn settle_admin_key(db: &Db, configured: Option<&str>) -> anyhow::Result<(String, Option<String>)> {
    if let Some(key) = configured {
        let hash = crate::api::key_hash(key);
        settings::set(db.pool(), ADMIN_KEY_SETTING, &hash).await?;
        return Ok((hash, None));
    }
    if let Some(hash) = settings::get(db.pool(), ADMIN_KEY_SETTING).await? {
        return Ok((hash, None));
    }
    let key = format!("ihk_admin_{}", random_token(32));
    let hash = crate::api::key_hash(&key);
    settings::set(db.pool(), ADMIN_KEY_SETTING, &hash).await?;
    Ok((hash, Some(key)))
}

/// Compiles every module folder off the async threads, records each version and makes it
/// live. A folder that fails is logged with its reason; the others still load.
async fn load_installed_modules(app: &Arc<App>, dir: &std::path::Path) -> anyhow::Result<()> {
    let loader = app.clone();
    let dir_owned = dir.to_path_buf();
    let load =
        tokio::task::spawn_blocking(move || load_modules_dir(&loader.runtime, &dir_owned, &loader.overrides)).await??;
    for (folder, error) in load.failed {
        tracing::error!(folder = %folder.display(), %error, "module not loaded");
    }
    for (module, bytes) in load.loaded {
        let manifest_json = serde_json::to_string(&module.manifest)?;
        modules::record(
            app.db.pool(),
            &module.manifest.identifier,
            &module.manifest.version,
            &manifest_json,
            &module.sha256,
            &bytes,
        )
        .await?;
        tracing::info!(module = %module.manifest.identifier, version = %module.manifest.version, sha256 = %module.sha256, "module loaded");
        app.registry.activate(module);
    }
    if app.registry.all().is_empty() {
        tracing::warn!(dir = %dir.display(), "no modules loaded");
    }
    Ok(())
}
