//! Redirect payments through Stripe Checkout: the session Stripe is asked for, capture by
//! webhook (also for delayed payment methods), expiry, the payer's return, sync and refunds.

use e2e::fake_stripe::Script;
use e2e::host::send;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{StripeScenario, SECRET_KEY};

fn outcomes(transaction: &serde_json::Value) -> Vec<String> {
    transaction["webhook_log"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn checkout_is_created_as_stripe_expects_and_captured_by_a_signed_webhook() {
    let s = StripeScenario::start().await;
    let answer = s.initiate("19.99", "Redirect", 42).await;
    assert_eq!(answer["integration_type"], "redirect");
    let reference = answer["reference"].as_str().unwrap();
    let id = answer["transaction_id"].as_i64().unwrap();

    // The gateway reference is the Checkout Session; the payer goes to its URL.
    let session_id = s.gateway_reference(id).await;
    let session = s.fake.session(&session_id);
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(answer["redirect_url"], session["url"]);

    // Stripe got a form-encoded request with exactly the Checkout parameters, the secret key
    // injected by the host and our reference as the idempotency key.
    let created = s.fake.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(created.len(), 1);
    let request = &created[0];
    assert_eq!(request.authorization(), Some(format!("Bearer {SECRET_KEY}").as_str()));
    assert_eq!(request.idempotency_key(), Some(reference));
    assert_eq!(request.content_type(), Some("application/x-www-form-urlencoded"));
    assert!(request.header("stripe-version").is_some(), "the API version is pinned");
    assert_eq!(
        request.stripe_params(),
        json!({
            "mode": "payment",
            "line_items": [{
                "price_data": { "currency": "usd", "unit_amount": "1999", "product_data": { "name": "Invoice 42" } },
                "quantity": "1",
            }],
            "success_url": format!("{}/api/online_payment/return?txn={reference}", s.host.url),
            "cancel_url": format!("{}/api/online_payment/cancel?txn={reference}", s.host.url),
            "client_reference_id": reference,
            "metadata": { "reference": reference },
        })
    );
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["state"].as_str(), transaction["amount_minor"].as_i64()), (Some("Pending"), Some(1999)));
    assert!(s.host.payments("Invoice", 42).await.is_empty());

    // The payer pays; Stripe reports the completed session.
    s.fake.pay_checkout(&session_id);
    let (status, body) = s.deliver("checkout.session.completed", s.fake.session(&session_id)).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Captured");
    assert_eq!(transaction["gateway_status"], "checkout.session.completed");
    assert_eq!(transaction["webhook_log"][0]["signature_valid"], true);
    assert_eq!(outcomes(&transaction), ["Pending → Captured"]);
    let payments = s.host.payments("Invoice", 42).await;
    assert_eq!(payments.len(), 1);
    assert_eq!((payments[0]["amount"].as_str(), payments[0]["reference"].as_str()), (Some("19.99"), Some(reference)));

    // Stripe delivers at least once: a redelivery changes nothing.
    let (status, _) = s.deliver("checkout.session.completed", s.fake.session(&session_id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.payments("Invoice", 42).await.len(), 1);
    let outcomes = outcomes(&s.host.transaction(id).await);
    assert!(outcomes[1].starts_with("duplicate"), "{outcomes:?}");
}

#[tokio::test]
async fn delayed_payments_wait_for_stripes_verdict_and_expired_sessions_are_cancelled() {
    let s = StripeScenario::start().await;

    // Completed but unpaid (a bank debit): Pending until the payment settles.
    let settles = s.initiate("50.00", "Redirect", 43).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(settles).await;
    s.fake.complete_checkout_unpaid(&session);
    let (status, _) = s.deliver("checkout.session.completed", s.fake.session(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(settles).await["state"], "Pending");
    assert!(s.host.payments("Invoice", 43).await.is_empty());
    s.fake.settle_checkout(&session, true);
    let (status, _) = s.deliver("checkout.session.async_payment_succeeded", s.fake.session(&session)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(settles).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["gateway_status"].as_str()),
        (Some("Captured"), Some("checkout.session.async_payment_succeeded"))
    );
    assert_eq!(s.host.payments("Invoice", 43).await.len(), 1);

    // The delayed payment fails.
    let fails = s.initiate("50.00", "Redirect", 44).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(fails).await;
    s.fake.complete_checkout_unpaid(&session);
    s.deliver("checkout.session.completed", s.fake.session(&session)).await;
    s.fake.settle_checkout(&session, false);
    let (status, _) = s.deliver("checkout.session.async_payment_failed", s.fake.session(&session)).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(fails).await;
    assert_eq!(transaction["state"], "Failed");
    assert!(transaction["error_message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(s.host.payments("Invoice", 44).await.is_empty());

    // The payer never pays: the session expires.
    let expires = s.initiate("5.00", "Redirect", 45).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(expires).await;
    s.fake.expire_checkout(&session);
    let (status, _) = s.deliver("checkout.session.expired", s.fake.session(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(expires).await["state"], "Cancelled");
}

#[tokio::test]
async fn the_return_asks_stripe_and_ignores_what_the_query_claims() {
    let s = StripeScenario::start().await;
    let answer = s.initiate("10.00", "Redirect", 1).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    let session = s.gateway_reference(id).await;

    // The query says "succeeded" and names another session; Stripe says the session is open.
    let location =
        s.payer_returns(&format!("txn={reference}&session_id=cs_test_forged&redirect_status=succeeded")).await;
    assert_eq!(location, format!("https://erp.example/portal/invoice/42?txn={reference}"));
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    assert_eq!(s.fake.requests_to("GET", &format!("/v1/checkout/sessions/{session}")).len(), 1);
    assert!(s.fake.requests_to("GET", "/v1/checkout/sessions/cs_test_forged").is_empty());

    s.fake.pay_checkout(&session);
    s.payer_returns(&format!("txn={reference}")).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 1).await.len(), 1);

    // Expired at Stripe: Cancelled, and the payer goes to the cancel URL.
    let answer = s.initiate("3.00", "Redirect", 2).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    s.fake.expire_checkout(&s.gateway_reference(id).await);
    let location = s.payer_returns(&format!("txn={reference}")).await;
    assert_eq!(location, format!("https://erp.example/portal/invoice/42?cancelled=1&txn={reference}"));
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");
}

#[tokio::test]
async fn sync_reads_the_session_when_the_webhook_was_lost() {
    let s = StripeScenario::start().await;
    let id = s.initiate("4.00", "Redirect", 30).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(id).await;
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Pending")));
    assert_eq!(s.fake.requests_to("GET", &format!("/v1/checkout/sessions/{session}")).len(), 1);
    let payment_intent = s.fake.pay_checkout(&session);
    let (status, body) = s.sync(id).await;
    assert_eq!(
        (status, body["state"].as_str(), body["gateway_status"].as_str()),
        (StatusCode::OK, Some("Captured"), Some("complete (paid)"))
    );
    assert_eq!(s.host.payments("Invoice", 30).await.len(), 1);

    // What sync learned (the session's PaymentIntent) is what a refund needs.
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");
    let refunds = s.fake.refunds();
    assert_eq!(
        (refunds[0]["payment_intent"].as_str(), refunds[0]["amount"].as_i64()),
        (Some(payment_intent.as_str()), Some(400))
    );
}

#[tokio::test]
async fn refunds_full_and_partial_reach_stripe_each_with_its_own_idempotency_key() {
    let s = StripeScenario::start().await;
    let (id, _, payment_intent) = s.captured_checkout("30.00", 11).await;

    let (status, body) = s.refund(id, json!({"amount": "10.50"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["success"].as_bool(), body["state"].as_str(), body["refunded_amount"].as_str()),
        (Some(true), Some("Captured"), Some("10.50"))
    );
    assert!(body["refund_reference"].as_str().unwrap().starts_with("re_"));
    let (status, body) = s.refund(id, json!({"amount": "19.50"})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Refunded"), Some("30.00")),
        "{body}"
    );

    let sent = s.fake.requests_to("POST", "/v1/refunds");
    assert_eq!(sent.len(), 2);
    let keys: Vec<_> = sent.iter().map(|r| r.idempotency_key().unwrap().to_string()).collect();
    assert_ne!(keys[0], keys[1], "two refunds, two keys");
    // The host's refund id is the key, and is kept in the refund's metadata for its events.
    for (request, (amount, key)) in sent.iter().zip([("1050", &keys[0]), ("1950", &keys[1])]) {
        assert_eq!(
            request.stripe_params(),
            json!({ "payment_intent": payment_intent, "amount": amount, "metadata": { "refund_id": key } })
        );
    }
    let refunded: i64 = s.fake.refunds().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(refunded, 3000);
    assert_eq!(s.fake.charge(&payment_intent)["refunded"], true);
}

#[tokio::test]
async fn a_refund_whose_answer_was_lost_is_not_made_twice_when_retried() {
    let s = StripeScenario::start().await;
    let (id, _, _) = s.captured_checkout("20.00", 13).await;

    // Stripe refunds, but the answer never arrives: the refund is in doubt.
    s.fake.script(Method::POST, "/v1/refunds", Script::LoseAnswer);
    let retried = || {
        s.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .header("Idempotency-Key", "erp-refund-13")
            .json(&json!({"amount": "5.00"}))
    };
    let (status, body) = send(retried()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")), "{body}");
    assert_eq!(s.host.transaction(id).await["refunded_minor"], 0);
    assert_eq!(s.fake.refunds().len(), 1);

    // The ERP retries with its Idempotency-Key: the same Stripe key makes Stripe answer with
    // the refund it already made.
    let (status, body) = send(retried()).await;
    assert_eq!(
        (status, body["success"].as_bool(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some(true), Some("5.00")),
        "{body}"
    );
    assert_eq!(s.fake.refunds().len(), 1, "Stripe refunded once");
    assert_eq!(body["refund_reference"], s.fake.refunds()[0]["id"]);
    let sent = s.fake.requests_to("POST", "/v1/refunds");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].idempotency_key(), sent[1].idempotency_key());
    assert_eq!(sent[0].body, sent[1].body);

    // The next refund of the same amount is a new refund.
    let (status, body) = s.refund(id, json!({"amount": "5.00"})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("10.00")), "{body}");
    assert_eq!(s.fake.refunds().len(), 2);
}

#[tokio::test]
async fn refunds_made_in_the_stripe_dashboard_reach_the_transaction() {
    let s = StripeScenario::start().await;
    let (id, _, payment_intent) = s.captured_checkout("40.00", 14).await;
    let charge = s.fake.refund_in_dashboard(&payment_intent, 1500);
    let (status, body) = s.deliver("charge.refunded", charge).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Captured"), Some("15.00"))
    );
    let charge = s.fake.refund_in_dashboard(&payment_intent, 2500);
    s.deliver("charge.refunded", charge).await;
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Refunded"), Some("40.00"))
    );

    // An Embedded JS payment: the charge names the PaymentIntent, which is the gateway reference.
    let (id, payment_intent) = s.captured_intent("8.00", 15).await;
    let charge = s.fake.refund_in_dashboard(&payment_intent, 800);
    let (status, body) = s.deliver("charge.refunded", charge).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Refunded");
}
