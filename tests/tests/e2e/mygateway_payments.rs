//! MyGateway through the HTTP API: initiate (both types), capture by webhook, return and
//! cancel flows, refunds.

use e2e::host::send;
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn redirect_payment_is_captured_by_a_signed_webhook() {
    let s = MyGatewayScenario::start().await;
    let answer = s.initiate(json!("19.99"), "Redirect", 42).await;
    assert_eq!(answer["integration_type"], "redirect");
    let reference = answer["reference"].as_str().unwrap();
    let transaction_id = answer["transaction_id"].as_i64().unwrap();

    // The gateway got exactly what API.md §4 says, with the secret key injected by the host.
    let session_id = s.session_id(transaction_id).await;
    assert_eq!(answer["redirect_url"], format!("https://checkout.mygateway.com/session/{session_id}"));
    let session = s.fake.session(&session_id);
    assert_eq!((session.amount, session.currency.as_str(), session.reference.as_str()), (1999, "USD", reference));
    assert_eq!(session.success_url, format!("{}/api/online_payment/return?txn={reference}", s.host.url));
    assert_eq!(session.cancel_url, format!("{}/api/online_payment/cancel?txn={reference}", s.host.url));
    assert_eq!(s.fake.requests()[0].authorization(), Some(format!("Bearer {SECRET_KEY}").as_str()));

    let transaction = s.host.transaction(transaction_id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["amount"].as_str(), transaction["amount_minor"].as_i64()),
        (Some("Pending"), Some("19.99"), Some(1999))
    );
    assert!(s.host.payments("Invoice", 42).await.is_empty());

    let (status, body) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let transaction = s.host.transaction(transaction_id).await;
    assert_eq!(transaction["state"], "Captured");
    assert_eq!(transaction["gateway_status"], "payment.completed");
    assert_eq!(transaction["webhook_log"][0]["outcome"], "Pending → Captured");
    assert_eq!(transaction["webhook_log"][0]["signature_valid"], true);
    assert_eq!(transaction["pending_action_data"]["signature_data"]["signed_by"], "Ada");

    let payments = s.host.payments("Invoice", 42).await;
    assert_eq!(payments.len(), 1);
    assert_eq!((payments[0]["amount"].as_str(), payments[0]["reference"].as_str()), (Some("19.99"), Some(reference)));
}

#[tokio::test]
async fn embedded_js_returns_the_client_config() {
    let s = MyGatewayScenario::start().await;
    let answer = s.initiate(json!(25), "Embedded JS", 7).await;
    assert_eq!(answer["integration_type"], "embedded_js");
    let session_id = s.session_id(answer["transaction_id"].as_i64().unwrap()).await;
    assert_eq!(
        answer["client_config"],
        json!({ "api_key": API_KEY, "session_id": session_id, "js_url": "https://js.mygateway.com/v1/" })
    );
    assert_eq!(s.fake.session(&session_id).amount, 2500);
}

#[tokio::test]
async fn the_return_asks_the_gateway_and_sends_the_payer_on() {
    let s = MyGatewayScenario::start().await;
    let answer = s.initiate(json!("10.00"), "Redirect", 1).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    let session_id = s.session_id(id).await;

    // Still open at the gateway: Pending, payer goes to the ERP's return URL.
    let response =
        s.host.public(Method::GET, &format!("/api/online_payment/return?txn={reference}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("https://erp.example/portal/invoice/42?txn={reference}").as_str()
    );
    assert_eq!(s.host.transaction(id).await["state"], "Pending");

    s.fake.set_status(&session_id, "completed");
    let response = s
        .host
        .public(Method::GET, &format!("/api/online_payment/return?txn={reference}&session_id={session_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.host.transaction(id).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 1).await.len(), 1);

    // Expired at the gateway: Cancelled, payer goes to the cancel URL.
    let answer = s.initiate(json!("3.00"), "Redirect", 2).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    s.fake.set_status(&s.session_id(id).await, "expired");
    let response =
        s.host.public(Method::GET, &format!("/api/online_payment/return?txn={reference}")).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("https://erp.example/portal/invoice/42?cancelled=1&txn={reference}").as_str()
    );
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");
}

#[tokio::test]
async fn a_cancelled_payment_stays_cancelled() {
    let s = MyGatewayScenario::start().await;
    let answer = s.initiate(json!("5.00"), "Redirect", 3).await;
    let (id, reference) =
        (answer["transaction_id"].as_i64().unwrap(), answer["reference"].as_str().unwrap().to_string());
    let response =
        s.host.public(Method::GET, &format!("/api/online_payment/cancel?txn={reference}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("https://erp.example/portal/invoice/42?cancelled=1&txn={reference}").as_str()
    );
    assert_eq!(s.host.transaction(id).await["state"], "Cancelled");

    // A late failure or a second cancel cannot change it, and creates no Payment (a late
    // completion would: money is never ignored, see mygateway_webhooks).
    let session = s.session_id(id).await;
    let (status, _) = s.deliver("payment.failed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.deliver("payment.cancelled", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "a second cancel is accepted and changes nothing");
    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["state"], "Cancelled");
    let outcomes: Vec<&str> =
        transaction["webhook_log"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.contains(&"ignored: Cancelled cannot become Failed"), "{outcomes:?}");
    assert!(s.host.payments("Invoice", 3).await.is_empty());

    let (status, body) = send(s.host.public(Method::GET, "/api/online_payment/cancel?txn=TXN-UNKNOWN")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

async fn captured(s: &MyGatewayScenario, amount: &str, document_id: i64) -> i64 {
    s.captured(amount, document_id).await.0
}

async fn refund(s: &MyGatewayScenario, id: i64, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&body)).await
}

#[tokio::test]
async fn refunds_full_and_partial_and_never_more_than_paid() {
    let s = MyGatewayScenario::start().await;

    let full = captured(&s, "20.00", 10).await;
    let (status, body) = refund(&s, full, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["success"].as_bool(), body["state"].as_str(), body["refunded_amount"].as_str()),
        (Some(true), Some("Refunded"), Some("20.00"))
    );
    assert!(body["refund_reference"].as_str().unwrap().starts_with("re_"));
    let session_id = s.session_id(full).await;
    assert_eq!(s.fake.refunds(), vec![(session_id, 2000)]);

    let partial = captured(&s, "30.00", 11).await;
    let (status, body) = refund(&s, partial, json!({"amount": "10.50"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["state"].as_str(), body["refunded_amount"].as_str()), (Some("Captured"), Some("10.50")));
    let (status, body) = refund(&s, partial, json!({"amount": "19.51"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "refund_exceeds_remaining");
    assert!(body["error"]["message"].as_str().unwrap().contains("19.50"), "{body}");
    let (status, body) = refund(&s, partial, json!({"amount": 19.5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["state"].as_str(), body["refunded_amount"].as_str()), (Some("Refunded"), Some("30.00")));
    let (status, body) = refund(&s, partial, json!({"amount": "0.01"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let transaction = s.host.transaction(partial).await;
    assert_eq!((transaction["refunded_minor"].as_i64(), transaction["state"].as_str()), (Some(3000), Some("Refunded")));

    // A transaction that was never captured cannot be refunded.
    let pending = s.initiate(json!("1.00"), "Redirect", 12).await["transaction_id"].as_i64().unwrap();
    let (status, body) = refund(&s, pending, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_refundable")));
}

/// Five refunds of 10.00 at once against a 30.00 capture: exactly three are made, at the
/// gateway as in the host, whatever order they arrive in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_capture() {
    let s = MyGatewayScenario::start().await;
    let id = captured(&s, "30.00", 13).await;
    let answers = futures_util::future::join_all((0..5).map(|_| refund(&s, id, json!({"amount": "10.00"})))).await;
    let made = answers.iter().filter(|(status, body)| *status == StatusCode::OK && body["success"] == true).count();
    assert_eq!(made, 3, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != StatusCode::OK) {
        // Refused for the amount while the others are in flight, or for the state once they landed.
        let refused = (*status, body["error"]["code"].as_str());
        assert!(
            refused == (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
                || refused == (StatusCode::CONFLICT, Some("not_refundable")),
            "{answers:?}"
        );
    }
    let session_id = s.session_id(id).await;
    assert_eq!(s.fake.refunds(), vec![(session_id.clone(), 1000); 3], "the gateway made exactly the booked refunds");
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["refunded_minor"].as_i64(), transaction["state"].as_str()), (Some(3000), Some("Refunded")));
}

#[tokio::test]
async fn a_gateway_refusal_of_a_refund_changes_nothing() {
    let s = MyGatewayScenario::start().await;
    let id = captured(&s, "8.00", 20).await;
    s.fake.set_outage(Some((400, "Refunds are disabled for this account.")));
    let (status, body) = refund(&s, id, json!({"amount": "2.00"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error_message"], "MyGateway: Refunds are disabled for this account.");
    // A 5xx may come after the refund was made: the refund is in doubt and keeps counting.
    s.fake.set_outage(Some((503, "maintenance")));
    let (status, body) = refund(&s, id, json!({"amount": "2.00"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")));
    let (status, body) = refund(&s, id, json!({"amount": "7.00"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining"))
    );
    s.fake.set_outage(None);
    let transaction = s.host.transaction(id).await;
    assert_eq!((transaction["refunded_minor"].as_i64(), transaction["state"].as_str()), (Some(0), Some("Captured")));
    // MyGateway lists no refund for the payment: reconciliation releases it, and the refused and
    // released reservations leave the whole amount refundable.
    let report = s.host.app.reconcile_refunds().await.unwrap();
    assert_eq!((report.released, report.booked), (1, 0), "{report:?}");
    assert!(s.fake.refunds().is_empty());
    let (status, body) = refund(&s, id, json!({})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("8.00")));
}

#[tokio::test]
async fn a_gateway_failure_at_initiate_leaves_a_failed_transaction_with_its_message() {
    let s = MyGatewayScenario::start().await;
    for (status, message, expected_status, code) in [
        (500, "internal error", StatusCode::BAD_GATEWAY, "gateway_error"),
        (400, "currency not enabled for this account", StatusCode::UNPROCESSABLE_ENTITY, "gateway_refused"),
    ] {
        s.fake.set_outage(Some((status, message)));
        let (answer_status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": s.integration_id, "amount": "1.00", "currency": "USD", "document_model": "Invoice",
            "document_id": 99, "return_url": "https://erp.example/r",
        })))
        .await;
        assert_eq!((answer_status, body["error"]["code"].as_str()), (expected_status, Some(code)), "{body}");
        assert_eq!(body["error"]["message"], format!("MyGateway: {message}"));
        let transaction = s.host.transaction(body["error"]["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(transaction["state"], "Failed");
        assert_eq!(transaction["error_message"], format!("MyGateway: {message}"));
        assert_eq!(transaction["reference"], body["error"]["reference"]);
    }
}

#[tokio::test]
async fn sync_asks_the_gateway_when_a_webhook_was_lost() {
    let s = MyGatewayScenario::start().await;
    let id = s.initiate(json!("4.00"), "Redirect", 30).await["transaction_id"].as_i64().unwrap();
    let sync = || send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/sync")));
    let (status, body) = sync().await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Pending")));
    s.fake.set_status(&s.session_id(id).await, "completed");
    let (status, body) = sync().await;
    assert_eq!(
        (status, body["state"].as_str(), body["gateway_status"].as_str()),
        (StatusCode::OK, Some("Captured"), Some("completed"))
    );
    assert_eq!(s.host.payments("Invoice", 30).await.len(), 1);
    s.fake.set_outage(Some((503, "maintenance")));
    let (status, body) = sync().await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")));
}

#[tokio::test]
async fn a_transaction_shows_each_refund_with_its_state() {
    let s = MyGatewayScenario::start().await;
    // Captured by its webhook while MyGateway still has the session open: MyGateway refuses
    // the refund ("Only completed payments can be refunded.").
    let answer = s.initiate(json!("25.00"), "Redirect", 12).await;
    let id = answer["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    let (status, _) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = refund(&s, id, json!({"amount": "5.00"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");

    s.fake.set_status(&session_id, "completed");
    let (status, body) = refund(&s, id, json!({"amount": "5.00"})).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");

    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["refunded_amount"], "5.00", "only the succeeded refund counts");
    let refunds = transaction["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{transaction}");
    assert_eq!((refunds[0]["state"].as_str(), refunds[0]["amount"].as_str()), (Some("failed"), Some("5.00")));
    assert!(refunds[0]["error_message"].as_str().unwrap().contains("Only completed payments"), "{transaction}");
    assert_eq!(refunds[0]["refund_reference"], serde_json::Value::Null);
    assert_eq!(
        (refunds[1]["state"].as_str(), refunds[1]["refund_reference"].as_str()),
        (Some("succeeded"), Some("re_1"))
    );
    assert_eq!((refunds[1]["amount_minor"].as_i64(), refunds[1]["error_message"].is_null()), (Some(500), true));
    assert!(refunds[0]["id"].as_i64() < refunds[1]["id"].as_i64() && refunds[1]["created_at"].is_string());
}

#[tokio::test]
async fn the_payment_page_gets_the_client_config_of_an_enabled_integration() {
    let s = MyGatewayScenario::start().await;
    let path = format!("/api/online_payment/integrations/{}/client_config", s.integration_id);
    let key = s.host.company_key(1).await;
    let (status, body) = send(s.host.as_key(&key, Method::GET, &path)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"integration_id": s.integration_id, "client_config": {"api_key": API_KEY, "js_url": "https://js.mygateway.com/v1/"}})
    );
    assert!(!body.to_string().contains(SECRET_KEY), "a secret in the client config");
    assert_eq!(s.fake.session_count(), 0, "no payment was started");

    // Another company's key: as if it did not exist. Disabled: refused.
    let other = s.host.company_key(2).await;
    assert_eq!(send(s.host.as_key(&other, Method::GET, &path)).await.0, StatusCode::NOT_FOUND);
    let (status, _) =
        send(s.host.admin(Method::POST, &format!("/api/integrations/{}/disable", s.integration_id))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(s.host.as_key(&key, Method::GET, &path)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("integration_disabled"))
    );
}

#[tokio::test]
async fn a_transaction_with_more_refunds_than_its_view_lists_shows_the_latest_thousand() {
    let s = MyGatewayScenario::start().await;
    let (id, _) = s.captured("5000.00", 13).await;
    // 1,005 failed refunds of 0.01 (as many refused attempts would leave), written as they
    // would be stored.
    let now = integrations_host::store::now();
    e2e::host::write_db(&s.host.app.db, async |c| {
        for n in 0..1005 {
            sqlx::query(
                "INSERT INTO refunds (transaction_id, amount_minor, state, refund_id, attempts, reconcile_claims,
                    error_message, created_at, updated_at)
                 VALUES ($1, 1, 'failed', $2, 1, 0, 'refused', $3, $3)",
            )
            .bind(id)
            .bind(format!("R-{n}"))
            .bind(&now)
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    })
    .await;
    let transaction = s.host.transaction(id).await;
    let refunds = transaction["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1000, "the view is bounded");
    let ids: Vec<i64> = refunds.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let (_, all) = e2e::host::write_db(&s.host.app.db, async |c| {
        sqlx::query_scalar::<_, i64>("SELECT MAX(id) FROM refunds").fetch_one(&mut *c).await.map(|max| ((), max))
    })
    .await;
    assert_eq!(ids.last().copied(), Some(all), "the latest are listed");
    assert_eq!(transaction["refunded_amount"], "0.00", "failed refunds count for nothing");
}
