//! Graceful stop of the real `integrations-host` binary (issue 11, point 5): SIGTERM and
//! SIGINT close the listener at once, let the requests in flight (held by a slow fake
//! MyGateway) and the event delivery in flight (held by a slow ERP endpoint) finish and be
//! written, and exit 0; what is still running after `--shutdown-grace-s` is cut, and the exit
//! is still 0.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

const ADMIN_KEY: &str = "shutdown-test-admin-key";

/// Requests that wait while held, counted as they arrive.
#[derive(Clone)]
struct Hold {
    holding: Arc<watch::Sender<bool>>,
    arrived: Arc<watch::Sender<usize>>,
}

impl Hold {
    fn new() -> Self {
        Self { holding: Arc::new(watch::channel(true).0), arrived: Arc::new(watch::channel(0).0) }
    }

    async fn pass(&self) -> usize {
        let mut number = 0;
        self.arrived.send_modify(|n| {
            *n += 1;
            number = *n;
        });
        let _ = self.holding.subscribe().wait_for(|held| !*held).await;
        number
    }

    fn hold(&self) {
        self.holding.send_replace(true);
    }

    fn release(&self) {
        self.holding.send_replace(false);
    }

    async fn arrived(&self, count: usize) {
        let mut arrived = self.arrived.subscribe();
        tokio::time::timeout(Duration::from_secs(30), arrived.wait_for(|n| *n >= count))
            .await
            .unwrap_or_else(|_| panic!("{count} requests never arrived"))
            .unwrap();
    }
}

/// A MyGateway that creates sessions only when released, and an ERP event endpoint alike.
#[derive(Clone)]
struct SlowPeers {
    url: String,
    sessions: Hold,
    events: Hold,
}

impl SlowPeers {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peers = Self {
            url: format!("http://{}", listener.local_addr().unwrap()),
            sessions: Hold::new(),
            events: Hold::new(),
        };
        let app = Router::new()
            .route("/v1/sessions", post(create_session))
            .route("/events", post(receive_event))
            .with_state(peers.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        peers
    }
}

async fn create_session(State(peers): State<SlowPeers>) -> Json<Value> {
    let id = format!("sess_{}", peers.sessions.pass().await);
    Json(json!({ "id": id, "checkout_url": format!("https://checkout.mygateway.com/session/{id}") }))
}

async fn receive_event(State(peers): State<SlowPeers>) -> Json<Value> {
    peers.events.pass().await;
    Json(json!({}))
}

/// The binary serving a fresh folder, its log lines, its address.
struct HostProcess {
    child: Child,
    url: String,
    log: mpsc::UnboundedReceiver<Value>,
}

impl HostProcess {
    async fn start(dir: &Path, peers: &SlowPeers, grace_s: u64) -> Self {
        let wasm = xtask::build_providers().expect("the provider components build");
        let module = dir.join("modules/payment_mygateway");
        std::fs::create_dir_all(&module).unwrap();
        std::fs::copy(wasm.join("payment_mygateway.wasm"), module.join("payment_mygateway.wasm")).unwrap();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/payment_mygateway.yaml");
        std::fs::copy(manifest, module.join("manifest.yaml")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_integrations-host"))
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("host.db").display()))
            .arg("--modules")
            .arg(dir.join("modules"))
            .args(["--admin-key", ADMIN_KEY, "--shutdown-grace-s", &grace_s.to_string()])
            .arg("--endpoint")
            .arg(format!("payment_mygateway.api={}", peers.url))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (lines, log) = mpsc::unbounded_channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(serde_json::from_str(&line).unwrap_or(Value::String(line)));
            }
        });
        let mut host = Self { child, url: String::new(), log };
        let serving = host.wait_for_log("serving").await;
        host.url = format!("http://{}", serving["fields"]["address"].as_str().expect("the bound address"));
        host
    }

    /// The next log line whose message is `message` (within 60 s).
    async fn wait_for_log(&mut self, message: &str) -> Value {
        let wanted = async {
            while let Some(line) = self.log.recv().await {
                if line["fields"]["message"] == message {
                    return line;
                }
            }
            panic!("the host ended without logging `{message}`");
        };
        tokio::time::timeout(Duration::from_secs(60), wanted).await.unwrap_or_else(|_| panic!("no `{message}` log"))
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits (at most 60 s) for the process to end; its exit status.
    async fn exit(mut self) -> std::process::ExitStatus {
        let waited = tokio::task::spawn_blocking(move || self.child.wait().unwrap());
        tokio::time::timeout(Duration::from_secs(60), waited).await.expect("the host exits").unwrap()
    }
}

async fn admin(
    client: &reqwest::Client,
    host: &HostProcess,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let response =
        client.request(method, format!("{}{path}", host.url)).bearer_auth(ADMIN_KEY).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// An enabled MyGateway integration; returns its id.
async fn integration(client: &reqwest::Client, host: &HostProcess) -> i64 {
    use reqwest::Method;
    let created = admin(
        client,
        host,
        Method::POST,
        "/api/integrations",
        json!({"company_id": 1, "module": "payment_mygateway", "name": "MyGateway"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let credentials = json!({"mygateway_api_key": "pk_test_1", "mygateway_secret_key": "sk_test_1"});
    admin(client, host, Method::PUT, &format!("/api/integrations/{id}/credentials"), credentials).await;
    admin(client, host, Method::POST, &format!("/api/integrations/{id}/enable"), json!({})).await;
    id
}

fn initiate(
    client: &reqwest::Client,
    host: &HostProcess,
    integration_id: i64,
    document_id: i64,
) -> reqwest::RequestBuilder {
    client.post(format!("{}/api/online_payment/initiate", host.url)).bearer_auth(ADMIN_KEY).json(&json!({
        "integration_id": integration_id, "amount": "5.00", "currency": "USD",
        "document_model": "Invoice", "document_id": document_id, "return_url": "https://erp.example/invoice",
    }))
}

async fn scalar(dir: &Path, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.join("host.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

/// A host with an enabled integration, both peers holding their requests.
async fn started(grace_s: u64) -> (tempfile::TempDir, SlowPeers, HostProcess, reqwest::Client, i64) {
    let dir = tempfile::tempdir().unwrap();
    let peers = SlowPeers::start().await;
    let host = HostProcess::start(dir.path(), &peers, grace_s).await;
    let client = reqwest::Client::new();
    let integration_id = integration(&client, &host).await;
    (dir, peers, host, client, integration_id)
}

#[tokio::test]
async fn sigterm_lets_requests_and_the_delivery_in_flight_finish_and_exits_0() {
    let (dir, peers, mut host, client, integration_id) = started(30).await;
    let endpoint = json!({"url": format!("{}/events", peers.url), "secret": "a-secret-of-16-chars"});
    admin(&client, &host, reqwest::Method::POST, "/api/admin/event_endpoints", endpoint).await;

    // A first payment's event is being delivered to a slow ERP endpoint; three more
    // payments wait for their gateway session.
    peers.sessions.release();
    let response = initiate(&client, &host, integration_id, 1).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    peers.events.arrived(1).await;
    peers.sessions.hold();
    let in_flight: Vec<_> = (2..=4).map(|n| tokio::spawn(initiate(&client, &host, integration_id, n).send())).collect();
    peers.sessions.arrived(4).await;
    host.signal(libc::SIGTERM);
    host.wait_for_log("stop requested").await;

    // No new connection is taken while those are still in flight.
    let refused = async {
        loop {
            match reqwest::Client::new().get(format!("{}/healthz", host.url)).send().await {
                Err(error) if error.is_connect() => return,
                _ => tokio::task::yield_now().await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused).await.expect("the listener closes at the signal");

    // The sessions are created; each request gets its answer and writes its event.
    peers.sessions.release();
    for request in in_flight {
        let response = request.await.unwrap().expect("the answer arrives after the signal");
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        assert!(body["redirect_url"].as_str().unwrap().starts_with("https://checkout.mygateway.com/"));
    }
    // The delivery in flight finishes and its attempt is recorded; the worker then stops
    // (the later events wait, queued, for the next start).
    peers.events.release();
    let status = host.exit().await;
    assert!(status.success(), "{status}");
    let wal = std::fs::metadata(dir.path().join("host.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the database was closed, its WAL checkpointed (absent or empty)");

    assert_eq!(scalar(dir.path(), "SELECT COUNT(*) FROM transactions WHERE state = 'Pending'").await, 4);
    assert_eq!(scalar(dir.path(), "SELECT COUNT(*) FROM delivery_attempts WHERE succeeded = 1").await, 1);
    assert_eq!(scalar(dir.path(), "SELECT COUNT(*) FROM event_deliveries WHERE state = 'pending'").await, 3);
}

#[tokio::test]
async fn sigint_cuts_what_is_still_running_after_the_grace_and_exits_0() {
    let (dir, peers, mut host, client, integration_id) = started(1).await;

    let held = tokio::spawn(initiate(&client, &host, integration_id, 1).send());
    peers.sessions.arrived(1).await;
    host.signal(libc::SIGINT);
    host.wait_for_log("stop requested").await;
    host.wait_for_log("requests still in flight after the shutdown grace were cut").await;
    let status = host.exit().await;
    assert!(status.success(), "{status}");
    assert!(held.await.unwrap().is_err(), "the request held past the grace gets no answer");
    peers.sessions.release();
    // Its Draft stays, for the scheduled sync to settle.
    assert_eq!(scalar(dir.path(), "SELECT COUNT(*) FROM transactions WHERE state = 'Draft'").await, 1);
}
