//! Refunds Stripe completes later (contract 1.1's refund states): a refund Stripe answers
//! `pending` is booked pending and not counted as refunded; `refund.updated` (or a sync) moves
//! it to succeeded, counting it, or to failed, giving its amount back to what can be refunded.
//! The charge's `amount_refunded`, which counts pending refunds, never counts them early.

use super::*;
use e2e::host::send;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn refunds(transaction: &Value) -> Vec<(String, i64)> {
    transaction["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["state"].as_str().unwrap().to_string(), r["amount_minor"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_pending_refund_counts_once_it_succeeds() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.captured_intent("20.00", 401).await;
    s.fake.refunds_pending(true);
    let (status, body) = s.refund(id, json!({"amount": "5.00"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["success"].as_bool(), body["refund_state"].as_str()), (Some(true), Some("pending")), "{body}");
    assert_eq!((body["refunded_amount"].as_str(), body["state"].as_str()), (Some("0.00"), Some("Captured")));
    let transaction = s.host.transaction(id).await;
    assert_eq!(refunds(&transaction), [("pending".to_string(), 500)]);

    // Stripe's charge.refunded counts the pending refund already: the host does not.
    let charge = s.fake.charge(&payment_intent);
    assert_eq!(charge["amount_refunded"], 500);
    s.deliver("charge.refunded", charge).await;
    assert_eq!(s.host.transaction(id).await["refunded_minor"], 0);
    // What is left counts it, though: 15.00 more at most.
    let (status, body) = s.refund(id, json!({"amount": "15.01"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
    );

    let refund_id = s.fake.refunds()[0]["id"].as_str().unwrap().to_string();
    let refund = s.fake.settle_refund(&refund_id, true);
    let (status, body) = s.deliver("refund.updated", refund.clone()).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["refunded_amount"].as_str(), transaction["state"].as_str()),
        (Some("5.00"), Some("Captured"))
    );
    assert_eq!(refunds(&transaction), [("succeeded".to_string(), 500)]);
    // Again (Stripe retries its webhooks): counted once.
    s.deliver("refund.updated", refund).await;
    assert_eq!(s.host.transaction(id).await["refunded_minor"], 500);
}

#[tokio::test]
async fn a_pending_refund_that_fails_gives_its_amount_back() {
    let s = StripeScenario::start().await;
    let (id, _) = s.captured_intent("30.00", 402).await;
    s.fake.refunds_pending(true);
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["refund_state"].as_str()), (StatusCode::OK, Some("pending")), "{body}");
    let (status, body) = s.refund(id, json!({"amount": "0.01"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "all of it is pending: {body}");

    let refund_id = s.fake.refunds()[0]["id"].as_str().unwrap().to_string();
    let refund = s.fake.settle_refund(&refund_id, false);
    s.deliver("refund.updated", refund).await;
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["state"].as_str(), transaction["refunded_minor"].as_i64()), (Some("Captured"), Some(0)));
    let listed = &transaction["refunds"][0];
    assert_eq!(listed["state"], "failed");
    assert!(listed["error_message"].as_str().unwrap().contains("expired_or_canceled_card"), "{listed}");
    let (_, page) = send(s.host.admin(Method::GET, "/api/events?limit=100")).await;
    let failed: Vec<&Value> =
        page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "refund.failed").collect();
    assert_eq!(failed.len(), 1, "{page}");
    assert_eq!(
        (failed[0]["data"]["transaction_id"].as_i64(), failed[0]["data"]["amount_minor"].as_i64()),
        (Some(id), Some(3000))
    );
    assert!(
        page["events"].as_array().unwrap().iter().all(|e| e["type"] != "refund.created"),
        "a refund that never succeeded is never announced as made"
    );

    // The amount is back: it can be refunded again, and this time it succeeds at once.
    s.fake.refunds_pending(false);
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Refunded"), Some("30.00")),
        "{body}"
    );
    assert_eq!(refunds(&s.host.transaction(id).await), [("failed".to_string(), 3000), ("succeeded".to_string(), 3000)]);
}

#[tokio::test]
async fn a_lost_refund_webhook_is_made_up_by_sync() {
    let s = StripeScenario::start().await;
    let (id, _, _) = s.captured_checkout("8.00", 403).await;
    s.fake.refunds_pending(true);
    let (status, body) = s.refund(id, json!({"amount": "3.00"})).await;
    assert_eq!((status, body["refund_state"].as_str()), (StatusCode::OK, Some("pending")), "{body}");
    let (status, body) = s.sync(id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refunds(&body), [("pending".to_string(), 300)], "still pending at Stripe");

    let refund_id = s.fake.refunds()[0]["id"].as_str().unwrap().to_string();
    s.fake.settle_refund(&refund_id, true);
    let (status, body) = s.sync(id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refunds(&body), [("succeeded".to_string(), 300)]);
    assert_eq!(body["refunded_amount"], "3.00");
}

#[tokio::test]
async fn a_refund_event_of_another_integration_settles_nothing() {
    let s = StripeScenario::start().await;
    let (id, _) = s.captured_intent("6.00", 404).await;
    s.fake.refunds_pending(true);
    s.refund(id, json!({})).await;
    let refund_id = s.fake.refunds()[0]["id"].as_str().unwrap().to_string();
    let refund = s.fake.settle_refund(&refund_id, true);

    // The same event delivered to another company's Stripe integration finds nothing there.
    let other = s.host.enabled_integration(e2e::host::ADMIN_KEY, 2, "payment_stripe", credentials()).await;
    let body = s.fake.event("refund.updated", refund);
    let signature = s.fake.signature_header(&body, e2e::fake_stripe::unix_now());
    let (status, answer) = e2e::host::send(
        s.host
            .public(reqwest::Method::POST, &format!("/payment/webhook/{other}"))
            .header("content-type", "application/json")
            .header("Stripe-Signature", signature)
            .body(body),
    )
    .await;
    assert_eq!((status, answer["matched"].as_i64()), (StatusCode::OK, Some(0)), "{answer}");
    assert_eq!(refunds(&s.host.transaction(id).await), [("pending".to_string(), 600)]);
}
