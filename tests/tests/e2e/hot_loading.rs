//! Operators adding, upgrading, rolling back and removing modules on a running host.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use e2e::fake_mygateway::FakeMyGateway;
use e2e::host::{component, manifest, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn versions_of(modules: &Value, identifier: &str) -> Option<String> {
    modules
        .as_array()?
        .iter()
        .find(|m| m["identifier"] == identifier)
        .map(|m| m["version"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_module_installed_through_the_api_takes_payments_at_once() {
    let fake = FakeMyGateway::start(SECRET_KEY).await;
    let host =
        TestHost::start(HostOptions { bare: true, endpoints: vec![fake.endpoint_flag()], ..HostOptions::default() })
            .await;
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(modules, json!([]));

    let (status, body) =
        host.upload_module(&manifest("payment_mygateway", "1.0"), component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["version"].as_str(), body["previous_version"].as_str()), (Some("1.0"), None));
    let credentials = json!({"mygateway_api_key": API_KEY, "mygateway_secret_key": SECRET_KEY, "mygateway_webhook_secret": WEBHOOK_SECRET});
    let id = host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials).await;
    let response = host
        .admin(Method::POST, "/api/online_payment/initiate")
        .json(
            &json!({"integration_id": id, "amount": "5.00", "currency": "USD", "return_url": "https://erp.example/r"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["integrations-module"], "payment_mygateway@1.0");

    // The same upload again changes nothing; a company key may not install.
    let (status, _) =
        host.upload_module(&manifest("payment_mygateway", "1.0"), component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::OK);
    let key = host.company_key(1).await;
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest("payment_mygateway", "9.0"))
        .part("component", reqwest::multipart::Part::bytes(component("payment_mygateway.wasm")));
    let (status, _) = send(host.as_key(&key, Method::POST, "/api/admin/modules").multipart(form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn broken_or_mismatched_modules_are_refused_and_the_live_version_keeps_serving() {
    let s = MyGatewayScenario::start().await;
    let live = manifest("payment_mygateway", "2.0");
    for (manifest_text, bytes, needle) in [
        (live.clone(), b"\0asm\x01\0\0\0garbage".to_vec(), "not a valid WebAssembly component"),
        (live.clone(), component("sms_twilio.wasm"), "does not export `integrations:provider/payment@1.0.0`"),
        (
            live.replace("test_hostile", "x").replace("payment_mygateway.wasm", "test_fails_to_start.wasm"),
            component("test_fails_to_start.wasm"),
            "failed to start",
        ),
        (
            live.replace("category: module_category_integrations", "category: other"),
            component("payment_mygateway.wasm"),
            "category",
        ),
    ] {
        let (status, body) = s.host.upload_module(&manifest_text, bytes).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("module_refused")),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{body}");
    }
    // Over the size limit.
    let (status, body) = s.host.upload_module(&manifest("payment_mygateway", "3.0"), vec![0u8; (32 << 20) + 1]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")), "{body}");
    // Not newer, and another build under a recorded version.
    let (status, body) =
        s.host.upload_module(&manifest("payment_mygateway", "0.9"), component("payment_mygateway.wasm")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("version_not_newer")));
    let (status, body) =
        s.host.upload_module(&manifest("payment_mygateway", "1.0"), component("test_hostile.wasm")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("version_exists")));

    let (_, modules) = send(s.host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(versions_of(&modules, "payment_mygateway").as_deref(), Some("1.0"));
    let answer = s.initiate(json!("1.00"), "Redirect", 1).await;
    assert!(answer["redirect_url"].as_str().unwrap().starts_with("https://checkout.mygateway.com/"));
}

#[tokio::test]
async fn upgrades_and_rollbacks_under_load_fail_no_request() {
    let s = Arc::new(MyGatewayScenario::start().await);
    let pending = s.initiate(json!("3.00"), "Redirect", 77).await["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(pending).await;

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            let mut served_by = Vec::new();
            let body = json!({ "type": "payment.completed", "data": { "payment_id": session_id } }).to_string();
            let signature = e2e::hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes());
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) || round < 10 {
                round += 1;
                let webhook = s
                    .host
                    .public(Method::POST, &format!("/payment/webhook/{}", s.integration_id))
                    .header("X-MyGateway-Signature", &signature)
                    .body(body.clone());
                let initiate = s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
                    "integration_id": s.integration_id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
                }));
                for request in [webhook, initiate] {
                    let response = request.send().await.unwrap();
                    let version =
                        response.headers().get("integrations-module").map(|v| v.to_str().unwrap().to_string());
                    assert!(response.status().is_success(), "{} during the upgrade", response.status());
                    served_by.push(version.expect("every answer names the version that served it"));
                }
            }
            served_by
        })
    };

    for version in ["1.1", "1.2"] {
        let (status, body) =
            s.host.upload_module(&manifest("payment_mygateway", version), component("payment_mygateway.wasm")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for version in ["1.0", "1.2", "1.1", "1.2"] {
        let (status, body) = send(
            s.host
                .admin(Method::POST, "/api/admin/modules/payment_mygateway/activate")
                .json(&json!({ "version": version })),
        )
        .await;
        assert_eq!((status, body["version"].as_str()), (StatusCode::OK, Some(version)), "{body}");
    }
    stop.store(true, Ordering::SeqCst);
    let served_by = load.await.unwrap();

    let distinct: BTreeSet<&str> = served_by.iter().map(String::as_str).collect();
    assert!(distinct.iter().all(|label| !label.contains(',')), "a request was served by two versions: {distinct:?}");
    assert!(distinct.contains("payment_mygateway@1.2"), "the last version served: {distinct:?}");
    assert!(distinct.len() >= 2, "the switch is visible in the answers: {distinct:?}");
    assert_eq!(s.host.payments("Invoice", 77).await.len(), 1);

    let (_, versions) = send(s.host.admin(Method::GET, "/api/modules/payment_mygateway/versions")).await;
    let listed: Vec<(&str, bool)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(listed, [("1.0", false), ("1.1", false), ("1.2", true)]);
}

#[tokio::test]
async fn an_uninstalled_module_refuses_payments_clearly_and_can_come_back() {
    let s = MyGatewayScenario::start().await;
    let (status, _) = send(s.host.admin(Method::DELETE, "/api/admin/modules/payment_mygateway")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, integration) = send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await;
    assert_eq!(integration["state"], "Not Installed");
    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
    })))
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("module_not_installed"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("payment_mygateway"));
    let (status, _) = send(s.host.admin(Method::DELETE, "/api/admin/modules/payment_mygateway")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = send(
        s.host.admin(Method::POST, "/api/admin/modules/payment_mygateway/activate").json(&json!({"version": "1.0"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, integration) = send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await;
    assert_eq!(integration["state"], "Enabled", "its integrations come back as they were");
}

#[tokio::test]
async fn a_module_folder_dropped_in_is_picked_up_without_a_restart() {
    let s = MyGatewayScenario::start().await;
    let modules = s.host.dir.join("modules");
    // A new module folder.
    e2e::host::install(&modules, "test_hostile", &e2e::host::repo().join("tests/fixtures/test_hostile.yaml"));
    s.host.wait_for_modules(|m| versions_of(m, "test_hostile").is_some()).await;

    // A new version replacing the old files.
    let folder = modules.join("payment_mygateway");
    std::fs::write(folder.join("manifest.yaml"), manifest("payment_mygateway", "1.5")).unwrap();
    s.host.wait_for_modules(|m| versions_of(m, "payment_mygateway").as_deref() == Some("1.5")).await;

    // A broken replacement is refused; 1.5 keeps serving.
    std::fs::write(folder.join("payment_mygateway.wasm"), b"broken").unwrap();
    std::fs::write(folder.join("manifest.yaml"), manifest("payment_mygateway", "1.6")).unwrap();
    // A later valid change proves the broken one was seen and passed over.
    e2e::host::install(&modules, "test_hostile", &e2e::host::repo().join("tests/fixtures/test_hostile.yaml"));
    std::fs::write(
        modules.join("test_hostile/manifest.yaml"),
        std::fs::read_to_string(e2e::host::repo().join("tests/fixtures/test_hostile.yaml"))
            .unwrap()
            .replace("version: '1.0'", "version: '1.1'"),
    )
    .unwrap();
    let live = s.host.wait_for_modules(|m| versions_of(m, "test_hostile").as_deref() == Some("1.1")).await;
    assert_eq!(versions_of(&live, "payment_mygateway").as_deref(), Some("1.5"));
    let answer = s.initiate(json!("1.00"), "Redirect", 2).await;
    assert!(answer["redirect_url"].is_string());
}

#[tokio::test]
async fn a_restart_loads_compiled_modules_from_the_cache() {
    // Limits of its own: the host's default cache beside its database, not the tests' shared one.
    let own_cache = || Some(integrations_host::runtime::HostLimits::default());
    let s = MyGatewayScenario::start_with(HostOptions { limits: own_cache(), ..HostOptions::default() }).await;
    let (compiled, _) = s.host.app.runtime.compile_stats();
    assert!(compiled >= 1, "the first start compiles");
    let (dir, fake, integration_id) = (s.host.dir.clone(), s.fake.clone(), s.integration_id);
    let _kept = s.host.stop().await;

    let host = TestHost::start(HostOptions {
        dir: Some(dir),
        endpoints: vec![fake.endpoint_flag()],
        limits: own_cache(),
        ..HostOptions::default()
    })
    .await;
    let (compiled, from_cache) = host.app.runtime.compile_stats();
    assert_eq!(compiled, 0, "nothing was recompiled");
    assert!(from_cache >= 1);
    let (status, body) = send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": integration_id, "amount": "2.00", "currency": "USD", "return_url": "https://erp.example/r",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// `/readyz` (API.md §3): ready while every module the database records as live is loaded;
/// a module whose stored component no longer loads makes the host not ready, naming it, and
/// the other modules keep serving.
#[tokio::test]
async fn a_live_module_that_fails_to_load_makes_the_host_not_ready() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, body) = host.upload_module(&manifest("sms_twilio", "1.0"), component("sms_twilio.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, ready) = send(host.public(Method::GET, "/readyz")).await;
    assert_eq!((status, ready["modules"].as_i64()), (StatusCode::OK, Some(2)), "{ready}");

    // The stored component is damaged while the host is down (its bytes no longer compile).
    e2e::host::write_db(&host.app.db, async |c| {
        sqlx::query("UPDATE modules SET component = $1 WHERE identifier = 'sms_twilio'")
            .bind(b"\0asm\x01\0\0\0damaged".to_vec())
            .execute(c)
            .await
    })
    .await;
    let dir = host.dir.clone();
    let _kept = host.stop().await;
    let host = TestHost::start(HostOptions { dir: Some(dir), ..HostOptions::default() }).await;

    let (status, body) = send(host.public(Method::GET, "/readyz")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("modules_unavailable")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("sms_twilio@1.0") && !message.contains("payment_mygateway"), "{message}");
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(versions_of(&modules, "payment_mygateway").as_deref(), Some("1.0"), "MyGateway still serves");
}
