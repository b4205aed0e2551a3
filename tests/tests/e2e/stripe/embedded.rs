//! Embedded JS payments through a PaymentIntent: what Stripe is asked for, the client
//! configuration, the intent's events, the return and sync.

use reqwest::StatusCode;
use serde_json::json;

use super::{StripeScenario, PUBLISHABLE_KEY, SECRET_KEY};

#[tokio::test]
async fn embedded_js_creates_a_payment_intent_and_hands_out_its_client_secret() {
    let s = StripeScenario::start().await;
    let answer = s.initiate_in(json!(25), "EUR", "Embedded JS", 7).await;
    assert_eq!(answer["integration_type"], "embedded_js");
    let reference = answer["reference"].as_str().unwrap();
    let payment_intent = s.gateway_reference(answer["transaction_id"].as_i64().unwrap()).await;
    let intent = s.fake.intent(&payment_intent);
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(
        answer["client_config"],
        json!({
            "publishable_key": PUBLISHABLE_KEY,
            "client_secret": intent["client_secret"],
            "js_url": "https://js.stripe.com/v3/",
        })
    );

    // Only what the flow needs, in Stripe's units and lower-case currency.
    let created = s.fake.requests_to("POST", "/v1/payment_intents");
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].stripe_params(),
        json!({ "amount": "2500", "currency": "eur", "metadata": { "reference": reference } })
    );
    assert_eq!(created[0].idempotency_key(), Some(reference));
    assert_eq!(created[0].authorization(), Some(format!("Bearer {SECRET_KEY}").as_str()));
    assert_eq!(s.fake.session_count(), 0);
}

#[tokio::test]
async fn payment_intent_events_drive_embedded_transactions() {
    let s = StripeScenario::start().await;

    // Succeeded: Captured, one Payment however often Stripe says so.
    let (captured, payment_intent) = s.captured_intent("12.00", 20).await;
    let (status, _) = s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.payments("Invoice", 20).await.len(), 1);
    assert_eq!(s.host.transaction(captured).await["gateway_status"], "payment_intent.succeeded");

    // Authorized first (manual capture), captured later.
    let id = s.initiate("30.00", "Embedded JS", 21).await["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    s.fake.set_intent_status(&payment_intent, "requires_capture");
    let (status, _) = s.deliver("payment_intent.amount_capturable_updated", s.fake.intent(&payment_intent)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(id).await["state"], "Authorized");
    assert!(s.host.payments("Invoice", 21).await.is_empty());
    s.fake.succeed_intent(&payment_intent);
    s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 21).await.len(), 1);

    // Declined: the payer may try another card on the same intent, so Pending, with Stripe's
    // message for the payer; the next card succeeds: Captured, one Payment, no stale message.
    let id = s.initiate("9.00", "Embedded JS", 22).await["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    s.fake.decline_intent(&payment_intent, "Your card has insufficient funds.");
    let (status, _) = s.deliver("payment_intent.payment_failed", s.fake.intent(&payment_intent)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["error_message"].as_str()),
        (Some("Pending"), Some("Your card has insufficient funds."))
    );
    s.fake.decline_intent(&payment_intent, "Your card was declined.");
    s.deliver("payment_intent.payment_failed", s.fake.intent(&payment_intent)).await;
    assert_eq!(s.host.transaction(id).await["error_message"], "Your card was declined.", "the latest decline");
    s.fake.succeed_intent(&payment_intent);
    let (status, _) = s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["state"].as_str(), transaction["error_message"].as_str()), (Some("Captured"), None));
    assert_eq!(s.host.payments("Invoice", 22).await.len(), 1);

    // Cancelled.
    let id = s.initiate("9.00", "Embedded JS", 23).await["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    s.fake.set_intent_status(&payment_intent, "canceled");
    s.deliver("payment_intent.canceled", s.fake.intent(&payment_intent)).await;
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");

    // The PaymentIntent of a Checkout Session carries none of our references; the provider
    // knows it from the session's completion (its mapper), so its events reach the same
    // transaction and, reporting what the session did, change nothing.
    let (checkout, _, checkout_intent) = s.captured_checkout("6.00", 24).await;
    let before = s.host.transaction(checkout).await;
    let (status, body) = s.deliver("payment_intent.succeeded", s.fake.intent(&checkout_intent)).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)));
    let after = s.host.transaction(checkout).await;
    assert_eq!(
        (after["state"].as_str(), &after["gateway_reference"]),
        (Some("Captured"), &before["gateway_reference"])
    );
    let log = after["webhook_log"].as_array().unwrap();
    assert!(log.last().unwrap()["outcome"].as_str().unwrap().starts_with("duplicate"), "{log:?}");
    assert_eq!(s.host.payments("Invoice", 24).await.len(), 1);
}

#[tokio::test]
async fn the_return_and_sync_read_the_payment_intent() {
    let s = StripeScenario::start().await;
    let answer = s.initiate("15.00", "Embedded JS", 25).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    let payment_intent = s.gateway_reference(id).await;

    // Stripe.js sends the payer back with the intent in the query; the query proves nothing.
    let location = s
        .payer_returns(&format!(
            "txn={reference}&payment_intent={payment_intent}&payment_intent_client_secret=x&redirect_status=succeeded"
        ))
        .await;
    assert_eq!(location, format!("https://erp.example/portal/invoice/42?txn={reference}"));
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    assert_eq!(s.fake.requests_to("GET", &format!("/v1/payment_intents/{payment_intent}")).len(), 1);

    s.fake.set_intent_status(&payment_intent, "requires_capture");
    let (status, body) = s.sync(id).await;
    assert_eq!(
        (status, body["state"].as_str(), body["gateway_status"].as_str()),
        (StatusCode::OK, Some("Authorized"), Some("requires_capture"))
    );

    s.fake.succeed_intent(&payment_intent);
    s.payer_returns(&format!("txn={reference}")).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 25).await.len(), 1);

    // A full refund goes to the intent.
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");
    let sent = &s.fake.requests_to("POST", "/v1/refunds")[0];
    let key = sent.idempotency_key().unwrap();
    assert_eq!(
        sent.stripe_params(),
        json!({ "payment_intent": payment_intent, "amount": "1500", "metadata": { "refund_id": key } })
    );
}
