//! PayPal's manual capture (contract 1.1): an order of intent AUTHORIZE is authorized when the
//! payer approves (on the return, the `CHECKOUT.ORDER.APPROVED` webhook or a sync), its
//! authorization captured, whole or in part (`final_capture`, PayPal releasing the rest), or
//! voided; each once.

use e2e::fake_paypal::Route;
use e2e::host::send;
use e2e::paypal_scenario::PayPalScenario;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A manual-capture payment the payer approved and came back from: Authorized. Returns
/// (transaction id, PayPal order id).
async fn authorized(s: &PayPalScenario, amount: &str, document_id: i64) -> (i64, String) {
    let mut request: Value = json!({
        "integration_id": s.integration_id, "amount": amount, "currency": "USD",
        "document_model": "Invoice", "document_id": document_id,
        "return_url": "https://erp.example/portal/invoice/42", "capture": "manual",
    });
    let (status, answer) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&request.take())).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["transaction_id"].as_i64().unwrap();
    let order_id = s.order_id(id).await;
    assert_eq!(s.fake.order(&order_id).intent, "AUTHORIZE");
    s.fake.approve(&order_id);
    s.payer_returns(answer["reference"].as_str().unwrap(), &order_id).await;
    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Authorized", "{transaction}");
    (id, order_id)
}

async fn operate(s: &PayPalScenario, id: i64, what: &str, body: Value, key: &str) -> (StatusCode, Value) {
    send(
        s.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/{what}"))
            .header("Idempotency-Key", key)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn an_authorization_is_captured_once_and_its_capture_refunded() {
    let s = PayPalScenario::start().await;
    let (id, order_id) = authorized(&s, "40.00", 601).await;
    assert!(s.host.payments("Invoice", 601).await.is_empty(), "authorized is not paid");
    assert_eq!(s.fake.order(&order_id).authorization.unwrap().status, "CREATED");

    let (status, body) = operate(&s, id, "capture", json!({}), "cap-1").await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");
    let sent = s.fake.requests_to(Route::CaptureAuthorization);
    assert_eq!(sent.len(), 1);
    assert_eq!(serde_json::from_str::<Value>(&sent[0].body).unwrap(), json!({ "final_capture": true }));
    assert!(sent[0].header("paypal-request-id").is_some_and(|id| id.starts_with("TXN-")), "the capture id is the key");
    assert_eq!(s.fake.order(&order_id).authorization.unwrap().status, "CAPTURED");
    assert_eq!(s.host.payments("Invoice", 601).await.len(), 1);

    let (status, body) = operate(&s, id, "capture", json!({}), "cap-2").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_capturable")), "{body}");
    assert_eq!(s.fake.requests_to(Route::CaptureAuthorization).len(), 1);

    // The capture id was kept: the refund goes to the capture.
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");
    assert_eq!(s.fake.requests_to(Route::Refund).len(), 1);
}

#[tokio::test]
async fn a_partial_capture_sends_the_amount_and_bounds_the_refunds() {
    let s = PayPalScenario::start().await;
    let (id, _) = authorized(&s, "50.00", 602).await;
    let (status, body) = operate(&s, id, "capture", json!({ "amount": "30.00" }), "cap").await;
    assert_eq!((status, body["captured_minor"].as_i64()), (StatusCode::OK, Some(3000)), "{body}");
    let sent = &s.fake.requests_to(Route::CaptureAuthorization)[0];
    assert_eq!(
        serde_json::from_str::<Value>(&sent.body).unwrap(),
        json!({ "amount": { "currency_code": "USD", "value": "30.00" }, "final_capture": true })
    );
    let (status, body) = s.refund(id, json!({ "amount": "30.01" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
    );
    let (status, body) = s.refund(id, json!({ "amount": "30.00" })).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");
}

#[tokio::test]
async fn a_void_releases_the_authorization_and_nothing_is_captured_after() {
    let s = PayPalScenario::start().await;
    let (id, order_id) = authorized(&s, "12.00", 603).await;
    let (status, body) = operate(&s, id, "void", json!({}), "void").await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Cancelled")), "{body}");
    assert_eq!(s.fake.order(&order_id).authorization.unwrap().status, "VOIDED");
    let (status, body) = operate(&s, id, "capture", json!({}), "late").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_capturable")), "{body}");
    assert!(s.fake.requests_to(Route::CaptureAuthorization).is_empty());
    assert!(s.host.payments("Invoice", 603).await.is_empty());
}

#[tokio::test]
async fn an_approval_reported_by_webhook_or_found_by_sync_is_authorized_not_captured() {
    let s = PayPalScenario::start().await;
    let request = json!({
        "integration_id": s.integration_id, "amount": "9.00", "currency": "USD",
        "return_url": "https://erp.example/r", "capture": "manual",
    });
    // The webhook.
    let (_, answer) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&request)).await;
    let id = answer["transaction_id"].as_i64().unwrap();
    let order_id = s.order_id(id).await;
    s.fake.approve(&order_id);
    let event = s.fake.event("CHECKOUT.ORDER.APPROVED", "checkout-order", s.fake.order_resource(&order_id));
    let (status, body) = s.deliver(&event).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Authorized");
    assert!(s.fake.requests_to(Route::Capture).is_empty(), "an AUTHORIZE order is never captured as an order");
    // PayPal's own authorization event after it changes nothing.
    let event =
        s.fake.event("PAYMENT.AUTHORIZATION.CREATED", "authorization", s.fake.authorization_resource(&order_id));
    let (status, body) = s.deliver(&event).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(s.fake.requests_to(Route::Authorize).len(), 1);

    // The sync.
    let (_, answer) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&request)).await;
    let id = answer["transaction_id"].as_i64().unwrap();
    let order_id = s.order_id(id).await;
    s.fake.approve(&order_id);
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Authorized")), "{body}");
    // Voided at PayPal (the merchant's dashboard): the webhook says so.
    let (status, _) = operate(&s, id, "void", json!({}), "v").await;
    assert_eq!(status, StatusCode::OK);
    let event = s.fake.event("PAYMENT.AUTHORIZATION.VOIDED", "authorization", s.fake.authorization_resource(&order_id));
    s.deliver(&event).await;
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_captures_of_an_authorization_make_one() {
    let s = PayPalScenario::start().await;
    let (id, _) = authorized(&s, "25.00", 604).await;
    let captures =
        (0..6).map(|n| operate(&s, id, "capture", json!({}), Box::leak(format!("racer-{n}").into_boxed_str())));
    let answers = futures_util::future::join_all(captures).await;
    let captured =
        answers.iter().filter(|(status, body)| *status == StatusCode::OK && body["state"] == "Captured").count();
    assert_eq!(captured, 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(*status == StatusCode::OK || *status == StatusCode::CONFLICT, "{status}: {body}");
    }
    assert_eq!(s.fake.requests_to(Route::CaptureAuthorization).len(), 1);
    assert_eq!(s.host.payments("Invoice", 604).await.len(), 1);
}

#[tokio::test]
async fn a_pending_refund_counts_once_paypal_completes_it_and_a_failed_one_gives_its_amount_back() {
    let s = PayPalScenario::start().await;
    let (id, order_id) = s.captured("20.00", "USD", 605).await;
    s.fake.set_refund_outcome("PENDING");
    let (status, body) = s.refund(id, json!({ "amount": "5.00" })).await;
    assert_eq!(
        (status, body["refund_state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("pending"), Some("0.00")),
        "{body}"
    );
    s.fake.settle_latest_refund(&order_id, "COMPLETED");
    let event = s.fake.event("PAYMENT.CAPTURE.REFUNDED", "refund", s.fake.refund_resource(&order_id));
    let (status, body) = s.deliver(&event).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["refunded_amount"].as_str(), transaction["refunds"][0]["state"].as_str()),
        (Some("5.00"), Some("succeeded")),
        "{transaction}"
    );

    // The next one fails at PayPal; a sync finds it so, and its amount can be refunded again.
    let (status, body) = s.refund(id, json!({ "amount": "15.00" })).await;
    assert_eq!((status, body["refund_state"].as_str()), (StatusCode::OK, Some("pending")), "{body}");
    s.fake.settle_latest_refund(&order_id, "FAILED");
    let (status, body) = s.sync(id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["refunds"][1]["state"].as_str(), body["refunded_amount"].as_str()),
        (Some("failed"), Some("5.00")),
        "{body}"
    );
    s.fake.set_refund_outcome("COMPLETED");
    let (status, body) = s.refund(id, json!({ "amount": "15.00" })).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Refunded"), Some("20.00")),
        "{body}"
    );
}
