//! What an upgrade may take from the live version (API.md §2): a secret stays secret, and new
//! outbound hosts need the operator's `grant_new_hosts`, never given by the modules folder.

use e2e::host::{component, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::logs;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::install_refusals::hostile_manifest;

const SECRET: &str = "hostile_secret_value_4417";

/// The hostile guest's manifest at `version`, with `secret_key` declared `secret` as given and
/// `extra_hosts` allowed beside its own.
fn upgraded(version: &str, secret_key_secret: bool, extra_hosts: &[&str]) -> String {
    let mut text = hostile_manifest(version);
    if !secret_key_secret {
        text = text.replace(
            "{ name: secret_key, description: Secret Key, secret: true }",
            "{ name: secret_key, description: Secret Key, secret: false }",
        );
    }
    let hosts: Vec<&str> = ["api.hostile.example.com"].into_iter().chain(extra_hosts.iter().copied()).collect();
    text.replace("allowed_hosts: [api.hostile.example.com]", &format!("allowed_hosts: [{}]", hosts.join(", ")))
}

async fn hostile_host() -> (TestHost, i64) {
    let host = TestHost::start(HostOptions { with_hostile: true, ..HostOptions::default() }).await;
    let credentials = json!({"api_key": "plain-key", "secret_key": SECRET});
    let id = host.enabled_integration(ADMIN_KEY, 1, "test_hostile", credentials).await;
    (host, id)
}

/// Installs through the admin API; `grant` adds the `grant_new_hosts` form part.
async fn install(host: &TestHost, manifest: &str, grant: Option<&str>) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new().text("manifest", manifest.to_string());
    if let Some(grant) = grant {
        form = form.text("grant_new_hosts", grant.to_string());
    }
    let form = form.part("component", reqwest::multipart::Part::bytes(component("test_hostile.wasm")));
    send(host.admin(Method::POST, "/api/admin/modules").multipart(form)).await
}

async fn live_version(host: &TestHost) -> String {
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    let hostile = modules.as_array().unwrap().iter().find(|m| m["identifier"] == "test_hostile").unwrap();
    hostile["version"].as_str().unwrap().to_string()
}

/// What the provider gets when it reads `secret_key` (its redirect URL or its error).
async fn read_secret(host: &TestHost, id: i64) -> Value {
    send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
        "document_model": "read-secret",
    })))
    .await
    .1
}

fn refusal(status: StatusCode, body: &Value) -> &str {
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("module_refused")));
    body["error"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn an_upgrade_cannot_make_a_stored_secret_readable() {
    let (host, id) = hostile_host().await;
    for grant in [None, Some("true")] {
        let (status, body) = install(&host, &upgraded("1.1", false, &[]), grant).await;
        let message = refusal(status, &body);
        assert!(message.contains("`secret_key` is secret in version 1.0"), "{message}");
        assert!(message.contains("runtime.credentials"), "{message}");
    }
    assert_eq!(live_version(&host).await, "1.0");
    let answer = read_secret(&host, id).await;
    assert!(answer.to_string().contains("secret not readable"), "{answer}");
    assert!(!answer.to_string().contains(SECRET), "{answer}");
}

#[tokio::test]
async fn new_hosts_need_the_operators_grant() {
    let (host, _id) = hostile_host().await;
    let wider = upgraded("1.1", true, &["exfil.example.com"]);
    for grant in [None, Some("false")] {
        let (status, body) = install(&host, &wider, grant).await;
        let message = refusal(status, &body);
        assert!(message.contains("reaches exfil.example.com, which version 1.0 does not"), "{message}");
        assert!(message.contains("grant_new_hosts=true"), "{message}");
    }
    assert_eq!(live_version(&host).await, "1.0", "the refused upgrade changed nothing");
    let (status, body) = install(&host, &wider, Some("maybe")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_upload")));

    let (status, body) = install(&host, &wider, Some("true")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(live_version(&host).await, "1.1");
    // The grant may also be given in the query.
    let form = reqwest::multipart::Form::new()
        .text("manifest", upgraded("1.2", true, &["exfil.example.com", "'*.more.example.com'"]))
        .part("component", reqwest::multipart::Part::bytes(component("test_hostile.wasm")));
    let (status, body) =
        send(host.admin(Method::POST, "/api/admin/modules?grant_new_hosts=true").multipart(form)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Fewer hosts need no grant.
    let (status, body) = install(&host, &upgraded("1.3", true, &[]), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The operator sees what each version reaches and keeps secret.
    let (status, versions) = send(host.admin(Method::GET, "/api/modules/test_hostile/versions")).await;
    assert_eq!(status, StatusCode::OK);
    let by_version = |v: &str| versions.as_array().unwrap().iter().find(|row| row["version"] == v).unwrap().clone();
    assert_eq!(by_version("1.0")["allowed_hosts"], json!(["api.hostile.example.com"]));
    assert_eq!(
        by_version("1.2")["allowed_hosts"],
        json!(["api.hostile.example.com", "exfil.example.com", "*.more.example.com"])
    );
    assert_eq!(by_version("1.3")["active"], true);
    for row in versions.as_array().unwrap() {
        assert_eq!(row["secret_credentials"], json!(["secret_key"]), "{row}");
        assert_eq!(row["world"], "integrations:provider/payment-provider@1.0.0");
    }
}

#[tokio::test]
async fn the_modules_folder_never_grants_new_hosts() {
    logs::capture();
    let (host, _id) = hostile_host().await;
    let folder = host.dir.join("modules/test_hostile");
    std::fs::write(folder.join("manifest.yaml"), upgraded("1.1", true, &["folder-exfil.example.com"])).unwrap();
    // The same step the folder watcher takes, awaited so the test knows it has run.
    host.app.sync_module_folder(&folder).await;
    assert_eq!(live_version(&host).await, "1.0");
    let logged = logs::text();
    let line = logged.lines().find(|line| line.contains("folder-exfil.example.com")).expect("the refusal is logged");
    assert!(line.contains("module folder refused") && line.contains("never grants new hosts"), "{line}");

    std::fs::write(folder.join("manifest.yaml"), upgraded("1.2", false, &[])).unwrap();
    host.app.sync_module_folder(&folder).await;
    assert_eq!(live_version(&host).await, "1.0", "nor does it declassify a secret");

    std::fs::write(folder.join("manifest.yaml"), upgraded("1.3", true, &[])).unwrap();
    host.app.sync_module_folder(&folder).await;
    assert_eq!(live_version(&host).await, "1.3", "an upgrade that asks for nothing new goes live");
}

#[tokio::test]
async fn a_secret_dropped_and_declared_again_as_plain_stays_secret() {
    let (host, id) = hostile_host().await;
    let line = "    - { name: secret_key, description: Secret Key, secret: true }\n";
    let without = upgraded("1.1", true, &[]).replace(line, "");
    assert!(!without.contains("secret_key"), "the fixture line is gone");
    let (status, body) = install(&host, &without, None).await;
    assert_eq!(status, StatusCode::CREATED, "dropping a credential needs nothing: {body}");
    // The live version does not declare it, so the install passes; the value is still stored as
    // a secret, and that is what decides.
    let (status, body) = install(&host, &upgraded("1.2", false, &[]), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let answer = read_secret(&host, id).await;
    assert!(answer.to_string().contains("secret not readable"), "{answer}");
    assert!(!answer.to_string().contains(SECRET), "{answer}");
    // A new value written while the module declares it plain replaces a secret: still secret.
    let (status, _) = send(
        host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials"))
            .json(&json!({"secret_key": "retyped-value-1"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = read_secret(&host, id).await;
    assert!(answer.to_string().contains("secret not readable"), "{answer}");
}
