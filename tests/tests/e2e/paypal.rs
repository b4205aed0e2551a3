//! PayPal end to end: the real host on 127.0.0.1 with the real `payment_paypal` component
//! (contract 1.1.0: the host obtains and keeps the OAuth token), pointed at a fake PayPal
//! speaking PayPal's wire format (`e2e::fake_paypal`).

use std::path::Path;

use e2e::fake_gateway::{FakeServer, RequestLog};
use e2e::fake_paypal::{paypal_error, Fault, Route, AUTH_ALGO, CERT_URL};
use e2e::host::{send, ADMIN_KEY};
use e2e::paypal_scenario::{PayPalScenario, CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID};
use e2e::{logs, WASM_DIR};
use integrations_host::capabilities::SCRUB_MARKER as REDACTED;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn outcomes(transaction: &Value) -> Vec<String> {
    transaction["webhook_log"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap().to_string()).collect()
}

/// A server on 127.0.0.1 that answers a certificate to anything and records every request:
/// nothing should ever call it.
async fn trap() -> (String, RequestLog) {
    let server = FakeServer::bind().await;
    let (url, hits) = (server.url.clone(), server.requests.clone());
    server.serve(axum::Router::new().fallback(|| async { "-----BEGIN CERTIFICATE-----" }));
    (url, hits)
}

/// Every `href` in `value` replaced by `url`.
fn point_links_at(value: &mut Value, url: &str) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "href" {
                    *item = json!(format!("{url}/stolen"));
                } else {
                    point_links_at(item, url);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| point_links_at(item, url)),
        _ => {}
    }
}

#[tokio::test]
async fn redirect_payment_is_created_approved_and_captured_on_return() {
    let s = PayPalScenario::start().await;
    let answer = s.initiate(json!("19.99"), "USD", 42).await;
    assert_eq!(answer["integration_type"], "redirect");
    let id = answer["transaction_id"].as_i64().unwrap();
    let reference = answer["reference"].as_str().unwrap();
    let order_id = s.order_id(id).await;

    // The order PayPal got: intent, amount as a decimal string, our reference, our URLs.
    let order = s.fake.order(&order_id);
    assert_eq!((order.intent.as_str(), order.currency.as_str(), order.value.as_str()), ("CAPTURE", "USD", "19.99"));
    assert_eq!((order.custom_id.as_deref(), order.invoice_id.as_deref()), (Some(reference), Some(reference)));
    assert_eq!(order.return_url, Some(format!("{}/api/online_payment/return?txn={reference}", s.host.url)));
    assert_eq!(order.cancel_url, Some(format!("{}/api/online_payment/cancel?txn={reference}", s.host.url)));
    assert_eq!(order.status, "PAYER_ACTION_REQUIRED");
    assert_eq!(answer["redirect_url"], format!("https://www.sandbox.paypal.com/checkoutnow?token={order_id}"));
    let created = s.fake.requests_to(Route::CreateOrder);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].header("paypal-request-id"), Some(reference));
    let token = s.fake.issued_tokens()[0].clone();
    assert_eq!(created[0].header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(created[0].json()["purchase_units"][0]["amount"], json!({"currency_code": "USD", "value": "19.99"}));
    assert_eq!(s.host.transaction(id).await["state"], "Pending");

    // The payer approves at PayPal and comes back; we capture.
    s.fake.approve(&order_id);
    let response = s.payer_returns(reference, &order_id).await;
    assert_eq!(
        response.headers()["location"],
        format!("https://erp.example/portal/invoice/42?txn={reference}").as_str()
    );
    let captures = s.fake.requests_to(Route::Capture);
    assert_eq!(captures.len(), 1);
    assert_eq!(captures[0].path, format!("/v2/checkout/orders/{order_id}/capture"));
    assert_eq!(captures[0].header("paypal-request-id"), Some(format!("capture-{order_id}").as_str()));
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["gateway_status"].as_str()),
        (Some("Captured"), Some("COMPLETED"))
    );
    let payments = s.host.payments("Invoice", 42).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount"], "19.99");
    assert_eq!(s.fake.order(&order_id).capture.unwrap().status, "COMPLETED");
}

#[tokio::test]
async fn a_return_before_approval_stays_pending_and_the_query_never_picks_the_order() {
    let s = PayPalScenario::start().await;
    let (id, reference, order_id) = s.pending("10.00", 1).await;

    // Back without approving (PayPal answers ORDER_NOT_APPROVED): still Pending.
    s.payer_returns(&reference, &order_id).await;
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    assert!(s.fake.order(&order_id).capture.is_none());

    // A return naming someone else's order still captures this transaction's own order.
    let other = s.fake.foreign_approved_order("99.00");
    s.fake.approve(&order_id);
    s.payer_returns(&reference, &other).await;
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert!(s.fake.order(&other).capture.is_none(), "the foreign order was not touched");
    let captures = s.fake.requests_to(Route::Capture);
    assert!(captures.iter().all(|r| r.path == format!("/v2/checkout/orders/{order_id}/capture")));
    // The refusal from before the approval is what PayPal answers to its request id again;
    // the capture after approval goes through under a request id of its own.
    let ids: Vec<_> = captures.iter().map(|r| r.header("paypal-request-id").unwrap()).collect();
    assert_eq!(
        ids,
        vec![format!("capture-{order_id}"), format!("capture-{order_id}"), format!("capture-{order_id}-approved")]
    );
    assert_eq!(s.host.payments("Invoice", 1).await.len(), 1);
}

#[tokio::test]
async fn pending_and_declined_captures_map_to_pending_and_failed() {
    let s = PayPalScenario::start().await;
    let (pending, reference, order_id) = s.pending("12.00", 2).await;
    s.fake.approve(&order_id);
    s.fake.set_capture_outcome(&order_id, "PENDING");
    s.payer_returns(&reference, &order_id).await;
    let transaction = s.host.transaction(pending).await;
    assert_eq!(transaction["state"], "Pending");
    assert!(s.host.payments("Invoice", 2).await.is_empty());
    // PayPal clears it later: a sync reads the order and its capture.
    s.fake.set_capture_status(&order_id, "COMPLETED");
    let (status, body) = s.sync(pending).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");

    let (declined, reference, order_id) = s.pending("13.00", 3).await;
    s.fake.approve(&order_id);
    s.fake.set_capture_outcome(&order_id, "DECLINED");
    let response = s.payer_returns(&reference, &order_id).await;
    assert_eq!(
        response.headers()["location"],
        format!("https://erp.example/portal/invoice/42?cancelled=1&txn={reference}").as_str()
    );
    let transaction = s.host.transaction(declined).await;
    assert_eq!(transaction["state"], "Failed");
    assert_eq!(transaction["error_message"], "PayPal declined the payment: DECLINED.");

    // A 422 INSTRUMENT_DECLINED answer to the capture fails the payment with PayPal's words.
    let (refused, reference, order_id) = s.pending("14.00", 4).await;
    s.fake.approve(&order_id);
    s.fake.set_capture_outcome(&order_id, "INSTRUMENT_DECLINED");
    s.payer_returns(&reference, &order_id).await;
    let transaction = s.host.transaction(refused).await;
    assert_eq!(transaction["state"], "Failed");
    let message = transaction["error_message"].as_str().unwrap();
    assert!(
        message.starts_with("PayPal: The instrument presented was either declined")
            && message.contains("INSTRUMENT_DECLINED"),
        "{message}"
    );
}

#[tokio::test]
async fn an_order_already_captured_is_read_back_instead() {
    let s = PayPalScenario::start().await;
    let (id, reference, order_id) = s.pending("25.00", 5).await;
    s.fake.approve(&order_id);
    s.fake.capture_out_of_band(&order_id);
    s.payer_returns(&reference, &order_id).await;

    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Captured");
    assert_eq!(s.fake.requests_to(Route::Capture).len(), 1);
    let reads = s.fake.requests_to(Route::GetOrder);
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].path, format!("/v2/checkout/orders/{order_id}"));
    // The capture id read back is the one refunds go to.
    let (status, body) = s.refund(id, json!({})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let capture_id = s.fake.order(&order_id).capture.unwrap().id;
    assert_eq!(s.fake.requests_to(Route::Refund)[0].path, format!("/v2/payments/captures/{capture_id}/refund"));
}

#[tokio::test]
async fn enabling_checks_the_credentials_with_paypal() {
    let s = PayPalScenario::start().await;
    let token = &s.fake.requests_to(Route::Token)[0];
    assert_eq!(token.body, "grant_type=client_credentials");
    assert_eq!(token.header("content-type"), Some("application/x-www-form-urlencoded"));
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(token.header("authorization"), Some(format!("Basic {basic}").as_str()));

    let (status, body) = send(s.host.admin(Method::POST, "/api/integrations").json(&json!({
        "company_id": 1, "module": "payment_paypal", "name": "PayPal with a wrong secret",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other = body["id"].as_i64().unwrap();
    let enable = || send(s.host.admin(Method::POST, &format!("/api/integrations/{other}/enable")));
    let credentials =
        |value: Value| send(s.host.admin(Method::PUT, &format!("/api/integrations/{other}/credentials")).json(&value));

    credentials(json!({"paypal_client_secret": CLIENT_SECRET})).await;
    let (status, body) = enable().await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["message"], "Please enter your PayPal Client ID.");

    credentials(json!({"paypal_client_id": CLIENT_ID, "paypal_client_secret": "not-the-secret-value"})).await;
    let before = s.fake.token_requests();
    let (status, body) = enable().await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["message"], "PayPal refused the Client ID and Secret: Client Authentication failed");
    assert_eq!(s.fake.token_requests(), before + 1);
    let (_, shown) = send(s.host.admin(Method::GET, &format!("/api/integrations/{other}"))).await;
    assert_eq!(shown["state"], "Installed", "a refused enable leaves it as it was");

    credentials(json!({"paypal_client_secret": CLIENT_SECRET})).await;
    let (status, body) = enable().await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");
}

#[tokio::test]
async fn one_token_serves_many_calls_and_is_renewed_when_it_expires() {
    let s = PayPalScenario::start().await;
    assert_eq!(s.fake.token_requests(), 1, "enabling fetched one token");
    let (id, _, order_id) = s.pending("1.00", 6).await;
    s.pending("2.00", 7).await;
    s.fake.approve(&order_id);
    let (status, _) = s.sync(id).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.refund(id, json!({"amount": "0.50"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.fake.token_requests(), 1, "every call reused the cached token");
    let first = s.fake.issued_tokens()[0].clone();
    assert!(s
        .fake
        .requests()
        .iter()
        .filter(|r| r.paypal_route() != Some(Route::Token))
        .all(|r| r.header("authorization") == Some(format!("Bearer {first}").as_str())));

    // The token's lifetime passes at PayPal: the next call is refused once, renews, and
    // repeats its request with the same PayPal-Request-Id.
    s.fake.advance_clock(32_400);
    let answer = s.initiate(json!("3.00"), "USD", 8).await;
    assert_eq!(s.fake.token_requests(), 2);
    let creates = s.fake.requests_to(Route::CreateOrder);
    let (refused, retried) = (&creates[creates.len() - 2], &creates[creates.len() - 1]);
    assert_eq!(refused.header("paypal-request-id"), answer["reference"].as_str());
    assert_eq!(retried.header("paypal-request-id"), answer["reference"].as_str());
    let second = s.fake.issued_tokens()[1].clone();
    assert_eq!(retried.header("authorization"), Some(format!("Bearer {second}").as_str()));
    assert_eq!(s.fake.orders().len(), 3);
    s.pending("4.00", 9).await;
    assert_eq!(s.fake.token_requests(), 2, "the renewed token is cached again");

    // A token PayPal says lives less than the safety margin is never reused.
    s.fake.set_token_lifetime(45);
    s.fake.advance_clock(32_400);
    s.pending("5.00", 10).await;
    s.pending("6.00", 11).await;
    assert_eq!(s.fake.token_requests(), 4);
}

#[tokio::test]
async fn companies_do_not_share_tokens_and_enabling_needs_no_second_token() {
    let s = PayPalScenario::start().await;
    let enabled = s.fake.requests_to(Route::ListWebhooks);
    assert_eq!(enabled.len(), 1, "enabling made one authenticated call");
    let first = s.fake.issued_tokens()[0].clone();
    assert_eq!(enabled[0].header("authorization"), Some(format!("Bearer {first}").as_str()));

    // Another company's integration on the same PayPal app gets a token of its own.
    let credentials = json!({"paypal_client_id": CLIENT_ID, "paypal_client_secret": CLIENT_SECRET});
    s.host.enabled_integration(ADMIN_KEY, 2, "payment_paypal", credentials).await;
    assert_eq!(s.fake.token_requests(), 2);
    let second = s.fake.issued_tokens()[1].clone();
    assert_ne!(first, second);
    assert_eq!(
        s.fake.requests_to(Route::ListWebhooks)[1].header("authorization"),
        Some(format!("Bearer {second}").as_str())
    );

    // Enabling again uses the kept token.
    let (status, _) = send(s.host.admin(Method::POST, &format!("/api/integrations/{}/enable", s.integration_id))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.fake.token_requests(), 2);
}

#[tokio::test]
async fn an_access_token_paypal_echoes_never_reaches_the_provider() {
    let s = PayPalScenario::start().await;
    s.fake.fault(Route::CreateOrder, Fault::EchoAuthorization(400), 1);
    let (status, body) = s.try_initiate(json!("1.00"), "USD", 120).await;
    let token = s.fake.issued_tokens()[0].clone();
    assert_eq!(
        s.fake.requests_to(Route::CreateOrder)[0].header("authorization"),
        Some(format!("Bearer {token}").as_str()),
        "PayPal got the token"
    );
    let expected =
        format!("PayPal: The request carried Authorization: Bearer {REDACTED} (ECHOED, debug id f2a6c5e4b1d07)");
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(expected.as_str()))
    );
    let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(transaction["error_message"], expected);
    assert!(!body.to_string().contains(&token) && !transaction.to_string().contains(&token));
}

#[tokio::test]
async fn refunds_full_and_partial_reach_paypal_as_it_expects() {
    let s = PayPalScenario::start().await;
    let (full, order_id) = s.captured("20.00", "USD", 10).await;
    let (status, body) = s.refund(full, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["success"].as_bool(), body["state"].as_str(), body["refunded_amount"].as_str()),
        (Some(true), Some("Refunded"), Some("20.00"))
    );
    let capture = s.fake.order(&order_id).capture.unwrap();
    assert_eq!(capture.status, "REFUNDED");
    assert_eq!(body["refund_reference"], capture.refunds[0].id.as_str());
    let sent = &s.fake.requests_to(Route::Refund)[0];
    assert_eq!(sent.path, format!("/v2/payments/captures/{}/refund", capture.id));
    assert_eq!(sent.json(), json!({}), "a full refund names no amount");
    let full_reference = s.host.transaction(full).await["reference"].as_str().unwrap().to_string();

    let (partial, order_id) = s.captured("30.00", "USD", 11).await;
    let (status, body) = s.refund(partial, json!({"amount": "10.5"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["state"].as_str(), body["refunded_amount"].as_str()), (Some("Captured"), Some("10.50")));
    let (status, body) = s.refund(partial, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["state"].as_str(), body["refunded_amount"].as_str()), (Some("Refunded"), Some("30.00")));
    let sent = s.fake.requests_to(Route::Refund);
    assert_eq!(sent[1].json(), json!({"amount": {"currency_code": "USD", "value": "10.50"}}));
    assert_eq!(
        sent[2].json(),
        json!({"amount": {"currency_code": "USD", "value": "19.50"}}),
        "the rest of a partly refunded capture is named"
    );
    let ids: Vec<_> = sent.iter().map(|r| r.header("paypal-request-id").unwrap().to_string()).collect();
    assert!(ids[0].starts_with(&full_reference), "{ids:?}");
    assert_ne!(ids[1], ids[2], "each refund has its own request id");
    let capture = s.fake.order(&order_id).capture.unwrap();
    assert_eq!((capture.status.as_str(), capture.refunds.len()), ("REFUNDED", 2));

    // PayPal refusing a refund: success false with PayPal's words, nothing changes.
    let (refused, _) = s.captured("8.00", "USD", 12).await;
    s.fake.fault(
        Route::Refund,
        Fault::Answer(
            422,
            paypal_error(
                "UNPROCESSABLE_ENTITY",
                "The requested action could not be performed.",
                "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK",
                "Refunds not allowed on this capture due to a chargeback on the card or bank.",
            ),
        ),
        1,
    );
    let (status, body) = s.refund(refused, json!({"amount": "2.00"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    let message = body["error_message"].as_str().unwrap();
    assert!(
        message.contains("Refunds not allowed on this capture due to a chargeback")
            && message.contains("REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK"),
        "{message}"
    );
    assert_eq!(s.host.transaction(refused).await["refunded_minor"], 0);
}

#[tokio::test]
async fn a_refund_retried_after_lost_answers_is_made_once() {
    let s = PayPalScenario::start().await;
    let (id, order_id) = s.captured("40.00", "USD", 13).await;
    // PayPal refunds but both answers (the provider's own retry included) are lost.
    s.fake.fault(Route::Refund, Fault::LoseAnswer, 2);
    let retried = || {
        s.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .header("Idempotency-Key", "erp-refund-13")
            .json(&json!({"amount": "15.00"}))
    };
    let (status, body) = send(retried()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")), "{body}");
    assert_eq!(s.host.transaction(id).await["refunded_minor"], 0);
    // The ERP retries with the same Idempotency-Key: PayPal recognises the request id and
    // answers with the same refund.
    let (status, body) = send(retried()).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let sent = s.fake.requests_to(Route::Refund);
    assert_eq!(sent.len(), 3);
    let first_id = sent[0].header("paypal-request-id").unwrap();
    assert!(sent.iter().all(|r| r.header("paypal-request-id") == Some(first_id)));
    let capture = s.fake.order(&order_id).capture.unwrap();
    assert_eq!(capture.refunds.len(), 1, "PayPal refunded once");
    assert_eq!(body["refund_reference"], capture.refunds[0].id.as_str());
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["refunded_amount"].as_str(), transaction["state"].as_str()),
        (Some("15.00"), Some("Captured"))
    );
}

#[tokio::test]
async fn a_capture_whose_answers_were_lost_is_completed_by_sync_without_a_second_capture() {
    let s = PayPalScenario::start().await;
    let (id, reference, order_id) = s.pending("18.00", 14).await;
    s.fake.approve(&order_id);
    s.fake.fault(Route::Capture, Fault::LoseAnswer, 2);
    s.payer_returns(&reference, &order_id).await;
    assert_eq!(s.host.transaction(id).await["state"], "Pending");
    assert!(s.fake.order(&order_id).capture.is_some(), "PayPal did capture");

    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");
    let captures = s.fake.requests_to(Route::Capture);
    assert!(captures.len() >= 2);
    assert!(captures.iter().all(|r| r.header("paypal-request-id") == Some(format!("capture-{order_id}").as_str())));
    assert_eq!(s.host.payments("Invoice", 14).await.len(), 1);
}

#[tokio::test]
async fn sync_reads_the_order_and_captures_an_approved_one() {
    let s = PayPalScenario::start().await;
    let (id, _, order_id) = s.pending("4.00", 30).await;
    let (status, body) = s.sync(id).await;
    assert_eq!(
        (status, body["state"].as_str(), body["gateway_status"].as_str()),
        (StatusCode::OK, Some("Pending"), Some("PAYER_ACTION_REQUIRED")),
        "{body}"
    );
    assert_eq!(s.fake.requests_to(Route::GetOrder).len(), 1);
    assert!(s.fake.requests_to(Route::Capture).is_empty(), "nothing to capture yet");

    // Approved, but the payer never came back and the webhook was lost.
    s.fake.approve(&order_id);
    let (status, body) = s.sync(id).await;
    assert_eq!(
        (status, body["state"].as_str(), body["gateway_status"].as_str()),
        (StatusCode::OK, Some("Captured"), Some("COMPLETED"))
    );
    assert_eq!(s.fake.requests_to(Route::Capture).len(), 1);
    assert_eq!(s.host.payments("Invoice", 30).await.len(), 1);

    // Refunds made in PayPal's dashboard show up on the next sync.
    let (partial, order_id) = s.captured("10.00", "USD", 31).await;
    s.fake.refund_in_dashboard(&order_id, 250);
    let (status, body) = s.sync(partial).await;
    assert_eq!(
        (status, body["state"].as_str(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some("Captured"), Some("2.50")),
        "{body}"
    );

    s.fake.fault(
        Route::GetOrder,
        Fault::Answer(
            503,
            json!({"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable.", "debug_id": "5b2e8a7c1f0d3"}),
        ),
        2,
    );
    let (status, body) = s.sync(id).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Service Unavailable."));
}

#[tokio::test]
async fn webhooks_verified_by_paypal_drive_the_payment() {
    let s = PayPalScenario::start().await;

    // CHECKOUT.ORDER.APPROVED: the payer approved but never came back; we capture.
    let (approved, _, order_id) = s.pending("19.99", 40).await;
    s.fake.approve(&order_id);
    let event = s.fake.event("CHECKOUT.ORDER.APPROVED", "checkout-order", s.fake.order_resource(&order_id));
    let (status, body) = s.deliver(&event).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let transaction = s.host.transaction(approved).await;
    assert_eq!(transaction["state"], "Captured");
    assert_eq!(outcomes(&transaction), vec!["Pending → Captured"]);
    assert_eq!(transaction["webhook_log"][0]["event_type"], "CHECKOUT.ORDER.APPROVED");
    let capture_id = s.fake.order(&order_id).capture.unwrap().id;
    // The verification PayPal was asked for: the headers, our webhook id, the event as JSON.
    let verify = s.fake.requests_to(Route::Verify)[0].json();
    assert_eq!(verify["auth_algo"], AUTH_ALGO);
    assert_eq!(verify["cert_url"], CERT_URL);
    assert_eq!(verify["webhook_id"], WEBHOOK_ID);
    assert_eq!(verify["webhook_event"], event, "the event object itself, not a string");
    // PayPal delivers it again: the provider asks for the capture again under the same
    // PayPal-Request-Id, so PayPal replays its first answer; nothing changes here.
    let (status, _) = s.deliver(&event).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcomes(&s.host.transaction(approved).await)[1], "duplicate: already Captured");
    let captures = s.fake.requests_to(Route::Capture);
    assert!(captures.iter().all(|r| r.header("paypal-request-id") == Some(format!("capture-{order_id}").as_str())));
    assert_eq!(captures.len(), 2, "one capture request per delivery: {captures:?}");
    assert_eq!(s.fake.order(&order_id).capture.unwrap().id, capture_id, "PayPal captured once");
    assert_eq!(s.host.payments("Invoice", 40).await.len(), 1);

    // PAYMENT.CAPTURE.REFUNDED from refunds made in PayPal's dashboard.
    s.fake.refund_in_dashboard(&order_id, 500);
    let event = s.fake.event("PAYMENT.CAPTURE.REFUNDED", "refund", s.fake.refund_resource(&order_id));
    let (status, _) = s.deliver(&event).await;
    assert_eq!(status, StatusCode::OK);
    let transaction = s.host.transaction(approved).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Captured"), Some("5.00"))
    );
    s.fake.refund_in_dashboard(&order_id, 1499);
    let event = s.fake.event("PAYMENT.CAPTURE.REFUNDED", "refund", s.fake.refund_resource(&order_id));
    s.deliver(&event).await;
    let transaction = s.host.transaction(approved).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Refunded"), Some("19.99"))
    );

    // PAYMENT.CAPTURE.PENDING then PAYMENT.CAPTURE.COMPLETED, matched by the order id.
    let (later, reference, order_id) = s.pending("7.00", 41).await;
    s.fake.approve(&order_id);
    s.fake.set_capture_outcome(&order_id, "PENDING");
    s.payer_returns(&reference, &order_id).await;
    let event = s.fake.event("PAYMENT.CAPTURE.PENDING", "capture", s.fake.capture_resource(&order_id));
    assert_eq!(s.deliver(&event).await.0, StatusCode::OK);
    assert_eq!(s.host.transaction(later).await["state"], "Pending");
    s.fake.set_capture_status(&order_id, "COMPLETED");
    let event = s.fake.event("PAYMENT.CAPTURE.COMPLETED", "capture", s.fake.capture_resource(&order_id));
    assert_eq!(s.deliver(&event).await.1["matched"], 1);
    let transaction = s.host.transaction(later).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["gateway_status"].as_str()),
        (Some("Captured"), Some("PAYMENT.CAPTURE.COMPLETED"))
    );
    // The capture id came with the event: the refund goes straight to it.
    let reads = s.fake.requests_to(Route::GetOrder).len();
    let (status, body) = s.refund(later, json!({"amount": "1.00"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    assert_eq!(s.fake.requests_to(Route::GetOrder).len(), reads);
    let capture_id = s.fake.order(&order_id).capture.unwrap().id;
    assert_eq!(
        s.fake.requests_to(Route::Refund).last().unwrap().path,
        format!("/v2/payments/captures/{capture_id}/refund")
    );

    // PAYMENT.CAPTURE.DENIED after a pending capture: Failed.
    let (denied, reference, order_id) = s.pending("9.00", 42).await;
    s.fake.approve(&order_id);
    s.fake.set_capture_outcome(&order_id, "PENDING");
    s.payer_returns(&reference, &order_id).await;
    s.fake.set_capture_status(&order_id, "DECLINED");
    let event = s.fake.event("PAYMENT.CAPTURE.DENIED", "capture", s.fake.capture_resource(&order_id));
    s.deliver(&event).await;
    let transaction = s.host.transaction(denied).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["error_message"].as_str()),
        (Some("Failed"), Some("PayPal denied the payment."))
    );

    // CHECKOUT.PAYMENT-APPROVAL.REVERSED: Cancelled.
    let (reversed, _, order_id) = s.pending("11.00", 43).await;
    s.fake.approve(&order_id);
    let event = s.fake.event(
        "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
        "checkout-order",
        s.fake.approval_reversed_resource(&order_id),
    );
    s.deliver(&event).await;
    assert_eq!(s.host.transaction(reversed).await["state"], "Cancelled");
    assert!(s.host.payments("Invoice", 43).await.is_empty());
}

#[tokio::test]
async fn webhooks_paypal_does_not_vouch_for_are_refused() {
    let s = PayPalScenario::start().await;
    let (id, _, order_id) = s.pending("12.34", 50).await;
    s.fake.approve(&order_id);
    let event = s.fake.event("CHECKOUT.ORDER.APPROVED", "checkout-order", s.fake.order_resource(&order_id));
    let signed = s.fake.sign(&event, WEBHOOK_ID);

    // A missing PAYPAL-* header: refused without asking PayPal.
    for missing in 0..signed.len() {
        let mut headers = signed.clone();
        headers.remove(missing);
        let (status, body) = s.deliver_with(event.to_string(), headers).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_signature")));
    }
    assert!(s.fake.requests_to(Route::Verify).is_empty());

    // A signature PayPal never issued, and a signed transmission with another body.
    let mut forged = signed.clone();
    forged[3].1 = "bm90IGEgcmVhbCBzaWduYXR1cmU=".into();
    assert_eq!(s.deliver_with(event.to_string(), forged).await.0, StatusCode::UNAUTHORIZED);
    let mut tampered = event.clone();
    tampered["resource"]["purchase_units"][0]["amount"]["value"] = json!("0.01");
    assert_eq!(s.deliver_with(tampered.to_string(), signed.clone()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.fake.requests_to(Route::Verify).len(), 2);
    // Signed for another webhook (another merchant's listener).
    let elsewhere = s.fake.sign(&event, "5GP028458E2496506");
    assert_eq!(s.deliver_with(event.to_string(), elsewhere).await.0, StatusCode::UNAUTHORIZED);

    // PayPal's verify API is down: 502, so PayPal delivers again later.
    s.fake.fault(
        Route::Verify,
        Fault::Answer(503, json!({"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable."})),
        2,
    );
    let (status, _) = s.deliver_with(event.to_string(), signed.clone()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);

    // No webhook id configured: refused without asking PayPal.
    let before = s.fake.requests_to(Route::Verify).len();
    s.set_credentials(json!({"paypal_webhook_id": null})).await;
    assert_eq!(s.deliver_with(event.to_string(), signed.clone()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.fake.requests_to(Route::Verify).len(), before);

    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Pending");
    assert!(s.fake.requests_to(Route::Capture).is_empty());

    // The genuine transmission still works once the webhook id is back.
    s.set_credentials(json!({"paypal_webhook_id": WEBHOOK_ID})).await;
    assert_eq!(s.deliver_with(event.to_string(), signed).await.0, StatusCode::OK);
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
}

#[tokio::test]
async fn urls_named_in_a_webhook_are_never_fetched() {
    let s = PayPalScenario::start().await;
    let (trap_url, hits) = trap().await;
    let (id, _, order_id) = s.pending("15.00", 60).await;
    s.fake.approve(&order_id);
    let mut event = s.fake.event("CHECKOUT.ORDER.APPROVED", "checkout-order", s.fake.order_resource(&order_id));

    // A certificate URL elsewhere is handed to PayPal's verify API, which refuses it.
    let mut headers = s.fake.sign(&event, WEBHOOK_ID);
    headers[1].1 = format!("{trap_url}/certs/CERT-360caa42.pem");
    let (status, _) = s.deliver_with(event.to_string(), headers).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.fake.requests_to(Route::Verify)[0].json()["cert_url"], format!("{trap_url}/certs/CERT-360caa42.pem"));

    // A genuine event whose links all point elsewhere: the capture still goes to PayPal's API.
    point_links_at(&mut event, &trap_url);
    let (status, _) = s.deliver(&event).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.fake.requests_to(Route::Capture).len(), 1);
    assert_eq!(hits.count(), 0, "nothing named in a webhook was fetched: {:?}", hits.all());
}

#[tokio::test]
async fn an_approval_of_an_order_we_did_not_create_is_not_captured() {
    let s = PayPalScenario::start().await;
    let foreign = s.fake.foreign_approved_order("50.00");
    let event = s.fake.event("CHECKOUT.ORDER.APPROVED", "checkout-order", s.fake.order_resource(&foreign));
    let (status, body) = s.deliver(&event).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(0)), "{body}");
    assert!(s.fake.requests_to(Route::Capture).is_empty());
    assert_eq!(s.fake.order(&foreign).status, "APPROVED");
}

#[tokio::test]
async fn gateway_refusals_and_outages_at_initiate_leave_a_failed_transaction() {
    let s = PayPalScenario::start().await;
    let cases = [
        (
            Fault::Answer(
                422,
                paypal_error(
                    "UNPROCESSABLE_ENTITY",
                    "The requested action could not be performed, semantically incorrect, or failed business validation.",
                    "PAYEE_ACCOUNT_RESTRICTED",
                    "Payee account is restricted.",
                ),
            ),
            1,
            StatusCode::UNPROCESSABLE_ENTITY,
            "gateway_refused",
            "PayPal: Payee account is restricted. (PAYEE_ACCOUNT_RESTRICTED, debug id f2a6c5e4b1d07)",
        ),
        (
            Fault::Answer(
                400,
                paypal_error(
                    "INVALID_REQUEST",
                    "Request is not well-formed, syntactically incorrect, or violates schema.",
                    "INVALID_PARAMETER_VALUE",
                    "The value of a field is invalid.",
                ),
            ),
            1,
            StatusCode::UNPROCESSABLE_ENTITY,
            "gateway_refused",
            "PayPal: The value of a field is invalid. (INVALID_PARAMETER_VALUE, debug id f2a6c5e4b1d07)",
        ),
        (
            Fault::Answer(
                500,
                json!({"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.", "debug_id": "90957fca61718"}),
            ),
            2,
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "PayPal: An internal server error occurred. (INTERNAL_SERVER_ERROR, debug id 90957fca61718)",
        ),
        (
            Fault::Answer(502, Value::Null),
            2,
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "PayPal is unavailable; try again later. (HTTP 502)",
        ),
        (
            Fault::Answer(201, json!({"unexpected": true})),
            1,
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "PayPal answered with an unexpected body: missing field `id` at line 1 column 19",
        ),
    ];
    for (document_id, (fault, times, status, code, message)) in cases.into_iter().enumerate() {
        s.fake.fault(Route::CreateOrder, fault, times);
        let (answer_status, body) = s.try_initiate(json!("1.00"), "USD", 70 + document_id as i64).await;
        assert_eq!(
            (answer_status, body["error"]["code"].as_str(), body["error"]["message"].as_str()),
            (status, Some(code), Some(message)),
            "{body}"
        );
        let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(
            (transaction["state"].as_str(), transaction["error_message"].as_str()),
            (Some("Failed"), Some(message))
        );
        s.fake.clear_faults();
    }
    // One 5xx is retried with the same request id and the payment goes through.
    s.fake.fault(
        Route::CreateOrder,
        Fault::Answer(503, json!({"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable."})),
        1,
    );
    let answer = s.initiate(json!("1.00"), "USD", 79).await;
    let creates = s.fake.requests_to(Route::CreateOrder);
    let last_two = &creates[creates.len() - 2..];
    assert!(last_two.iter().all(|r| r.header("paypal-request-id") == answer["reference"].as_str()));
}

#[tokio::test]
async fn a_gateway_that_never_answers_fails_the_payment_clearly() {
    let s = PayPalScenario::start().await;
    s.fake.fault(Route::CreateOrder, Fault::Hang, 1);
    let (status, body) = s.try_initiate(json!("9.99"), "USD", 80).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["message"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("gateway_error"), Some("PayPal did not answer in time.")),
        "{body}"
    );
    let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["error_message"].as_str()),
        (Some("Failed"), Some("PayPal did not answer in time."))
    );
}

#[tokio::test]
async fn amounts_reach_paypal_as_decimal_strings_in_its_precision() {
    let s = PayPalScenario::start().await;
    for (amount, currency, value) in [
        (json!("19.99"), "USD", "19.99"),
        (json!(5), "USD", "5.00"),
        (json!("0.5"), "EUR", "0.50"),
        (json!(1500), "JPY", "1500"),
        (json!("1000"), "HUF", "1000"),
        (json!("250.00"), "TWD", "250"),
    ] {
        let answer = s.initiate(amount.clone(), currency, 90).await;
        let order_id = s.order_id(answer["transaction_id"].as_i64().unwrap()).await;
        let order = s.fake.order(&order_id);
        assert_eq!((order.currency.as_str(), order.value.as_str()), (currency, value), "{amount} {currency}");
    }
    let orders = s.fake.orders().len();

    // PayPal cannot take these: refused clearly, nothing sent.
    for (amount, currency, message) in [
        ("1000.50", "HUF", "PayPal accepts only whole HUF amounts; 1000.50 HUF has a fraction."),
        ("1.234", "KWD", "PayPal does not accept payments in KWD."),
        ("10.00", "BHD", "PayPal does not accept payments in BHD."),
    ] {
        let (status, body) = s.try_initiate(json!(amount), currency, 91).await;
        assert_eq!(
            (status, body["error"]["code"].as_str(), body["error"]["message"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused"), Some(message)),
            "{body}"
        );
        let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(transaction["state"], "Failed");
    }
    assert_eq!(s.fake.orders().len(), orders);

    // Refunds follow the same rules.
    let (yen, _) = s.captured("1500", "JPY", 92).await;
    let (status, body) = s.refund(yen, json!({"amount": 500})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("500")), "{body}");
    let sent = s.fake.requests_to(Route::Refund);
    assert_eq!(sent[0].json()["amount"], json!({"currency_code": "JPY", "value": "500"}));
    let (forint, _) = s.captured("1000", "HUF", 93).await;
    let (status, body) = s.refund(forint, json!({"amount": "0.50"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    assert_eq!(body["error_message"], "PayPal accepts only whole HUF amounts; 0.50 HUF has a fraction.");
    assert_eq!(s.fake.requests_to(Route::Refund).len(), 1);
}

#[tokio::test]
async fn a_retried_initiate_creates_one_order() {
    let s = PayPalScenario::start().await;
    let request = || s.initiate_request(json!("30.00"), "USD", 100).header("Idempotency-Key", "invoice-100-attempt-1");
    let first = request().send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = request().send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(s.fake.orders().len(), 1);
    assert_eq!(s.fake.requests_to(Route::CreateOrder).len(), 1);

    // PayPal created the order but the answer was lost: the retry with the same
    // PayPal-Request-Id gets the same order back.
    s.fake.fault(Route::CreateOrder, Fault::LoseAnswer, 1);
    let answer = s.initiate(json!("31.00"), "USD", 101).await;
    assert_eq!(s.fake.orders().len(), 2);
    let creates = s.fake.requests_to(Route::CreateOrder);
    assert_eq!(creates.len(), 3);
    assert_eq!(creates[1].header("paypal-request-id"), answer["reference"].as_str());
    assert_eq!(creates[2].header("paypal-request-id"), answer["reference"].as_str());
    let order_id = s.order_id(answer["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(s.fake.orders()[1].id, order_id);
}

#[tokio::test]
async fn secrets_and_access_tokens_stay_out_of_logs_and_answers() {
    logs::capture();
    let s = PayPalScenario::start().await;
    let mut answers = Vec::new();
    let (id, order_id) = s.captured("7.00", "USD", 110).await;
    answers.push(s.host.transaction(id).await);
    answers.push(s.refund(id, json!({"amount": "1.00"})).await.1);
    let event = s.fake.event("PAYMENT.CAPTURE.COMPLETED", "capture", s.fake.capture_resource(&order_id));
    answers.push(s.deliver(&event).await.1);
    answers.push(s.deliver_with(event.to_string(), vec![("PAYPAL-TRANSMISSION-ID", "x".into())]).await.1);
    s.fake.advance_clock(40_000);
    answers.push(s.sync(id).await.1);
    s.set_credentials(json!({"paypal_client_secret": "wrong-secret-value-1"})).await;
    answers.push(send(s.host.admin(Method::POST, &format!("/api/integrations/{}/enable", s.integration_id))).await.1);
    answers.push(send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await.1);

    let logged = logs::text();
    assert!(logged.contains("outbound request"), "the capture sees the host's logs");
    let tokens = s.fake.issued_tokens();
    assert_eq!(tokens.len(), 2);
    for secret in tokens.iter().map(String::as_str).chain([CLIENT_SECRET, "wrong-secret-value-1"]) {
        assert!(!logged.contains(secret), "a secret reached the log");
        for answer in &answers {
            assert!(!answer.to_string().contains(secret), "a secret reached an answer: {answer}");
        }
    }
}

#[test]
fn the_shipped_manifest_reaches_paypal_itself_and_nothing_else() {
    use integrations_host::registry::{load_module, EndpointOverrides};
    use integrations_host::runtime::{HostLimits, ProviderRuntime};

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(repo.join("manifests/payment_paypal.yaml")).unwrap();
    let component = std::fs::read(Path::new(WASM_DIR).join("payment_paypal.wasm")).unwrap();
    let runtime = ProviderRuntime::new(HostLimits { max_instances: 2, ..HostLimits::default() }).unwrap();
    let module =
        load_module(&runtime, &manifest, &component, &EndpointOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let endpoints = &module.grants.endpoints;
    assert_eq!(endpoints.base_url("api", true).as_deref(), Some("https://api-m.sandbox.paypal.com"));
    assert_eq!(endpoints.base_url("api", false).as_deref(), Some("https://api-m.paypal.com"));
    let allowed = |url: &str| module.grants.allowed_hosts.allows(&url::Url::parse(url).unwrap());
    assert!(allowed("https://api-m.paypal.com/v2/checkout/orders"));
    assert!(allowed("https://api-m.sandbox.paypal.com/v1/oauth2/token"));
    assert!(!allowed("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1"));
    assert!(!allowed("http://api-m.paypal.com/v1/oauth2/token"));
    assert!(!allowed("http://127.0.0.1:8080/"));
    let manifest = &module.manifest;
    assert_eq!(manifest.runtime.integration_types, vec!["Redirect"]);
    let secret = |name: &str| manifest.credential(name).map(|c| c.secret);
    assert_eq!(
        (secret("paypal_client_id"), secret("paypal_client_secret"), secret("paypal_webhook_id")),
        (Some(false), Some(true), Some(false))
    );
    // A hung request (cut by the host after 15 s) leaves the call time to report it.
    assert!(module.limits.timeout > std::time::Duration::from_secs(15));
}
