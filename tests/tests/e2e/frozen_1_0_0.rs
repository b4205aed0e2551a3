//! Plugins built against contract 1.0.0 keep working, byte for byte: the frozen components of
//! `tests/fixtures/contract-1.0.0/` (never rebuilt) are installed instead of the ones just
//! built, and their flows run on every build of the host.

use std::path::PathBuf;

use e2e::host::{send, HostOptions};
use e2e::scenario::{MyGatewayScenario, API_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

fn frozen(file: &str) -> PathBuf {
    e2e::host::repo().join("tests/fixtures/contract-1.0.0").join(file)
}

#[tokio::test]
async fn the_frozen_1_0_0_mygateway_takes_refunds_and_syncs_payments() {
    let component = frozen("payment_mygateway.wasm");
    let bytes = std::fs::read(&component).unwrap();
    let s =
        MyGatewayScenario::start_with(HostOptions { mygateway_component: Some(component), ..HostOptions::default() })
            .await;
    // The host serves the frozen bytes, under their 1.0.0 world.
    let (_, modules) = send(s.host.admin(Method::GET, "/api/modules")).await;
    let module = modules.as_array().unwrap().iter().find(|m| m["identifier"] == "payment_mygateway").unwrap();
    assert_eq!(module["sha256"].as_str(), Some(hex::encode(Sha256::digest(&bytes)).as_str()), "{module}");

    // Redirect, captured by a signed webhook; a forged one changes nothing.
    let answer = s.initiate(json!("30.00"), "Redirect", 1).await;
    let id = answer["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    assert_eq!(s.fake.session(&session_id).amount, 3000);
    let (status, _) = s.deliver("payment.completed", &session_id, Some("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    s.fake.set_status(&session_id, "completed");
    let (status, body) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 1).await.len(), 1);

    // Partial, then the rest, refunded.
    let refund = |amount: serde_json::Value| {
        send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&amount))
    };
    let (status, body) = refund(json!({"amount": "10.00"})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Captured"), Some("10.00"))
    );
    let (status, body) = refund(json!({})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Refunded"), Some("30.00"))
    );
    assert_eq!(s.fake.refunds(), vec![(session_id.clone(), 1000), (session_id, 2000)]);

    // Embedded JS: the client config.
    let answer = s.initiate(json!(25), "Embedded JS", 2).await;
    let session_id = s.session_id(answer["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(
        answer["client_config"],
        json!({ "api_key": API_KEY, "session_id": session_id, "js_url": "https://js.mygateway.com/v1/" })
    );

    // A lost webhook: the return asks the gateway, and a sync finds a later completion.
    let answer = s.initiate(json!("5.00"), "Redirect", 3).await;
    let (id, reference) = (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap());
    let session_id = s.session_id(id).await;
    let returned =
        s.host.public(Method::GET, &format!("/api/online_payment/return?txn={reference}")).send().await.unwrap();
    assert_eq!(returned.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    s.fake.set_status(&session_id, "completed");
    let (status, body) = send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/sync"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 3).await.len(), 1);
}

#[tokio::test]
async fn the_frozen_1_0_0_template_installs_and_takes_a_payment() {
    super::plugin_kit::template_takes_a_payment(std::fs::read(frozen("payment_example.wasm")).unwrap()).await;
}
