//! A host started in-process on 127.0.0.1 with a fresh SQLite database and modules folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use integrations_host::server::{RunningHost, ServeConfig};
use integrations_host::services::App;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::WASM_DIR;

pub const ADMIN_KEY: &str = "test-admin-key";

/// What a test host gets.
#[derive(Default, Clone)]
pub struct HostOptions {
    /// `MODULE.NAME=URL` overrides.
    pub endpoints: Vec<String>,
    /// Also install the hostile test guest.
    pub with_hostile: bool,
    /// Test guests to install, by identifier (`tests/fixtures/<id>.yaml` beside `<id>.wasm`).
    pub fixtures: Vec<&'static str>,
    /// Sandbox limits (default: the host's).
    pub limits: Option<integrations_host::runtime::HostLimits>,
    /// Webhook bounds (default: the host's).
    pub webhooks: Option<integrations_host::services::webhook_gate::WebhookLimits>,
    /// Shipped modules to install besides MyGateway, by identifier (`manifests/<id>.yaml`
    /// beside the built `<id>.wasm`).
    pub modules: Vec<&'static str>,
    /// The component installed as `payment_mygateway` instead of the one just built (the
    /// frozen 1.0.0 bytes of `tests/fixtures/contract-1.0.0/`, say).
    pub mygateway_component: Option<PathBuf>,
    /// Reuse this folder (database and modules) instead of a new one.
    pub dir: Option<PathBuf>,
    /// `--public-url`, as behind a proxy (default: the bound address).
    pub public_url: Option<String>,
    /// Start without MyGateway in the modules folder.
    pub bare: bool,
    /// Event delivery retries (default: the host's).
    pub delivery: Option<integrations_host::services::event_delivery::DeliveryPolicy>,
    /// Scheduled sync timing (default: the host's).
    pub sync: Option<integrations_host::services::scheduled_sync::SyncPolicy>,
    /// Refund reconciliation timing (default: [`on_demand_refunds`]).
    pub refunds: Option<integrations_host::services::refund_reconciliation::RefundPolicy>,
    /// When an unanswered Idempotency-Key claim is taken over (default: the host's).
    pub idempotency_takeover: Option<std::time::Duration>,
    /// Names the host's outbound resolver answers itself (`ServeConfig::pinned_names`), so a
    /// test can point an allowed name at 127.0.0.1 without outside DNS.
    pub pinned_names: Vec<(String, std::net::SocketAddr)>,
    /// `--master-key-file` (default: `master.key` beside the database).
    pub master_key_file: Option<PathBuf>,
}

/// Refund reconciliation at start and when a test calls `app.reconcile_refunds()`, every
/// unresolved refund due at once: no pass of its own runs while a test does its steps.
pub fn on_demand_refunds() -> integrations_host::services::refund_reconciliation::RefundPolicy {
    integrations_host::services::refund_reconciliation::RefundPolicy {
        reconcile_every: std::time::Duration::from_secs(3600),
        settle: std::time::Duration::ZERO,
        ..Default::default()
    }
}

pub struct TestHost {
    pub url: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    pub dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Copies a built component and its manifest into `modules/<identifier>/`.
pub fn install(modules: &Path, identifier: &str, manifest: &Path) {
    install_component(modules, identifier, manifest, &Path::new(WASM_DIR).join(format!("{identifier}.wasm")));
}

/// Copies `component` and a manifest into `modules/<identifier>/`.
pub fn install_component(modules: &Path, identifier: &str, manifest: &Path, component: &Path) {
    let folder = modules.join(identifier);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(manifest, folder.join("manifest.yaml")).unwrap();
    std::fs::copy(component, folder.join(format!("{identifier}.wasm"))).unwrap();
}

/// The compile cache test hosts share, under the build's target folder.
pub fn shared_compile_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-compile-cache")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

impl TestHost {
    pub async fn start(options: HostOptions) -> Self {
        Self::try_start(options).await.expect("host starts")
    }

    /// Starts a host, or answers why it refused to start.
    pub async fn try_start(options: HostOptions) -> anyhow::Result<Self> {
        let (temp, dir) = match &options.dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::tempdir().unwrap();
                let dir = temp.path().to_path_buf();
                (Some(temp), dir)
            }
        };
        let modules = dir.join("modules");
        if !options.bare {
            let manifest = repo().join("manifests/payment_mygateway.yaml");
            match &options.mygateway_component {
                Some(component) => install_component(&modules, "payment_mygateway", &manifest, component),
                None => install(&modules, "payment_mygateway", &manifest),
            }
        }
        for identifier in &options.modules {
            install(&modules, identifier, &repo().join(format!("manifests/{identifier}.yaml")));
        }
        if options.with_hostile {
            install(&modules, "test_hostile", &repo().join("tests/fixtures/test_hostile.yaml"));
        }
        for identifier in &options.fixtures {
            install(&modules, identifier, &repo().join(format!("tests/fixtures/{identifier}.yaml")));
        }
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: crate::database::url_for(&dir).await,
            database_pool: None,
            modules_dir: modules,
            public_url: options.public_url.clone(),
            admin_key: Some(ADMIN_KEY.into()),
            // PostgreSQL needs a key file named; SQLite's default is the same file.
            master_key_file: options.master_key_file.clone().or_else(|| Some(dir.join("master.key"))),
            endpoints: options.endpoints.clone(),
            delivery: options.delivery.clone().unwrap_or_default(),
            sync: options.sync.clone().unwrap_or_default(),
            // Without limits of its own, a test host shares one compile cache with every other
            // (so a hundred starts do not each compile the same components).
            limits: options.limits.clone().unwrap_or_else(|| integrations_host::runtime::HostLimits {
                compile_cache: Some(shared_compile_cache()),
                ..Default::default()
            }),
            webhooks: options.webhooks.unwrap_or_default(),
            refunds: options.refunds.clone().unwrap_or_else(on_demand_refunds),
            idempotency_takeover: options
                .idempotency_takeover
                .unwrap_or(integrations_host::store::idempotency::DEFAULT_TAKEOVER),
            pinned_names: integrations_host::capabilities::StaticNames::new(options.pinned_names.clone()),
            shutdown_grace: integrations_host::server::DEFAULT_SHUTDOWN_GRACE,
            outbound: Default::default(),
        };
        let host = RunningHost::start(config).await?;
        let url = format!("http://{}", host.address);
        let app = host.app.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            host.serve(async {
                let _ = stopped.await;
            })
            .await
            .expect("host serves");
        });
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Ok(Self { url, client, app, dir, temp, shutdown: Some(shutdown), task: Some(task) })
    }

    /// Stops serving and waits for the server to finish. Returns the host's folder (if the
    /// host made it), so a test can start another host on the same database.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.temp.take()
    }

    /// A request with the admin key.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_key(ADMIN_KEY, method, path)
    }

    pub fn as_key(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url)).bearer_auth(key)
    }

    pub fn public(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    /// A company API key.
    pub async fn company_key(&self, company_id: i64) -> String {
        let (status, body) = send(
            self.admin(Method::POST, "/api/admin/api_keys")
                .json(&serde_json::json!({"company_id": company_id, "name": "erp"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["key"].as_str().unwrap().to_string()
    }

    /// Creates an integration of `module` for `company_id`, sets credentials and enables it.
    pub async fn enabled_integration(&self, key: &str, company_id: i64, module: &str, credentials: Value) -> i64 {
        let (status, body) = send(self.as_key(key, Method::POST, "/api/integrations").json(&serde_json::json!({
            "company_id": company_id, "module": module, "name": format!("{module} for {company_id}"),
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let (status, body) =
            send(self.as_key(key, Method::PUT, &format!("/api/integrations/{id}/credentials")).json(&credentials))
                .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = send(self.as_key(key, Method::POST, &format!("/api/integrations/{id}/enable"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "Enabled");
        id
    }

    pub async fn transaction(&self, id: i64) -> Value {
        let (status, body) = send(self.admin(Method::GET, &format!("/api/online_payment/transaction/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn payments(&self, document_model: &str, document_id: i64) -> Vec<Value> {
        let path = format!("/api/online_payment/payments?document_model={document_model}&document_id={document_id}");
        let (status, body) = send(self.admin(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }
}

/// Sends a request; returns the status and the JSON body (Null when the body is not JSON).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response: Response = request.send().await.expect("request reaches the host");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A built component's bytes.
pub fn component(file: &str) -> Vec<u8> {
    std::fs::read(Path::new(WASM_DIR).join(file)).unwrap()
}

/// A shipped manifest, with `version` replaced.
pub fn manifest(identifier: &str, version: &str) -> String {
    let text = std::fs::read_to_string(repo().join(format!("manifests/{identifier}.yaml"))).unwrap();
    text.replace("version: '1.0'", &format!("version: '{version}'"))
}

impl TestHost {
    /// Uploads a module through the admin API.
    pub async fn upload_module(&self, manifest: &str, component: Vec<u8>) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest.to_string())
            .part("component", reqwest::multipart::Part::bytes(component).file_name("module.wasm"));
        send(self.admin(Method::POST, "/api/admin/modules").multipart(form)).await
    }

    /// Waits (up to 20 s) until `condition` holds for the live modules list.
    pub async fn wait_for_modules(&self, condition: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (_, modules) = send(self.admin(Method::GET, "/api/modules")).await;
            if condition(&modules) {
                return modules;
            }
            assert!(std::time::Instant::now() < deadline, "modules never reached the expected state: {modules}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Runs a test's own write on the host's database (moving a clock back, damaging a row) in a
/// write transaction of its own, as the host writes, and commits it.
pub async fn write_db<T>(
    db: &integrations_host::store::Db,
    write: impl AsyncFnOnce(&mut integrations_host::store::WriteConn) -> sqlx::Result<T>,
) -> T {
    let mut tx = db.tx().await.expect("a write transaction");
    let done = write(&mut tx).await.expect("the test's write");
    tx.commit().await.expect("the test's commit");
    done
}
