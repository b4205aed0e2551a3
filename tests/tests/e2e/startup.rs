//! Start-up: modules load from the folder (a broken one is refused with its reason and the
//! rest still load), validation refuses components that do not fit their manifest, and a
//! restart keeps everything.

use std::path::Path;

use e2e::host::{send, HostOptions, TestHost};
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use e2e::WASM_DIR;
use integrations_host::registry::{load_module, EndpointOverrides, LoadError};
use integrations_host::runtime::{HostLimits, ProviderRuntime};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

fn refusal(manifest: &str, component: &[u8]) -> String {
    let runtime = ProviderRuntime::new(HostLimits { max_instances: 2, ..HostLimits::default() }).unwrap();
    match load_module(&runtime, manifest, component, &EndpointOverrides::default()) {
        Ok(_) => panic!("loaded"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn components_that_do_not_fit_their_manifest_are_refused() {
    let manifest = repo_file("manifests/payment_mygateway.yaml");
    let mygateway = std::fs::read(Path::new(WASM_DIR).join("payment_mygateway.wasm")).unwrap();

    let error = refusal(&manifest, b"\0asm not really");
    assert!(error.starts_with("component: not a valid WebAssembly component"), "{error}");

    let as_messaging = manifest
        .replace("integration_category: Online Payment", "integration_category: Messaging")
        .replace("- online_payment", "- messaging")
        .replace("payment-provider@1.0.0", "messaging-provider@1.0.0");
    let error = refusal(&as_messaging, &mygateway);
    assert!(error.contains("does not export `integrations:provider/messaging@1.0.0`"), "{error}");

    let error = refusal(&manifest.replace("payment-provider@1.0.0", "payment-provider@2.0.0"), &mygateway);
    assert!(error.contains("runtime.world"), "{error}");

    let runtime = ProviderRuntime::new(HostLimits { max_instances: 2, ..HostLimits::default() }).unwrap();
    let module = load_module(&runtime, &manifest, &mygateway, &EndpointOverrides::default()).unwrap();
    assert_eq!(module.manifest.identifier, "payment_mygateway");
    assert!(matches!(
        load_module(&runtime, "identifier: [", &mygateway, &EndpointOverrides::default()),
        Err(LoadError::Manifest(_))
    ));
}

#[tokio::test]
async fn a_broken_module_folder_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("modules/payment_broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("manifest.yaml"),
        repo_file("manifests/payment_mygateway.yaml").replace("payment_mygateway", "payment_broken"),
    )
    .unwrap();
    std::fs::write(broken.join("payment_broken.wasm"), b"not wasm").unwrap();
    let host = TestHost::start(HostOptions { dir: Some(dir.path().to_path_buf()), ..HostOptions::default() }).await;
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    let identifiers: Vec<_> = modules.as_array().unwrap().iter().map(|m| m["identifier"].as_str().unwrap()).collect();
    assert_eq!(identifiers, ["payment_mygateway"]);
}

#[tokio::test]
async fn a_restart_keeps_integrations_transactions_and_keys() {
    let s = MyGatewayScenario::start().await;
    let key = s.host.company_key(1).await;
    let id = s.initiate(json!("6.00"), "Redirect", 90).await["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    let dir = s.host.dir.clone();
    let fake = s.fake.clone();
    let _kept = s.host.stop().await;

    let options = HostOptions { dir: Some(dir), endpoints: vec![fake.endpoint_flag()], ..HostOptions::default() };
    let host = TestHost::start(options).await;
    let (status, integration) =
        send(host.as_key(&key, Method::GET, &format!("/api/integrations/{}", s.integration_id))).await;
    assert_eq!((status, integration["state"].as_str()), (StatusCode::OK, Some("Enabled")));
    assert_eq!(host.transaction(id).await["state"], "Pending");
    let body = json!({ "type": "payment.completed", "data": { "payment_id": session_id } }).to_string();
    let signature = e2e::hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes());
    let (status, _) = send(
        host.public(Method::POST, &format!("/payment/webhook/{}", s.integration_id))
            .header("X-MyGateway-Signature", signature)
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(host.transaction(id).await["state"], "Captured");
}

/// Two hosts starting at once on one new database, neither given an admin key: one key is
/// made and printed, and both hosts take it (the other prints none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_starting_at_once_agree_on_one_admin_key() {
    use integrations_host::server::{RunningHost, ServeConfig};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("modules")).unwrap();
    let database = e2e::database::url_for(dir.path()).await;
    let config = || ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: database.clone(),
        modules_dir: dir.path().join("modules"),
        master_key_file: Some(dir.path().join("master.key")),
        ..ServeConfig::default()
    };
    // The schema first (SQLite runs migrations without a lock; one SQLite file has one host),
    // then both hosts at once.
    integrations_host::store::Db::connect(&database).await.unwrap().close().await;
    let (first, second) = tokio::join!(RunningHost::start(config()), RunningHost::start(config()));
    let (first, second) = (first.unwrap(), second.unwrap());
    let printed: Vec<&String> = [&first, &second].iter().filter_map(|host| host.generated_admin_key.as_ref()).collect();
    assert_eq!(printed.len(), 1, "exactly one host made and printed a key");
    let hash = integrations_host::services::api_keys::key_hash(printed[0]);
    assert_eq!(first.app.admin_key_hash, hash);
    assert_eq!(second.app.admin_key_hash, hash, "the other host takes the stored key");
}
