//! The third-party kit: the template provider builds, passes `check`, installs on a running
//! host and takes a payment; `check` refuses what an install would refuse.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use e2e::fake_gateway::FakeServer;
use e2e::host::{repo, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::WASM_DIR;
use integrations_host::check::check_module;
use reqwest::Method;
use serde_json::{json, Value};

const KEY: &str = "ex_live_key_123";
const WEBHOOK_SECRET: &str = "ex_webhook_secret";

/// ExamplePay as the template's module documentation describes it.
async fn fake_examplepay() -> (String, Arc<Mutex<Vec<Value>>>) {
    let server = FakeServer::bind().await;
    let url = server.url.clone();
    let payments = Arc::new(Mutex::new(Vec::new()));
    async fn create(
        State(payments): State<Arc<Mutex<Vec<Value>>>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": "bad key"})));
        }
        let mut payments = payments.lock().unwrap();
        payments.push(body);
        let id = format!("pay_{}", payments.len());
        (StatusCode::OK, Json(json!({ "id": id, "pay_url": format!("https://pay.examplepay.test/{id}") })))
    }
    server.serve(Router::new().route("/payments", post(create)).with_state(payments.clone()));
    (url, payments)
}

#[test]
fn check_accepts_the_template_and_names_what_is_wrong_otherwise() {
    let manifest = repo().join("providers/template/manifest.yaml");
    let component = std::path::Path::new(WASM_DIR).join("payment_example.wasm");
    let summary = check_module(&manifest, &component).unwrap();
    assert!(summary.starts_with("ok: payment_example 1.0 (integrations:provider/payment-provider@1.0.0)"), "{summary}");

    let twilio = std::path::Path::new(WASM_DIR).join("sms_twilio.wasm");
    let reasons = check_module(&manifest, &twilio).unwrap_err();
    assert!(reasons.contains("does not export `integrations:provider/payment@1.0.0`"), "{reasons}");
}

#[tokio::test]
async fn the_template_installs_on_a_running_host_and_takes_a_payment() {
    template_takes_a_payment(e2e::host::component("payment_example.wasm")).await;
}

/// Installs `component` as the template's module through the admin API, enables it and takes
/// a payment (initiate, then a signed webhook captures it).
pub(crate) async fn template_takes_a_payment(component: Vec<u8>) {
    let (url, payments) = fake_examplepay().await;
    let host = TestHost::start(HostOptions {
        bare: true,
        endpoints: vec![format!("payment_example.api={url}")],
        ..HostOptions::default()
    })
    .await;
    let manifest = std::fs::read_to_string(repo().join("providers/template/manifest.yaml")).unwrap();
    let (status, body) = host.upload_module(&manifest, component).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (_, created) = send(
        host.admin(Method::POST, "/api/integrations")
            .json(&json!({"company_id": 1, "module": "payment_example", "name": "ExamplePay"})),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("Please enter your ExamplePay API Key."))
    );
    let id = host
        .enabled_integration(
            ADMIN_KEY,
            1,
            "payment_example",
            json!({"examplepay_api_key": KEY, "examplepay_webhook_secret": WEBHOOK_SECRET}),
        )
        .await;

    let (status, answer) = send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": id, "amount": "12.00", "currency": "EUR", "return_url": "https://erp.example/r",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["redirect_url"], "https://pay.examplepay.test/pay_1");
    assert_eq!(payments.lock().unwrap()[0]["amount"], 1200);

    let event = json!({"payment_id": "pay_1", "status": "paid"}).to_string();
    let signature = e2e::hmac_sha256_hex(WEBHOOK_SECRET, event.as_bytes());
    let (status, _) = send(
        host.public(Method::POST, &format!("/payment/webhook/{id}"))
            .header("X-Example-Signature", signature)
            .body(event),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(host.transaction(answer["transaction_id"].as_i64().unwrap()).await["state"], "Captured");
}
