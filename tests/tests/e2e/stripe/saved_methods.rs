//! Saved payment methods on Stripe (contract 1.1): a payment started with
//! `save_payment_method` sets `setup_future_usage=off_session` on the contact's customer; the
//! method Stripe attached is kept per company and contact (label and expiry only, the token
//! sealed); a merchant-initiated charge confirms a PaymentIntent off session; deleting it
//! detaches the PaymentMethod.

use e2e::host::send;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::StripeScenario;

/// Pays an Embedded JS payment for contact `C-7` that asked to save the method; returns
/// (transaction id, PaymentIntent id).
async fn paid_and_saved(s: &StripeScenario, document_id: i64) -> (i64, String) {
    let (status, answer) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "20.00", "currency": "USD",
        "document_model": "Invoice", "document_id": document_id,
        "return_url": "https://erp.example/portal/invoice/42", "integration_type": "Embedded JS",
        "save_payment_method": true, "contact": { "id": "C-7", "name": "Ada Lovelace", "email": "ada@example.com" },
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["transaction_id"].as_i64().unwrap();
    let payment_intent = s.gateway_reference(id).await;
    let params = s.fake.requests_to("POST", "/v1/payment_intents").last().unwrap().stripe_params();
    assert_eq!(params["setup_future_usage"], "off_session", "{params}");
    assert!(params["customer"].as_str().unwrap().starts_with("cus_"), "{params}");
    s.fake.succeed_intent(&payment_intent);
    let (status, body) = s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (id, payment_intent)
}

async fn methods(s: &StripeScenario, query: &str) -> Value {
    let (status, body) = send(s.host.admin(Method::GET, &format!("/api/online_payment/payment_methods?{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn charge(s: &StripeScenario, method_id: i64, amount: &str, key: &str) -> (StatusCode, Value) {
    send(
        s.host
            .admin(Method::POST, "/api/online_payment/charge")
            .header("Idempotency-Key", key)
            .json(&json!({ "payment_method_id": method_id, "amount": amount, "currency": "USD",
                           "document_model": "Subscription", "document_id": 9 })),
    )
    .await
}

fn event_types(page: &Value) -> Vec<String> {
    page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_saved_method_is_listed_by_contact_and_charged_without_the_payer() {
    let s = StripeScenario::start().await;
    let (paid, payment_intent) = paid_and_saved(&s, 501).await;
    let listed = methods(&s, "contact_id=C-7").await;
    let method = &listed[0];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!((method["label"].as_str(), method["expires"].as_str()), (Some("Visa •••• 4242"), Some("2030-12")));
    assert_eq!((method["contact_id"].as_str(), method["transaction_id"].as_i64()), (Some("C-7"), Some(paid)));
    let text = listed.to_string();
    assert!(!text.contains("pm_") && !text.contains("cus_"), "no gateway id is shown: {text}");
    assert_eq!(methods(&s, "contact_id=C-8").await, json!([]));
    // The same event again saves nothing twice.
    s.deliver("payment_intent.succeeded", s.fake.intent(&payment_intent)).await;
    assert_eq!(methods(&s, "").await.as_array().unwrap().len(), 1);

    let method_id = method["id"].as_i64().unwrap();
    let (status, charged) = charge(&s, method_id, "7.50", "renewal-1").await;
    assert_eq!((status, charged["state"].as_str()), (StatusCode::CREATED, Some("Captured")), "{charged}");
    assert_eq!((charged["amount"].as_str(), charged["payment_method_id"].as_i64()), (Some("7.50"), Some(method_id)));
    let sent = s.fake.requests_to("POST", "/v1/payment_intents").last().unwrap().stripe_params();
    let saved_method = s.fake.intent(&payment_intent)["payment_method"].as_str().unwrap().to_string();
    assert_eq!(
        (sent["off_session"].as_str(), sent["confirm"].as_str(), sent["payment_method"].as_str()),
        (Some("true"), Some("true"), Some(saved_method.as_str())),
        "{sent}"
    );
    assert_eq!(s.host.payments("Subscription", 9).await.len(), 1);

    // A retry with the key answers the same transaction and charges nothing more.
    let intents = s.fake.intent_count();
    let (status, again) = charge(&s, method_id, "7.50", "renewal-1").await;
    assert_eq!((status, again["id"].as_i64()), (StatusCode::CREATED, charged["id"].as_i64()), "{again}");
    assert_eq!(s.fake.intent_count(), intents);
    assert_eq!(s.host.payments("Subscription", 9).await.len(), 1);
}

#[tokio::test]
async fn a_declined_off_session_charge_fails_its_transaction_with_the_banks_message() {
    let s = StripeScenario::start().await;
    let (_, payment_intent) = paid_and_saved(&s, 502).await;
    let method_id = methods(&s, "").await[0]["id"].as_i64().unwrap();
    s.fake.decline_off_session(s.fake.intent(&payment_intent)["payment_method"].as_str().unwrap());
    let (status, body) = charge(&s, method_id, "3.00", "renewal-2").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("Your card was declined."), "{body}");
    let failed = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(failed["state"], "Failed");
    assert!(s.host.payments("Subscription", 9).await.is_empty());
}

#[tokio::test]
async fn deleting_a_method_detaches_it_at_stripe_and_only_its_company_may() {
    let s = StripeScenario::start().await;
    let (_, payment_intent) = paid_and_saved(&s, 503).await;
    let method_id = methods(&s, "").await[0]["id"].as_i64().unwrap();
    let stripe_method = s.fake.intent(&payment_intent)["payment_method"].as_str().unwrap().to_string();

    let other = s.host.company_key(2).await;
    let path = format!("/api/online_payment/payment_methods/{method_id}");
    let (status, _) = send(s.host.as_key(&other, Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another company's method does not exist for it");
    let (_, theirs) = send(s.host.as_key(&other, Method::GET, "/api/online_payment/payment_methods")).await;
    assert_eq!(theirs, json!([]));
    let (status, body) = send(s.host.as_key(&other, Method::POST, "/api/online_payment/charge").json(&json!({
        "payment_method_id": method_id, "amount": "1.00", "currency": "USD"
    })))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, _) = send(s.host.admin(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(s.fake.payment_method(&stripe_method)["customer"].is_null(), "detached at Stripe");
    assert_eq!(methods(&s, "").await, json!([]));
    let (status, _) = send(s.host.admin(Method::DELETE, &path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = send(s.host.admin(Method::GET, "/api/events?limit=100")).await;
    let types = event_types(&page);
    assert!(
        types.contains(&"payment_method.saved".into()) && types.contains(&"payment_method.deleted".into()),
        "{types:?}"
    );
}

#[tokio::test]
async fn a_method_is_kept_only_when_the_erp_asked_and_named_the_contact() {
    let s = StripeScenario::start().await;
    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "5.00", "currency": "USD",
        "return_url": "https://erp.example/x", "save_payment_method": true, "contact": { "name": "No Id" },
    })))
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_contact")),
        "{body}"
    );

    // A payment that did not ask: even an event claiming a saved method keeps nothing.
    let (id, payment_intent) = s.captured_intent("4.00", 504).await;
    let mut intent = s.fake.intent(&payment_intent);
    intent["setup_future_usage"] = "off_session".into();
    intent["customer"] = "cus_0000000000000099Qx".into();
    intent["payment_method"] = "pm_0000000000000099Qx".into();
    s.deliver("payment_intent.succeeded", intent).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(methods(&s, "").await, json!([]));
}
