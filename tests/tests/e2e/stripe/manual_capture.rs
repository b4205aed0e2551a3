//! Contract 1.1's manual capture on Stripe: `capture_method=manual`, the authorization
//! reported by `payment_intent.amount_capturable_updated`, then `POST …/capture` (whole or
//! partial: `amount_to_capture`) or `…/void` (PaymentIntent cancel), each once.

use super::*;
use e2e::host::send;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_full_capture_captures_once_and_makes_the_payment() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.authorized_intent("40.00", 301).await;
    let sent = &s.fake.requests_to("POST", "/v1/payment_intents")[0];
    assert_eq!(sent.stripe_params()["capture_method"], "manual", "{:?}", sent.stripe_params());
    assert!(s.host.payments("Invoice", 301).await.is_empty(), "authorized is not paid");

    let (status, body) = s.operate(id, "capture", json!({}), Some("cap-1")).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");
    assert_eq!((body["captured_amount"].as_str(), body["capture"].as_str()), (Some("40.00"), Some("manual")));
    let captures = s.fake.requests_to("POST", &format!("/v1/payment_intents/{payment_intent}/capture"));
    assert_eq!(captures.len(), 1);
    assert_eq!(captures[0].stripe_params(), json!({}), "no amount_to_capture: the whole amount");
    assert_eq!(s.fake.intent(&payment_intent)["status"], "succeeded");
    assert_eq!(s.host.payments("Invoice", 301).await.len(), 1);
    // Written with the change: the ERP hears of the authorization and of the capture.
    let (_, page) = send(s.host.admin(Method::GET, "/api/events?limit=100")).await;
    let moves: Vec<(String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transaction.state_changed" && e["data"]["transaction_id"] == id)
        .map(|e| (e["data"]["from"].as_str().unwrap().to_string(), e["data"]["to"].as_str().unwrap().to_string()))
        .collect();
    assert!(moves.contains(&("Pending".into(), "Authorized".into())), "{moves:?}");
    assert!(moves.contains(&("Authorized".into(), "Captured".into())), "{moves:?}");
    assert!(page["events"].as_array().unwrap().iter().any(|e| e["type"] == "payment.created"));

    // The same key again answers the same, sending nothing.
    let (status, again) = s.operate(id, "capture", json!({}), Some("cap-1")).await;
    assert_eq!((status, again["state"].as_str()), (StatusCode::OK, Some("Captured")));
    // A second capture is refused, and reaches no gateway.
    let (status, body) = s.operate(id, "capture", json!({}), Some("cap-2")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_capturable")), "{body}");
    assert_eq!(s.fake.requests_to("POST", &format!("/v1/payment_intents/{payment_intent}/capture")).len(), 1);
    // Stripe's own event of the capture, arriving after, changes nothing.
    s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(s.host.payments("Invoice", 301).await.len(), 1);
}

#[tokio::test]
async fn a_partial_capture_releases_the_rest_and_bounds_the_refunds() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.authorized_intent("50.00", 302).await;
    let (status, body) = s.operate(id, "capture", json!({"amount": "30.25"}), None).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");
    assert_eq!((body["captured_amount"].as_str(), body["captured_minor"].as_i64()), (Some("30.25"), Some(3025)));
    let captures = s.fake.requests_to("POST", &format!("/v1/payment_intents/{payment_intent}/capture"));
    assert_eq!(captures[0].stripe_params(), json!({ "amount_to_capture": "3025" }));
    let payments = s.host.payments("Invoice", 302).await;
    assert_eq!(payments[0]["amount_minor"], 3025, "the Payment is what was captured");

    // Only what was captured can be refunded: all of it is 30.25.
    let (status, body) = s.refund(id, json!({"amount": "30.26"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
    );
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Refunded"), Some("30.25")),
        "{body}"
    );
}

#[tokio::test]
async fn captures_beyond_the_authorization_or_of_unauthorized_payments_are_refused() {
    let s = StripeScenario::start().await;
    let (id, _) = s.authorized_intent("10.00", 303).await;
    for (body, code) in [
        (json!({"amount": "10.01"}), "capture_exceeds_amount"),
        (json!({"amount": "0"}), "invalid_amount"),
        (json!({"amount": "1.001"}), "invalid_amount"),
    ] {
        let (status, answer) = s.operate(id, "capture", body.clone(), None).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}: {answer}"
        );
    }
    let (status, body) = s.operate(id, "capture", json!({"amount": "1", "extra": true}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Authorized", "nothing changed");

    // An automatic payment not yet paid is not Authorized: nothing to capture.
    let pending = s.initiate("5.00", "Embedded JS", 304).await["transaction_id"].as_i64().unwrap();
    let (status, body) = s.operate(pending, "capture", json!({}), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_capturable")));
    assert!(s.fake.requests().iter().all(|r| !r.path.ends_with("/capture")), "no capture reached Stripe");
}

#[tokio::test]
async fn a_void_cancels_the_authorization_and_a_capture_after_it_is_refused() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.authorized_intent("12.00", 305).await;
    let (status, body) = s.operate(id, "void", json!(null), Some("void-1")).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Cancelled")), "{body}");
    assert_eq!(s.fake.intent(&payment_intent)["status"], "canceled");
    assert_eq!(s.fake.requests_to("POST", &format!("/v1/payment_intents/{payment_intent}/cancel")).len(), 1);

    let (status, body) = s.operate(id, "capture", json!({}), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_capturable")), "{body}");
    let (status, body) = s.operate(id, "void", json!({}), Some("void-2")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_voidable")), "{body}");
    assert!(s.fake.requests().iter().all(|r| !r.path.ends_with("/capture")));
    assert!(s.host.payments("Invoice", 305).await.is_empty());
    // Stripe's cancel event, after, changes nothing.
    s.deliver("payment_intent.canceled", s.fake.intent(&payment_intent)).await;
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_captures_make_one() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.authorized_intent("25.00", 306).await;
    let captures = (0..8).map(|n| {
        let request = s
            .host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/capture"))
            .header("Idempotency-Key", format!("racer-{n}"))
            .json(&json!({}));
        send(request)
    });
    let answers = futures_util::future::join_all(captures).await;
    let captured =
        answers.iter().filter(|(status, body)| *status == StatusCode::OK && body["state"] == "Captured").count();
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::OK
                || (*status == StatusCode::CONFLICT
                    && matches!(body["error"]["code"].as_str(), Some("not_capturable" | "operation_in_progress"))),
            "{status}: {body}"
        );
    }
    assert_eq!(captured, 1, "{answers:?}");
    assert_eq!(s.fake.requests_to("POST", &format!("/v1/payment_intents/{payment_intent}/capture")).len(), 1);
    assert_eq!(s.host.payments("Invoice", 306).await.len(), 1);
}

#[tokio::test]
async fn a_checkout_authorization_is_found_by_its_intent_and_by_sync() {
    let s = StripeScenario::start().await;
    let id = s.initiate_manual("18.00", "Redirect", 307).await["transaction_id"].as_i64().unwrap();
    let session_id = s.gateway_reference(id).await;
    let sent = &s.fake.requests_to("POST", "/v1/checkout/sessions")[0].stripe_params();
    assert_eq!(sent["payment_intent_data"]["capture_method"], "manual", "{sent}");
    let payment_intent = s.fake.authorize_checkout(&session_id);
    // The session completes unpaid (an authorization is not a payment)…
    s.deliver("checkout.session.completed", s.fake.session(&session_id)).await;
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    // …and sync reads the intent behind it: Authorized.
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Authorized")), "{body}");
    let (status, body) = s.operate(id, "capture", json!({"amount": "10.00"}), None).await;
    assert_eq!(
        (status, body["state"].as_str(), body["captured_minor"].as_i64()),
        (StatusCode::OK, Some("Captured"), Some(1000)),
        "{body}"
    );
    assert_eq!(s.fake.intent(&payment_intent)["amount_received"], 1000);
}

#[tokio::test]
async fn a_refused_capture_keeps_the_authorization_and_a_module_without_manual_capture_is_refused() {
    let s = StripeScenario::start().await;
    let (id, payment_intent) = s.authorized_intent("9.00", 308).await;
    // Stripe says the authorization expired (it lasts 7 days).
    s.fake.set_intent_status(&payment_intent, "canceled");
    let (status, body) = s.operate(id, "capture", json!({}), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("operation_failed")),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("status of canceled"), "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Authorized", "the gateway's refusal changes no state");
    // The failed capture is closed: another may be tried (and sync tells the truth).
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Cancelled")), "{body}");
}
