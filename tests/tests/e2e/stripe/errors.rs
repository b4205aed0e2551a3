//! Stripe refusing, failing, hanging and asking for a retry; idempotency of initiate.

use e2e::fake_stripe::{FakeStripe, Script};
use e2e::host::send;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{StripeScenario, SECRET_KEY, WEBHOOK_SECRET};

/// The initiate failed: returns the Failed transaction after checking the answer.
pub(crate) async fn failed_initiate(
    s: &StripeScenario,
    answer: (StatusCode, Value),
    status: StatusCode,
    code: &str,
) -> Value {
    let (answer_status, body) = answer;
    assert_eq!((answer_status, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(transaction["state"], "Failed");
    assert_eq!(transaction["reference"], body["error"]["reference"]);
    assert_eq!(transaction["error_message"], body["error"]["message"]);
    transaction
}

#[tokio::test]
async fn stripe_errors_at_initiate_leave_a_failed_transaction_with_stripes_message() {
    let s = StripeScenario::start().await;
    let cases = [
        (
            Script::Refuse {
                status: 400,
                kind: "invalid_request_error",
                code: "amount_too_small",
                message: "Amount must convert to at least 50 cents. $0.30 converts to approximately €0.28.".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "gateway_refused",
            "Stripe: Amount must convert to at least 50 cents. $0.30 converts to approximately €0.28.",
        ),
        (
            Script::Refuse {
                status: 402,
                kind: "card_error",
                code: "card_declined",
                message: "Your card was declined.".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "gateway_refused",
            "Stripe: Your card was declined.",
        ),
        (
            Script::Refuse {
                status: 429,
                kind: "invalid_request_error",
                code: "rate_limit",
                message: "Too many requests hit the API too quickly.".into(),
            },
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "Stripe: Too many requests hit the API too quickly.",
        ),
        (
            Script::Refuse {
                status: 500,
                kind: "api_error",
                code: "api_error",
                message: "An unknown error occurred".into(),
            },
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "Stripe: An unknown error occurred",
        ),
    ];
    for (n, (script, status, code, message)) in cases.into_iter().enumerate() {
        s.fake.script(Method::POST, "/v1/checkout/sessions", script);
        let answer = s.initiate_raw(json!("0.30"), "USD", "Redirect", 100 + n as i64).await;
        let transaction = failed_initiate(&s, answer, status, code).await;
        assert_eq!(transaction["error_message"], message);
    }
    // A 5xx without Stripe's body still names Stripe and the status.
    s.fake.script(Method::POST, "/v1/payment_intents", Script::LoseAnswer);
    let answer = s.initiate_raw(json!("1.00"), "USD", "Embedded JS", 110).await;
    let transaction = failed_initiate(&s, answer, StatusCode::BAD_GATEWAY, "gateway_error").await;
    assert_eq!(transaction["error_message"], "Stripe is unavailable; try again later. (HTTP 502)");
}

#[tokio::test]
async fn a_refused_api_key_is_reported_without_revealing_it() {
    let s = StripeScenario::start().await;
    let wrong = "sk_test_51WrongKeyPastedHere98765";
    let (status, _) = send(
        s.host
            .admin(Method::PUT, &format!("/api/integrations/{}/credentials", s.integration_id))
            .json(&json!({ "stripe_secret_key": wrong })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = s.initiate_raw(json!("5.00"), "USD", "Redirect", 120).await;
    let transaction = failed_initiate(&s, answer, StatusCode::UNPROCESSABLE_ENTITY, "gateway_refused").await;
    let message = transaction["error_message"].as_str().unwrap();
    assert!(message.starts_with("Stripe: Invalid API Key provided"), "{message}");
    assert!(!message.contains(&wrong[8..]) && !message.contains("8765"), "{message}");
    assert_eq!(
        s.fake.requests_to("POST", "/v1/checkout/sessions")[0].authorization(),
        Some(format!("Bearer {wrong}").as_str())
    );
}

#[tokio::test]
async fn a_stripe_that_never_answers_fails_the_payment_cleanly() {
    let s = StripeScenario::start().await;
    // The host gives an outbound request 15 s; the manifest gives the call 20 s, so the
    // provider itself reports the timeout.
    s.fake.script(Method::POST, "/v1/checkout/sessions", Script::Hang);
    let answer = s.initiate_raw(json!("3.00"), "USD", "Redirect", 130).await;
    let transaction = failed_initiate(&s, answer, StatusCode::BAD_GATEWAY, "gateway_error").await;
    assert_eq!(transaction["error_message"], "Stripe did not answer in time.");
    // Nothing was retried (the request may have reached Stripe), and the next payment works.
    assert_eq!(s.fake.requests_to("POST", "/v1/checkout/sessions").len(), 1);
    s.initiate("3.00", "Redirect", 131).await;
}

#[tokio::test]
async fn a_retry_stripe_asks_for_reuses_the_idempotency_key() {
    let s = StripeScenario::start().await;
    s.fake.script(Method::POST, "/v1/checkout/sessions", Script::RetryableFailure);
    let answer = s.initiate("7.00", "Redirect", 140).await;
    let sent = s.fake.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sent.len(), 2, "Stripe-Should-Retry: true is honoured once");
    for request in &sent {
        assert_eq!(request.idempotency_key(), answer["reference"].as_str());
        assert_eq!(request.body, sent[0].body);
    }
    assert_eq!(s.fake.session_count(), 1);

    // A plain 5xx is not retried by the provider.
    s.fake.set_outage(Some((503, "Service unavailable")));
    let (status, _) = s.initiate_raw(json!("7.00"), "USD", "Redirect", 141).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(s.fake.requests_to("POST", "/v1/checkout/sessions").len(), 3);
}

#[tokio::test]
async fn a_retried_initiate_creates_one_stripe_object() {
    let s = StripeScenario::start().await;
    for (kind, key) in [("Redirect", "order-77-redirect"), ("Embedded JS", "order-77-embedded")] {
        let request = json!({
            "integration_id": s.integration_id, "amount": "77.00", "currency": "USD",
            "return_url": "https://erp.example/r", "integration_type": kind,
        });
        let post = || {
            s.host
                .admin(Method::POST, "/api/online_payment/initiate")
                .header("Idempotency-Key", key)
                .json(&request)
                .send()
        };
        let first = post().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let again = post().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(first, again);
    }
    assert_eq!(s.fake.session_count(), 1);
    assert_eq!(s.fake.intent_count(), 1);
    assert_eq!(s.fake.requests().len(), 2);
}

#[tokio::test]
async fn the_fake_keeps_stripes_idempotency_rules() {
    // What the provider's keys rely on: same key and parameters replay, other parameters fail.
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let (status, first, replayed) = fake.post_direct("/v1/payment_intents", "key-1", "amount=500&currency=usd").await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{first}");
    let (status, again, replayed) = fake.post_direct("/v1/payment_intents", "key-1", "amount=500&currency=usd").await;
    assert_eq!((status, replayed, &again["id"]), (StatusCode::OK, true, &first["id"]));
    let (status, other, _) = fake.post_direct("/v1/payment_intents", "key-1", "amount=600&currency=usd").await;
    assert_eq!((status, other["error"]["type"].as_str()), (StatusCode::BAD_REQUEST, Some("idempotency_error")));
    assert_eq!(fake.intent_count(), 1);
    let (status, unknown, _) =
        fake.post_direct("/v1/payment_intents", "key-2", "amount=500&currency=usd&colour=blue").await;
    assert_eq!(
        (status, unknown["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Received unknown parameter: colour"))
    );
}

#[tokio::test]
async fn refund_and_sync_failures_change_nothing() {
    let s = StripeScenario::start().await;
    let (id, _, _) = s.captured_checkout("8.00", 150).await;
    s.fake.script(
        Method::POST,
        "/v1/refunds",
        Script::Refuse {
            status: 400,
            kind: "invalid_request_error",
            code: "charge_disputed",
            message: "Charge ch_1 has been charged back; cannot issue a refund.".into(),
        },
    );
    let (status, body) = s.refund(id, json!({"amount": "2.00"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["success"].as_bool(), body["error_message"].as_str()),
        (Some(false), Some("Stripe: Charge ch_1 has been charged back; cannot issue a refund."))
    );
    // A 5xx may come after Stripe refunded: the refund is in doubt and keeps counting.
    s.fake.set_outage(Some((503, "Service unavailable")));
    let (status, body) = s.refund(id, json!({"amount": "2.00"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")));
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")));
    s.fake.set_outage(None);
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["refunded_minor"].as_i64(), transaction["state"].as_str()), (Some(0), Some("Captured")));
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("6.00")), "{body}");
    // Stripe reports no refund total: reconciliation repeats the refund in doubt under its own
    // key; Stripe never ran it, so it is made now, once.
    let report = s.host.app.reconcile_refunds().await.unwrap();
    assert_eq!(report.booked, 1, "{report:?}");
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["refunded_amount"].as_str(), transaction["state"].as_str()),
        (Some("8.00"), Some("Refunded"))
    );
    let at_stripe: i64 = s.fake.refunds().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!((s.fake.refunds().len(), at_stripe), (2, 800));
}
