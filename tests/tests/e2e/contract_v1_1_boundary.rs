//! Contract 1.1.0's payment world at the host's boundary, through the `test_contract_v1_1`
//! guest, which answers what each test tells it: QR codes with image and expiry, webhook
//! answers chosen by the provider (and refused when a browser would render them), refund
//! reports that name no payment, over-ceiling refund lists, saved methods nobody asked for,
//! captures reported later or answered with the wrong state, and `crypto@1.1.0`'s keyed HMACs.

use e2e::hmac_sha256_hex;
use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WEBHOOK_KEY: &str = "text-key-for-sha512";
/// 0x0b × 20, RFC 4231 test case 1's key, written in hex.
const HEX_KEY: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

struct Guest {
    host: TestHost,
    integration_id: i64,
}

impl Guest {
    async fn start() -> Self {
        let host =
            TestHost::start(HostOptions { fixtures: vec!["test_contract_v1_1"], ..HostOptions::default() }).await;
        let credentials = json!({ "webhook_key": WEBHOOK_KEY, "hex_key": HEX_KEY });
        let integration_id = host.enabled_integration(ADMIN_KEY, 1, "test_contract_v1_1", credentials).await;
        Self { host, integration_id }
    }

    async fn initiate(&self, body: Value) -> (StatusCode, Value) {
        let mut request = json!({
            "integration_id": self.integration_id, "amount": "10.00", "currency": "USD",
            "return_url": "https://erp.example/r", "document_model": "Invoice", "document_id": 1,
        });
        request.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        send(self.host.admin(Method::POST, "/api/online_payment/initiate").json(&request)).await
    }

    /// A transaction the gateway reports Authorized (`provider_data` steers capture and void).
    async fn authorized(&self, provider_data: &str) -> (i64, String) {
        let (status, body) = self.initiate(json!({ "capture": "manual" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (id, reference) =
            (body["transaction_id"].as_i64().unwrap(), body["reference"].as_str().unwrap().to_string());
        let update = json!({ "reference": reference, "state": "authorized", "provider_data": provider_data });
        let (status, answer) = self.webhook(json!({ "event": "authorized", "updates": [update] })).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        (id, reference)
    }

    async fn webhook(&self, event: Value) -> (StatusCode, Value) {
        let response = self
            .host
            .public(Method::POST, &format!("/payment/webhook/{}", self.integration_id))
            .header("x-test-signature", "ok")
            .json(&event)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn transaction(&self, id: i64) -> Value {
        self.host.transaction(id).await
    }
}

#[tokio::test]
async fn a_qr_code_comes_with_its_image_and_expiry_and_the_options_reach_the_provider() {
    let g = Guest::start().await;
    let (status, body) = g.initiate(json!({ "integration_type": "QR Code", "document_model": "qr" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["integration_type"], "qr_code");
    assert!(body["qr_code"].as_str().unwrap().starts_with("upi://pay?pa=merchant@upi&tr=TXN-"), "{body}");
    assert_eq!(body["qr_code_image_url"], "https://qr.pay.example.com/i/1.png");
    assert_eq!(body["qr_code_expires_at"], "2030-03-17T17:46:40Z");

    // The options reach the provider as asked, and the defaults when none are.
    let (_, body) =
        g.initiate(json!({ "capture": "manual", "save_payment_method": true, "contact": { "id": 7 } })).await;
    assert!(body["redirect_url"].as_str().unwrap().ends_with("?capture=manual&save=true"), "{body}");
    assert_eq!(g.transaction(body["transaction_id"].as_i64().unwrap()).await["capture"], "manual");
    let (_, body) = g.initiate(json!({})).await;
    assert!(body["redirect_url"].as_str().unwrap().ends_with("?capture=automatic&save=false"), "{body}");
}

#[tokio::test]
async fn keyed_hmacs_use_sha512_and_hex_keys_and_name_a_malformed_key_without_its_value() {
    let g = Guest::start().await;
    let (status, body) = g.initiate(json!({ "document_model": "hmac" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let report = body["error"]["message"].as_str().unwrap();
    use hmac::{Hmac, Mac};
    let mut sha512 = Hmac::<sha2::Sha512>::new_from_slice(WEBHOOK_KEY.as_bytes()).unwrap();
    sha512.update(b"message");
    let expected_sha512 = hex::encode(sha512.finalize().into_bytes());
    assert!(report.contains(&format!("sha512=Ok(\"{expected_sha512}\")")), "{report}");
    let expected_hex = {
        let key = hex::decode(HEX_KEY).unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"message");
        hex::encode(mac.finalize().into_bytes())
    };
    assert_ne!(expected_hex, hmac_sha256_hex(HEX_KEY, b"message"), "the hex text itself is not the key");
    assert!(report.contains(&format!("hex=Ok(\"{expected_hex}\")")), "{report}");
    assert!(report.contains("MalformedKey(\"The value of credential webhook_key is not hex"), "{report}");
    assert!(!report.contains(WEBHOOK_KEY) && !report.contains(HEX_KEY), "no key value in the report: {report}");
}

#[tokio::test]
async fn a_provider_chooses_the_webhook_answer_but_never_a_page() {
    let g = Guest::start().await;
    let answer = json!({ "content_type": "text/plain", "body": "[accepted]" });
    let (status, body) = g.webhook(json!({ "event": "notification", "response": answer })).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("[accepted]".into())));

    let page = json!({ "content_type": "text/html", "body": "<script>alert(1)</script>" });
    let (_, reference) = g.authorized("").await;
    let update = json!({ "reference": reference, "state": "captured" });
    let (status, body) = g.webhook(json!({ "event": "captured", "updates": [update], "response": page })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    let (_, page) =
        send(g.host.admin(Method::GET, "/api/online_payment/payments?document_model=Invoice&document_id=1")).await;
    assert_eq!(page, json!([]), "nothing of a refused answer is applied");
}

#[tokio::test]
async fn refund_reports_find_their_payment_by_the_refund_within_the_integration_only() {
    let g = Guest::start().await;
    let (id, reference) = g.authorized("").await;
    g.webhook(json!({ "event": "captured", "updates": [{ "reference": reference, "state": "captured" }] })).await;
    let (status, refund) = send(
        g.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .json(&json!({"amount": "4.00"})),
    )
    .await;
    assert_eq!((status, refund["refund_state"].as_str()), (StatusCode::OK, Some("pending")), "{refund}");
    let refund_reference = refund["refund_reference"].as_str().unwrap().to_string();

    // Nine refunds in one update are over the ceiling of eight: the whole webhook fails.
    let many: Vec<Value> = (0..9).map(|n| json!({ "refund_reference": format!("x{n}"), "state": "failed" })).collect();
    let (status, body) = g.webhook(json!({ "event": "refunds", "updates": [{ "refunds": many }] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("payment-update.refunds"), "{body}");

    // A report naming only the refund finds its payment.
    let report = json!({ "refund_reference": refund_reference, "state": "succeeded" });
    let (status, body) = g.webhook(json!({ "event": "refund.done", "updates": [{ "refunds": [report] }] })).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let transaction = g.transaction(id).await;
    assert_eq!(
        (transaction["refunded_amount"].as_str(), transaction["refunds"][0]["state"].as_str()),
        (Some("4.00"), Some("succeeded"))
    );

    // Another company's integration of the same module cannot settle it, nor see it.
    let other = g.host.enabled_integration(ADMIN_KEY, 2, "test_contract_v1_1", json!({})).await;
    let (status, _) = g.initiate(json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, again) = send(
        g.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .json(&json!({"amount": "1.00"})),
    )
    .await;
    let pending_reference = again["refund_reference"].as_str().unwrap().to_string();
    let failed = json!({ "refund_reference": pending_reference, "state": "failed" });
    let response = g
        .host
        .public(Method::POST, &format!("/payment/webhook/{other}"))
        .header("x-test-signature", "ok")
        .json(&json!({ "event": "refund.failed", "updates": [{ "refunds": [failed] }] }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["matched"], 0, "{body}");
    assert_eq!(g.transaction(id).await["refunds"][1]["state"], "pending");
}

#[tokio::test]
async fn a_capture_reported_later_holds_the_payment_until_the_webhook_and_a_wrong_state_is_not_believed() {
    let g = Guest::start().await;
    let (id, reference) = g.authorized("later").await;
    let capture = |key: &'static str| {
        send(
            g.host
                .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/capture"))
                .header("Idempotency-Key", key)
                .json(&json!({ "amount": "6.00" })),
        )
    };
    let (status, body) = capture("c1").await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Authorized")), "reported later: {body}");
    let (status, body) = capture("c2").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("operation_in_progress")),
        "{body}"
    );
    // The gateway's report arrives: Captured, of what the report says was captured.
    let update = json!({ "reference": reference, "state": "captured", "captured_minor": 600 });
    g.webhook(json!({ "event": "captured", "updates": [update] })).await;
    let transaction = g.transaction(id).await;
    assert_eq!((transaction["state"].as_str(), transaction["captured_minor"].as_i64()), (Some("Captured"), Some(600)));

    // A void answered "refunded" is not believed: still Authorized.
    let (id, _) = g.authorized("wrong").await;
    let (status, body) = send(g.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/void"))).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Authorized")), "{body}");
}

#[tokio::test]
async fn a_saved_method_nobody_asked_for_is_not_kept_and_one_asked_for_is_charged() {
    let g = Guest::start().await;
    let saved = json!({ "token": "tok_good", "label": "Test •••• 0000", "expires": "2031-01" });
    let (_, unasked) = g.initiate(json!({ "contact": { "id": "C-1" } })).await;
    let update = json!({ "reference": unasked["reference"], "state": "captured", "saved": saved });
    g.webhook(json!({ "event": "paid", "updates": [update] })).await;
    let (_, listed) = send(g.host.admin(Method::GET, "/api/online_payment/payment_methods")).await;
    assert_eq!(listed, json!([]));

    let (_, asked) = g.initiate(json!({ "save_payment_method": true, "contact": { "id": "C-1" } })).await;
    let update = json!({ "reference": asked["reference"], "state": "captured", "saved": saved });
    g.webhook(json!({ "event": "paid", "updates": [update] })).await;
    let (_, listed) = send(g.host.admin(Method::GET, "/api/online_payment/payment_methods?contact_id=C-1")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains("tok_good"), "the token is never shown");
    let method_id = listed[0]["id"].as_i64().unwrap();
    let (status, charged) = send(g.host.admin(Method::POST, "/api/online_payment/charge").json(&json!({
        "payment_method_id": method_id, "amount": "2.50", "currency": "USD"
    })))
    .await;
    assert_eq!((status, charged["state"].as_str()), (StatusCode::CREATED, Some("Captured")), "{charged}");
    let (status, body) = send(g.host.admin(Method::POST, "/api/online_payment/charge").json(&json!({
        "payment_method_id": method_id, "amount": "2.50", "currency": "USD", "tip": 1
    })))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// Writes an open capture of `amount_minor` for transaction `id`, last touched `at`, as a host
/// that died mid-call leaves it.
async fn leave_open_capture(g: &Guest, id: i64, amount_minor: i64, operation_id: &str, at: &str) {
    let (operation_id, at) = (operation_id.to_string(), at.to_string());
    e2e::host::write_db(&g.host.app.db, async |c| {
        sqlx::query(
            "INSERT INTO payment_operations (transaction_id, kind, amount_minor, operation_id, state, created_at, updated_at)
             VALUES ($1, 'capture', $2, $3, 'open', $4, $4)",
        )
        .bind(id)
        .bind(amount_minor)
        .bind(&operation_id)
        .bind(&at)
        .execute(c)
        .await
    })
    .await;
}

#[tokio::test]
async fn a_capture_a_dead_host_left_open_is_sent_again_by_the_next_request_once_stale() {
    let g = Guest::start().await;
    let capture = |id: i64| {
        send(g.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/capture")).json(&json!({})))
    };

    // Open a minute ago: another request may still be waiting for the gateway.
    let (fresh, _) = g.authorized("").await;
    let a_minute_ago =
        (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    leave_open_capture(&g, fresh, 1000, "crashed-fresh", &a_minute_ago).await;
    let (status, body) = capture(fresh).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("operation_in_progress")),
        "{body}"
    );

    // Open an hour ago: its caller is gone; the same capture is asked again under its own id.
    let (stale, _) = g.authorized("").await;
    let an_hour_ago =
        (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    leave_open_capture(&g, stale, 1000, "crashed-stale", &an_hour_ago).await;
    let (status, body) = capture(stale).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Captured")), "{body}");
    let state: String = e2e::host::write_db(&g.host.app.db, async |c| {
        sqlx::query_scalar("SELECT state FROM payment_operations WHERE operation_id = 'crashed-stale'")
            .fetch_one(c)
            .await
    })
    .await;
    assert_eq!(state, "done", "the stale operation itself was completed, no second one opened");
    let count: i64 = e2e::host::write_db(&g.host.app.db, async |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_operations WHERE transaction_id = $1")
            .bind(stale)
            .fetch_one(c)
            .await
    })
    .await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn an_oversized_token_keeps_nothing_and_a_label_is_kept_exactly_as_given() {
    let g = Guest::start().await;
    let (_, asked) = g.initiate(json!({ "save_payment_method": true, "contact": { "id": "C-2" } })).await;
    let reference = asked["reference"].clone();
    // A token over its 1 KiB ceiling fails the whole webhook: nothing of it is applied.
    let huge = json!({ "token": "t".repeat(2000), "label": "Card", "expires": null });
    let update = json!({ "reference": reference, "state": "captured", "saved": huge });
    let (status, body) = g.webhook(json!({ "event": "paid", "updates": [update] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("saved-payment-method.token"), "{body}");
    assert!(!body.to_string().contains("ttttttttttttttttttt"), "the value is not echoed: {body}");
    assert_eq!(g.transaction(asked["transaction_id"].as_i64().unwrap()).await["state"], "Pending");
    let (_, listed) = send(g.host.admin(Method::GET, "/api/online_payment/payment_methods")).await;
    assert_eq!(listed, json!([]));

    // A label with a newline and markup is stored and answered as the text it is.
    let label = "Visa •••• 4242\n<b>x</b>";
    let update = json!({ "reference": reference, "state": "captured",
                         "saved": { "token": "tok_good", "label": label, "expires": "2031-01" } });
    g.webhook(json!({ "event": "paid", "updates": [update] })).await;
    let (_, listed) = send(g.host.admin(Method::GET, "/api/online_payment/payment_methods")).await;
    assert_eq!(listed[0]["label"], label, "{listed}");
}

#[tokio::test]
async fn capture_amounts_beyond_any_money_and_bodies_of_another_shape_are_refused_before_the_gateway() {
    let g = Guest::start().await;
    let (id, _) = g.authorized("").await;
    let path = format!("/api/online_payment/transaction/{id}/capture");
    for (body, status) in [
        (json!({ "amount": "99999999999999999999999999.99" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "amount": "1.00\n" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "amount": -5 }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!([1]), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (answered, answer) = send(g.host.admin(Method::POST, &path).json(&body)).await;
        assert_eq!(answered, status, "{body}: {answer}");
    }
    let (status, body) = send(g.host.admin(Method::POST, &path).body("{\"amount\": ")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{body}");
    let open: i64 = e2e::host::write_db(&g.host.app.db, async |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_operations").fetch_one(c).await
    })
    .await;
    assert_eq!(open, 0, "no refused capture left an operation behind");
    assert_eq!(g.transaction(id).await["state"], "Authorized");
}
