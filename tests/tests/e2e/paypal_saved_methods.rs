//! PayPal's saved methods (contract 1.1) as Vault v3: a payment started with
//! `save_payment_method` asks PayPal to vault the payer's account on success; the vault token
//! is kept sealed and listed by label; a merchant-initiated charge is an order paid with the
//! token, completed at once; deleting it deletes the token at PayPal.

use e2e::fake_paypal::Route;
use e2e::host::send;
use e2e::paypal_scenario::PayPalScenario;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A payment for contact `P-1` that asked to save the method, approved and captured; returns
/// (transaction id, PayPal order id).
async fn paid_and_vaulted(s: &PayPalScenario, document_id: i64) -> (i64, String) {
    let (status, answer) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "15.00", "currency": "USD",
        "document_model": "Invoice", "document_id": document_id,
        "return_url": "https://erp.example/portal/invoice/42", "save_payment_method": true,
        "contact": { "id": "P-1", "email": "buyer@example.com" },
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["transaction_id"].as_i64().unwrap();
    let order_id = s.order_id(id).await;
    let created: Value = serde_json::from_str(&s.fake.requests_to(Route::CreateOrder).last().unwrap().body).unwrap();
    assert_eq!(
        created["payment_source"]["paypal"]["attributes"]["vault"],
        json!({ "store_in_vault": "ON_SUCCESS", "usage_type": "MERCHANT", "customer_type": "CONSUMER" })
    );
    s.fake.approve(&order_id);
    s.payer_returns(answer["reference"].as_str().unwrap(), &order_id).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    (id, order_id)
}

async fn methods(s: &PayPalScenario) -> Value {
    let (status, body) = send(s.host.admin(Method::GET, "/api/online_payment/payment_methods?contact_id=P-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn charge(s: &PayPalScenario, method_id: i64, key: &str) -> (StatusCode, Value) {
    send(s.host.admin(Method::POST, "/api/online_payment/charge").header("Idempotency-Key", key).json(&json!({
        "payment_method_id": method_id, "amount": "9.99", "currency": "USD",
        "document_model": "Subscription", "document_id": 3,
    })))
    .await
}

#[tokio::test]
async fn a_vaulted_account_is_charged_by_its_token_once_per_key() {
    let s = PayPalScenario::start().await;
    let (_, order_id) = paid_and_vaulted(&s, 701).await;
    let listed = methods(&s).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["label"], "PayPal (buyer@example.com)");
    let token = s.fake.order(&order_id).vault_id.unwrap();
    assert!(!listed.to_string().contains(&token), "the vault token is never shown");

    let method_id = listed[0]["id"].as_i64().unwrap();
    let (status, charged) = charge(&s, method_id, "monthly-1").await;
    assert_eq!((status, charged["state"].as_str()), (StatusCode::CREATED, Some("Captured")), "{charged}");
    let sent: Value = serde_json::from_str(&s.fake.requests_to(Route::CreateOrder).last().unwrap().body).unwrap();
    assert_eq!(sent["payment_source"], json!({ "paypal": { "vault_id": token } }), "{sent}");
    assert_eq!(sent["purchase_units"][0]["amount"], json!({ "currency_code": "USD", "value": "9.99" }));
    assert_eq!(s.host.payments("Subscription", 3).await.len(), 1);

    let orders = s.fake.orders().len();
    let (status, again) = charge(&s, method_id, "monthly-1").await;
    assert_eq!((status, again["id"].as_i64()), (StatusCode::CREATED, charged["id"].as_i64()));
    assert_eq!(s.fake.orders().len(), orders, "no second order");

    // The charge's capture is refundable like any other.
    let (status, body) = s.refund(charged["id"].as_i64().unwrap(), json!({})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");
}

#[tokio::test]
async fn a_declined_token_fails_the_charge_and_a_deleted_one_is_gone_at_paypal() {
    let s = PayPalScenario::start().await;
    let (_, order_id) = paid_and_vaulted(&s, 702).await;
    let token = s.fake.order(&order_id).vault_id.unwrap();
    let method_id = methods(&s).await[0]["id"].as_i64().unwrap();
    s.fake.decline_token(&token);
    let (status, body) = charge(&s, method_id, "declined").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")),
        "{body}"
    );
    assert_eq!(s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await["state"], "Failed");

    let (status, _) =
        send(s.host.admin(Method::DELETE, &format!("/api/online_payment/payment_methods/{method_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!s.fake.token_active(&token), "deleted at PayPal");
    assert_eq!(s.fake.requests_to(Route::DeleteToken).len(), 1);
    assert_eq!(methods(&s).await, json!([]));
}
