//! Payment links over HTTP: creating them (validation, company isolation, tokens) and their
//! public page when open, expired and paid.

use base64::Engine as _;
use e2e::host::{send, ADMIN_KEY};
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use integrations_host::store::payment_links::{self, PaymentLinkRow};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn credentials() -> Value {
    json!({
        "mygateway_api_key": API_KEY,
        "mygateway_secret_key": SECRET_KEY,
        "mygateway_webhook_secret": WEBHOOK_SECRET,
    })
}

fn link_body(amount: Value, currency: &str) -> Value {
    json!({
        "company_id": 1, "document_model": "Invoice", "document_id": 42, "amount": amount,
        "currency": currency, "description": "Invoice INV/2024/0042",
    })
}

async fn create(s: &MyGatewayScenario, key: &str, body: Value) -> (StatusCode, Value) {
    send(s.host.as_key(key, Method::POST, "/api/online_payment/links").json(&body)).await
}

async fn create_ok(s: &MyGatewayScenario, body: Value) -> Value {
    let (status, answer) = create(s, ADMIN_KEY, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// GETs a page: status, content type and the HTML.
async fn page(s: &MyGatewayScenario, path: &str) -> (StatusCode, String, String) {
    let response = s.host.public(Method::GET, path).send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    (status, content_type, response.text().await.unwrap())
}

/// Submits the page's form for `integration_id`; the response is not followed.
async fn choose(s: &MyGatewayScenario, token: &str, integration_id: i64) -> reqwest::Response {
    s.host
        .public(Method::POST, &format!("/pay/{token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("integration_id={integration_id}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn payment_link_is_created_with_an_unguessable_token_and_its_page_url() {
    let s = MyGatewayScenario::start().await;
    let first = create_ok(&s, link_body(json!(19.99), "usd")).await;
    assert_eq!((first["amount"].as_str(), first["amount_minor"].as_i64()), (Some("19.99"), Some(1999)));
    assert_eq!(first["currency"], "USD");
    assert_eq!(first["expires_at"], Value::Null);
    let second = create_ok(&s, link_body(json!("19.99"), "USD")).await;
    assert_eq!(second["amount_minor"], 1999);

    let mut tokens = Vec::new();
    for answer in [&first, &second] {
        let token = answer["token"].as_str().unwrap();
        assert_eq!(answer["url"], format!("{}/pay/{token}", s.host.url));
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).unwrap();
        assert!(bytes.len() * 8 >= 128, "{token} carries only {} bits", bytes.len() * 8);
        tokens.push(token.to_string());
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(first["id"], second["id"]);

    // A token differing in one character is another (unknown) link.
    let mut altered = tokens[0].clone().into_bytes();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let (status, _, html) = page(&s, &format!("/pay/{}", String::from_utf8(altered).unwrap())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Payment link not found"), "{html}");

    let expiring = create_ok(
        &s,
        json!({"company_id": 1, "document_model": "Invoice", "document_id": 7, "amount": "1000",
               "currency": "JPY", "description": "Order 7", "expires_at": "2099-01-31T23:59:59+01:00"}),
    )
    .await;
    assert_eq!(expiring["expires_at"], "2099-01-31T22:59:59.000Z");
    assert_eq!(expiring["amount_minor"], 1000);
}

#[tokio::test]
async fn payment_link_creation_refuses_bad_amounts_currencies_and_expiry() {
    let s = MyGatewayScenario::start().await;
    let with = |field: &str, value: Value| {
        let mut body = link_body(json!("19.99"), "USD");
        body[field] = value;
        body
    };
    let cases = [
        (with("amount", json!("19.999")), "invalid_amount"),
        (with("amount", json!(0)), "invalid_amount"),
        (with("amount", json!("-5")), "invalid_amount"),
        (with("amount", json!("1e3")), "invalid_amount"),
        (with("amount", json!(true)), "invalid_amount"),
        (link_body(json!("10.5"), "JPY"), "invalid_amount"),
        (link_body(json!("10"), "ZZZ"), "invalid_currency"),
        (link_body(json!("10"), "XAU"), "invalid_currency"),
        (with("expires_at", json!("2001-01-01T00:00:00Z")), "invalid_expires_at"),
        (with("expires_at", json!("next tuesday")), "invalid_expires_at"),
        (with("expires_at", json!("2099-01-01")), "invalid_expires_at"),
        (with("description", json!("   ")), "invalid_description"),
        (with("description", json!("x".repeat(1001))), "invalid_description"),
        (with("document_model", json!("")), "invalid_document_model"),
    ];
    for (body, code) in cases {
        let (status, answer) = create(&s, ADMIN_KEY, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{body} → {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, answer) = create(&s, ADMIN_KEY, with("surprise", json!(1))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_field")));
    let mut missing = link_body(json!("1"), "USD");
    missing.as_object_mut().unwrap().remove("description");
    let (status, _) = create(&s, ADMIN_KEY, missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn payment_link_creation_is_limited_to_the_keys_company() {
    let s = MyGatewayScenario::start().await;
    let (status, answer) =
        send(s.host.public(Method::POST, "/api/online_payment/links").json(&link_body(json!("1"), "USD"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

    let other = s.host.company_key(2).await;
    let (status, answer) = create(&s, &other, link_body(json!("1"), "USD")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden_company")));

    let own = s.host.company_key(1).await;
    let (status, answer) = create(&s, &own, link_body(json!("1"), "USD")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // The page of company 1's link lists only company 1's integrations.
    let company2 = s.host.enabled_integration(ADMIN_KEY, 2, "payment_mygateway", credentials()).await;
    let token = answer["token"].as_str().unwrap();
    let (_, _, html) = page(&s, &format!("/pay/{token}")).await;
    assert!(html.contains(&format!("value=\"{}\"", s.integration_id)), "{html}");
    assert!(!html.contains(&format!("value=\"{company2}\"")), "{html}");
    // Nor can its form start a payment with another company's integration.
    let response = choose(&s, token, company2).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "another company's integration is none of this link's");
    assert_eq!(s.fake.session_count(), 0);
}

#[tokio::test]
async fn payment_link_open_page_lists_the_integrations_in_sequence_order() {
    let s = MyGatewayScenario::start().await;
    // A second integration placed first, a third disabled.
    let wallet = s.host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials()).await;
    let disabled = s.host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials()).await;
    for (id, name, sequence) in
        [(s.integration_id, "Card <MyGateway>", 20), (wallet, "Wallet", 5), (disabled, "Off", 1)]
    {
        let (status, body) = send(
            s.host
                .admin(Method::PATCH, &format!("/api/integrations/{id}"))
                .json(&json!({"payment_display_name": name, "payment_sequence": sequence})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = send(s.host.admin(Method::POST, &format!("/api/integrations/{disabled}/disable"))).await;
    assert_eq!(status, StatusCode::OK);

    let mut body = link_body(json!("19.99"), "USD");
    body["description"] = json!("Invoice <script>alert(\"x\")</script> & co");
    let link = create_ok(&s, body).await;
    let (status, content_type, html) = page(&s, &format!("/pay/{}", link["token"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/html; charset=utf-8");
    for part in ["<html lang=\"en\">", "<title>Pay USD 19.99</title>", "<main>", "<legend>Choose how to pay</legend>"] {
        assert!(html.contains(part), "{part} missing:\n{html}");
    }
    assert!(html.contains("Invoice &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("USD 19.99"));
    // Labelled radio choices, in payment_sequence order, the disabled one absent.
    let wallet_label = format!("<label for=\"method-{wallet}\">Wallet</label>");
    let card_label = format!("<label for=\"method-{}\">Card &lt;MyGateway&gt;</label>", s.integration_id);
    let (wallet_at, card_at) = (html.find(&wallet_label), html.find(&card_label));
    assert!(wallet_at.is_some() && card_at.is_some() && wallet_at < card_at, "{html}");
    assert!(html.contains(&format!("id=\"method-{wallet}\" value=\"{wallet}\" checked>")), "{html}");
    assert!(!html.contains(&format!("method-{disabled}")), "{html}");
    assert!(html.contains("(test mode)"));

    // A method the page does not offer (disabled, or no such integration) is refused as not
    // found, the page naming the code; no field at all is refused as a missing choice. The
    // link stays open and no payment starts.
    let token = link["token"].as_str().unwrap();
    for (chosen, status, code) in [
        (format!("integration_id={disabled}"), StatusCode::NOT_FOUND, "unknown_payment_method"),
        ("integration_id=999999".to_string(), StatusCode::NOT_FOUND, "unknown_payment_method"),
        (String::new(), StatusCode::UNPROCESSABLE_ENTITY, "missing_payment_method"),
        // A newline in the id, or one past i64: no method chosen, nothing started.
        (format!("integration_id={}%0A", s.integration_id), StatusCode::UNPROCESSABLE_ENTITY, "missing_payment_method"),
        ("integration_id=99999999999999999999".to_string(), StatusCode::UNPROCESSABLE_ENTITY, "missing_payment_method"),
    ] {
        let response = s
            .host
            .public(Method::POST, &format!("/pay/{token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(chosen.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{chosen}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("Error code: <code>{code}</code>")), "{chosen}: {html}");
        assert!(html.contains(&format!("<a href=\"/pay/{token}\">Back to the payment page</a>")), "{html}");
    }
    assert_eq!(s.fake.session_count(), 0, "a refused choice started a payment");
    assert_eq!(page(&s, &format!("/pay/{token}")).await.0, StatusCode::OK, "the link stays open");

    // JPY has no decimals.
    let jpy = create_ok(&s, link_body(json!(1000), "JPY")).await;
    let (_, _, html) = page(&s, &format!("/pay/{}", jpy["token"].as_str().unwrap())).await;
    assert!(html.contains("JPY 1000") && !html.contains("JPY 1000."), "{html}");

    // Unknown and malformed tokens: a 404 page.
    for path in ["/pay/nope", "/pay/%3Cscript%3E", &format!("/pay/{}", "A".repeat(43))] {
        let (status, content_type, html) = page(&s, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(content_type.starts_with("text/html") && html.contains("Payment link not found"), "{path}: {html}");
        assert!(!html.contains("<script>"));
    }
}

#[tokio::test]
async fn payment_link_expired_page_refuses_to_start_a_payment() {
    let s = MyGatewayScenario::start().await;
    // An expired link cannot be created through the API, so it is written as time left it.
    let row = PaymentLinkRow {
        id: 0,
        token: integrations_host::services::random_token(32),
        company_id: 1,
        document_model: "Invoice".into(),
        document_id: 9,
        amount_minor: 500,
        currency: "EUR".into(),
        description: "Old invoice".into(),
        expires_at: Some("2020-03-01T12:30:00.000Z".into()),
        created_at: String::new(),
        revoked_at: None,
    };
    let link = e2e::host::write_db(&s.host.app.db, async |c| payment_links::insert(c, &row).await).await;
    let (status, _, html) = page(&s, &format!("/pay/{}", link.token)).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("<h1>Expired</h1>") && html.contains("2020-03-01 12:30 UTC"), "{html}");
    assert!(html.contains("EUR 5.00") && !html.contains("<form"), "{html}");

    let response = choose(&s, &link.token, s.integration_id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], format!("/pay/{}", link.token).as_str());
    assert_eq!(s.fake.session_count(), 0, "an expired link started a payment");
}

#[tokio::test]
async fn payment_link_page_starts_a_payment_and_shows_paid_once_captured() {
    let s = MyGatewayScenario::start().await;
    let link = create_ok(&s, link_body(json!("19.99"), "USD")).await;
    let token = link["token"].as_str().unwrap();
    let page_url = format!("{}/pay/{token}", s.host.url);

    // A first attempt the payer cancels at the gateway: back on the page, which says so.
    let response = choose(&s, token, s.integration_id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let session = s.fake.session("sess_1");
    assert_eq!(response.headers()["location"], "https://checkout.mygateway.com/session/sess_1");
    assert_eq!((session.amount, session.currency.as_str()), (1999, "USD"));
    let cancelled = s
        .host
        .public(Method::GET, &format!("/api/online_payment/cancel?txn={}", session.reference))
        .send()
        .await
        .unwrap();
    let back = cancelled.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(back, format!("{page_url}?txn={}", session.reference));
    let (status, _, html) = page(&s, back.strip_prefix(&s.host.url).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The payment was not completed") && html.contains("<form"), "{html}");

    // The second attempt is paid (signed webhook): the page says Paid and offers nothing.
    let response = choose(&s, token, s.integration_id).await;
    assert_eq!(response.headers()["location"], "https://checkout.mygateway.com/session/sess_2");
    let (status, body) = s.deliver("payment.completed", "sess_2", Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, html) = page(&s, &format!("/pay/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Paid</h1>") && html.contains("USD 19.99"), "{html}");
    assert!(!html.contains("<form"), "{html}");

    // The transactions are the link's document's; exactly one Payment.
    let payments = s.host.payments("Invoice", 42).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["reference"], s.fake.session("sess_2").reference.as_str());

    // Choosing again starts nothing: back to the page.
    let response = choose(&s, token, s.integration_id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], format!("/pay/{token}").as_str());
    assert_eq!(s.fake.session_count(), 2);
}

#[tokio::test]
async fn payment_link_knows_its_payment_before_the_gateway_answers() {
    let s = MyGatewayScenario::start().await;
    let link = create_ok(&s, link_body(json!("12.00"), "USD")).await;
    let token = link["token"].as_str().unwrap().to_string();
    let linked = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM payment_link_transactions t JOIN payment_links l ON l.id = t.link_id
             WHERE l.token = $1",
        )
        .bind(&token)
        .fetch_one(s.host.app.db.read())
        .await
        .unwrap()
    };
    s.fake.sessions_hold.hold();
    let while_held = async {
        s.fake.sessions_hold.arrived(1).await;
        let linked_then = linked().await;
        s.fake.sessions_hold.release();
        linked_then
    };
    let (response, linked_then) = tokio::join!(choose(&s, &token, s.integration_id), while_held);
    // While the gateway made the session, the Draft was on the link already: a host killed
    // then leaves it there, so the page never offers to pay twice what may be paid.
    assert_eq!(linked_then, 1);
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(linked().await, 1, "linked once");
}
