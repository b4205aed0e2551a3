//! Stripe webhook signatures (`Stripe-Signature: t=…,v1=…`), unknown events, and hosts named
//! in event bodies.

use e2e::fake_stripe::{sign, unix_now};
use e2e::host::send;
use e2e::test_servers::{ConnectionCounter, OnConnect};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{StripeScenario, WEBHOOK_SECRET};

/// A paid Checkout Session whose transaction is still Pending; returns (id, event body).
async fn paid_but_unreported(s: &StripeScenario, document_id: i64) -> (i64, String) {
    let id = s.initiate("12.34", "Redirect", document_id).await["transaction_id"].as_i64().unwrap();
    let session = s.gateway_reference(id).await;
    s.fake.pay_checkout(&session);
    (id, s.fake.event("checkout.session.completed", s.fake.session(&session)))
}

#[tokio::test]
async fn only_a_fresh_v1_signature_with_the_signing_secret_is_accepted() {
    let s = StripeScenario::start().await;
    let (id, body) = paid_but_unreported(&s, 52).await;
    let now = unix_now();
    let v1 = |secret: &str, t: u64| sign(secret, t, &body);
    let refused = [
        ("wrong secret", format!("t={now},v1={}", v1("whsec_not_the_secret", now))),
        ("older than 300 s", format!("t={},v1={}", now - 400, v1(WEBHOOK_SECRET, now - 400))),
        ("v0 only", format!("t={now},v0={}", v1(WEBHOOK_SECRET, now))),
        ("signed for another timestamp", format!("t={now},v1={}", v1(WEBHOOK_SECRET, now - 1))),
        ("no timestamp", format!("v1={}", v1(WEBHOOK_SECRET, now))),
        ("timestamp not a number", format!("t=soon,v1={}", v1(WEBHOOK_SECRET, now))),
        ("two timestamps", format!("t={now},t={now},v1={}", v1(WEBHOOK_SECRET, now))),
        ("no v1", format!("t={now}")),
        ("garbage", "sha256=deadbeef".to_string()),
        ("empty", String::new()),
    ];
    for (case, header) in refused {
        let (status, answer) = s.deliver_raw(body.clone(), Some(header)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_signature")),
            "{case}: {answer}"
        );
    }
    let (status, _) = s.deliver_raw(body.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no header");
    // A valid signature over another body.
    let tampered = body.replace("\"paid\"", "\"unpaid\"");
    assert_ne!(tampered, body);
    let (status, _) = s.deliver_raw(tampered, Some(s.fake.signature_header(&body, now))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "tampered body");
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    assert!(s.host.payments("Invoice", 52).await.is_empty());

    // During a secret roll Stripe signs with both secrets: one matching v1 is enough, and a
    // v0 beside it is ignored.
    let header = format!(
        "t={now},v1={},v1={},v0={}",
        v1("whsec_the_old_secret", now),
        v1(WEBHOOK_SECRET, now),
        v1("whsec_legacy", now)
    );
    let (status, answer) = s.deliver_raw(body.clone(), Some(header)).await;
    assert_eq!((status, answer["matched"].as_i64()), (StatusCode::OK, Some(1)), "{answer}");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");

    // Four minutes late is within Stripe's tolerance.
    let (late, body) = paid_but_unreported(&s, 53).await;
    let t = now - 240;
    let (status, answer) =
        s.deliver_raw(body.clone(), Some(format!("t={t},v1={}", sign(WEBHOOK_SECRET, t, &body)))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(s.host.transaction(late).await["state"], "Captured");
}

#[tokio::test]
async fn without_a_signing_secret_every_webhook_is_refused() {
    let s = StripeScenario::start().await;
    let (id, body) = paid_but_unreported(&s, 54).await;
    let (status, _) = send(
        s.host
            .admin(Method::PUT, &format!("/api/integrations/{}/credentials", s.integration_id))
            .json(&json!({ "stripe_webhook_secret": null })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let signature = s.fake.signature_header(&body, unix_now());
    let (status, _) = s.deliver_raw(body.clone(), Some(signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let now = unix_now();
    let (status, _) = s.deliver_raw(body.clone(), Some(format!("t={now},v1={}", sign("", now, &body)))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed with an empty key");
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
}

#[tokio::test]
async fn unknown_events_are_acknowledged_and_change_nothing() {
    let s = StripeScenario::start().await;
    let (id, _) = paid_but_unreported(&s, 55).await;
    let reference = s.host.transaction(id).await["reference"].clone();
    for (kind, object) in [
        ("customer.created", json!({ "id": "cus_1", "object": "customer", "metadata": { "reference": reference } })),
        (
            "payment_intent.processing",
            json!({ "id": "pi_1", "object": "payment_intent", "status": "processing",
                    "metadata": { "reference": reference } }),
        ),
    ] {
        let (status, body) = s.deliver(kind, object).await;
        assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(0)), "{kind}: {body}");
    }
    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Pending");
    assert!(transaction["webhook_log"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn hosts_named_in_an_event_are_never_contacted() {
    let s = StripeScenario::start().await;
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let elsewhere = server.url.clone();

    let id = s.initiate("9.00", "Redirect", 60).await["transaction_id"].as_i64().unwrap();
    let session_id = s.gateway_reference(id).await;
    s.fake.pay_checkout(&session_id);
    // A (validly signed) event whose URL and PaymentIntent point somewhere else.
    let mut session = s.fake.session(&session_id);
    session["url"] = format!("{elsewhere}/pay").into();
    session["payment_intent"] = format!("{elsewhere}/v1/payment_intents/pi_1").into();
    let (status, body) = s.deliver("checkout.session.completed", session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");

    // The refund names that "PaymentIntent" to Stripe, as a parameter: Stripe refuses it.
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    assert!(body["error_message"].as_str().unwrap().starts_with("Stripe: No such payment_intent"), "{body}");
    let (status, _) = s.sync(id).await;
    assert_eq!(status, StatusCode::OK);

    // Every request went to Stripe's API; the other host saw nothing. (Each call above has
    // completed, so a connection it made would already have been counted.)
    assert!(s.fake.requests().iter().all(|r| r.path.starts_with("/v1/")));
    assert_eq!(server.connections(), 0);
}
