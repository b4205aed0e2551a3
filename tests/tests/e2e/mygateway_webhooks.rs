//! Webhook verification and idempotency: duplicates and races create one Payment and one
//! state change; bad, missing or unverifiable signatures change nothing.

use e2e::host::send;
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn pending_payment(s: &MyGatewayScenario, document_id: i64) -> (i64, String) {
    let id = s.initiate(json!("12.34"), "Redirect", document_id).await["transaction_id"].as_i64().unwrap();
    (id, s.session_id(id).await)
}

fn outcomes(transaction: &serde_json::Value) -> Vec<String> {
    transaction["webhook_log"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_same_webhook_five_times_makes_one_payment() {
    let s = MyGatewayScenario::start().await;
    let (id, session_id) = pending_payment(&s, 50).await;
    for _ in 0..5 {
        let (status, _) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(s.host.payments("Invoice", 50).await.len(), 1);
    let transaction = s.host.transaction(id).await;
    let outcomes = outcomes(&transaction);
    assert_eq!(outcomes.len(), 5);
    assert_eq!(outcomes.iter().filter(|o| *o == "Pending → Captured").count(), 1);
    assert_eq!(outcomes.iter().filter(|o| o.starts_with("duplicate")).count(), 4);
}

#[tokio::test]
async fn twenty_concurrent_deliveries_make_one_payment_and_one_state_change() {
    let s = MyGatewayScenario::start().await;
    let (id, session_id) = pending_payment(&s, 51).await;
    let deliveries = (0..20).map(|_| s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)));
    for (status, body) in join_all(deliveries).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(s.host.payments("Invoice", 51).await.len(), 1);
    let outcomes = outcomes(&s.host.transaction(id).await);
    assert_eq!(outcomes.len(), 20);
    assert_eq!(outcomes.iter().filter(|o| *o == "Pending → Captured").count(), 1, "{outcomes:?}");
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_change_nothing() {
    let s = MyGatewayScenario::start().await;
    let (id, session_id) = pending_payment(&s, 52).await;

    let (status, body) = s.deliver("payment.completed", &session_id, Some("not-the-secret")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_signature")));
    let (status, _) = s.deliver("payment.completed", &session_id, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A valid signature over a different body.
    let signed = json!({ "type": "payment.failed", "data": { "payment_id": session_id } }).to_string();
    let mut request = s.host.public(Method::POST, &format!("/payment/webhook/{}", s.integration_id));
    request = request.header("X-MyGateway-Signature", e2e::hmac_sha256_hex(WEBHOOK_SECRET, signed.as_bytes()));
    let tampered = json!({ "type": "payment.completed", "data": { "payment_id": session_id } }).to_string();
    let (status, _) = send(request.body(tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Pending");
    assert!(s.host.payments("Invoice", 52).await.is_empty());

    let (status, body) = send(s.host.public(Method::POST, "/payment/webhook/999").body("{}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn without_a_webhook_secret_every_webhook_is_refused() {
    let s = MyGatewayScenario::start().await;
    let (id, session_id) = pending_payment(&s, 53).await;
    let (status, _) = send(
        s.host
            .admin(Method::PUT, &format!("/api/integrations/{}/credentials", s.integration_id))
            .json(&json!({ "mygateway_webhook_secret": null })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An empty signature computed with an empty key is refused too.
    let (status, _) = s.deliver("payment.completed", &session_id, Some("")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
}

#[tokio::test]
async fn failure_and_refund_events_follow_the_state_machine() {
    let s = MyGatewayScenario::start().await;
    let (failed, session) = pending_payment(&s, 54).await;
    let body = json!({ "type": "payment.failed", "data": { "payment_id": session, "error_message": "Card declined" } })
        .to_string();
    let (status, _) = s.deliver_raw(body, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(failed).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["error_message"].as_str()),
        (Some("Failed"), Some("Card declined"))
    );
    assert!(s.host.payments("Invoice", 54).await.is_empty());
    // A cancel after the failure changes nothing; money reported later is never ignored.
    let (status, _) = s.deliver("payment.cancelled", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!((status, s.host.transaction(failed).await["state"].as_str()), (StatusCode::OK, Some("Failed")));
    let (status, _) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(failed).await;
    assert_eq!((transaction["state"].as_str(), transaction["error_message"].as_str()), (Some("Captured"), None));
    s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(s.host.payments("Invoice", 54).await.len(), 1, "one Payment, however often it is said");

    // The payer clicked cancel, then paid at the gateway after all.
    let (cancelled, session) = pending_payment(&s, 56).await;
    let reference = s.host.transaction(cancelled).await["reference"].as_str().unwrap().to_string();
    let (status, _) = send(s.host.public(Method::GET, &format!("/api/online_payment/cancel?txn={reference}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(s.host.transaction(cancelled).await["state"], "Cancelled");
    s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(s.host.transaction(cancelled).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 56).await.len(), 1);

    let (refunded, session) = pending_payment(&s, 55).await;
    // Refunded before Captured is not a forward move: ignored (and answered 200, so the
    // gateway does not retry it).
    let (status, _) = s.deliver("payment.refunded", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(refunded).await["state"], "Pending");
    assert_eq!(s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await.0, StatusCode::OK);
    assert_eq!(s.deliver("payment.refunded", &session, Some(WEBHOOK_SECRET)).await.0, StatusCode::OK);
    let transaction = s.host.transaction(refunded).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Refunded"), Some("12.34"))
    );
    // An unknown event is accepted and changes nothing.
    let (status, _) = s.deliver("payment.disputed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(refunded).await["state"], "Refunded");
}
