//! The API's rules: auth, errors that name what is wrong, idempotency keys, the enable check.

use e2e::host::{send, HostOptions, TestHost};
use e2e::scenario::MyGatewayScenario;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn initiate_body(integration_id: i64, amount: Value, currency: &str) -> Value {
    json!({
        "integration_id": integration_id, "amount": amount, "currency": currency,
        "document_model": "Invoice", "document_id": 1, "return_url": "https://erp.example/r",
    })
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, body) = send(host.public(Method::GET, "/api/modules")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("missing_api_key")));
    let (status, body) = send(host.as_key("wrong", Method::GET, "/api/modules")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
    let key = host.company_key(1).await;
    let (status, body) =
        send(host.as_key(&key, Method::POST, "/api/admin/api_keys").json(&json!({"company_id": 1, "name": "x"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("admin_only")));
    let (status, body) = send(host.public(Method::GET, "/healthz")).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn modules_are_listed_with_their_credential_schema() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, body) = send(host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(status, StatusCode::OK);
    let module = &body[0];
    assert_eq!(module["identifier"], "payment_mygateway");
    assert_eq!(module["integration_types"], json!(["Redirect", "Embedded JS"]));
    assert_eq!(
        module["credentials"][1],
        json!({"name": "mygateway_secret_key", "description": "Secret Key", "hint": null, "required": true, "secret": true, "pattern": null})
    );
    assert_eq!(module["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn enabling_needs_the_providers_consent() {
    let host = TestHost::start(HostOptions::default()).await;
    let (_, created) = send(
        host.admin(Method::POST, "/api/integrations")
            .json(&json!({"company_id": 1, "module": "payment_mygateway", "name": "MG"})),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["state"], "Installed");
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["message"], "Please enter your MyGateway API Key.");
    send(
        host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials"))
            .json(&json!({"mygateway_api_key": "pk"})),
    )
    .await;
    let (_, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!(body["error"]["message"], "Please enter your MyGateway Secret Key.");

    let (status, body) = send(
        host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials"))
            .json(&json!({"mygateway_secret_key": "sk", "nonsense": "x"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_credential"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("nonsense"));
    let (_, shown) = send(host.admin(Method::GET, &format!("/api/integrations/{id}"))).await;
    assert_eq!(shown["credentials"]["mygateway_secret_key"]["set"], false, "a refused update changes nothing");

    send(
        host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials"))
            .json(&json!({"mygateway_secret_key": "sk_secret"})),
    )
    .await;
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")));
    assert_eq!(body["credentials"]["mygateway_secret_key"], json!({"set": true}));
    assert!(!body.to_string().contains("sk_secret"), "credential values never leave the host");
    let (_, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/disable"))).await;
    assert_eq!(body["state"], "Installed");
    let (status, _) = send(host.admin(Method::DELETE, &format!("/api/integrations/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(host.admin(Method::GET, &format!("/api/integrations/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_requests_get_codes_that_name_the_problem() {
    let s = MyGatewayScenario::start().await;
    let initiate = |body: Value| send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&body));
    let id = s.integration_id;

    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").body("{not json")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));
    let mut extra = initiate_body(id, json!("1.00"), "USD");
    extra["surprise"] = json!(1);
    let (status, body) = initiate(extra).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_field")));
    assert!(body["error"]["message"].as_str().unwrap().contains("surprise"));
    let (status, body) = initiate(json!({"integration_id": id})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_field")));
    // An array is not read as the fields in order (serde would), here nor on any other body.
    let (status, body) = initiate(json!([id, "1.00", "USD", null, null, "https://erp.example/r"])).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
        "{body}"
    );
    let patch = s.host.admin(Method::PATCH, &format!("/api/integrations/{id}")).json(&json!(["renamed"]));
    let (status, body) = send(patch).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
        "{body}"
    );
    let (status, shown) = send(s.host.admin(Method::GET, &format!("/api/integrations/{id}"))).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert!(shown["name"].is_string() && shown["name"] != "renamed", "nothing changed: {shown}");

    for (amount, currency, code) in [
        (json!("19.999"), "USD", "invalid_amount"),
        (json!(0), "USD", "invalid_amount"),
        (json!("-5"), "USD", "invalid_amount"),
        (json!("abc"), "USD", "invalid_amount"),
        (json!(true), "USD", "invalid_amount"),
        (json!("1e3"), "USD", "invalid_amount"),
        (json!("1.5"), "JPY", "invalid_amount"),
        (json!("1.0001"), "KWD", "invalid_amount"),
        (json!("10"), "XYZ", "invalid_currency"),
        (json!("10"), "XAU", "invalid_currency"),
    ] {
        let (status, body) = initiate(initiate_body(id, amount.clone(), currency)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{amount} {currency}: {body}"
        );
    }
    let (status, body) = initiate(json!({
        "integration_id": id, "amount": "1", "currency": "USD", "return_url": "https://erp.example/r", "integration_type": "QR Code",
    }))
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unsupported_integration_type"))
    );
    let (status, body) = initiate(initiate_body(999, json!("1"), "USD")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(s.fake.session_count(), 0, "no bad request reached the gateway");

    // Exact amounts in each currency's exponent.
    for (amount, currency, minor) in
        [(json!("1000"), "JPY", 1000), (json!("1.234"), "KWD", 1234), (json!(19.99), "USD", 1999)]
    {
        let (status, body) = initiate(initiate_body(id, amount, currency)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let transaction = s.host.transaction(body["transaction_id"].as_i64().unwrap()).await;
        assert_eq!(transaction["amount_minor"].as_i64(), Some(minor));
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let s = MyGatewayScenario::start().await;
    let body = initiate_body(s.integration_id, json!("4.20"), "USD");
    let first =
        s.host.admin(Method::POST, "/api/online_payment/initiate").header("Idempotency-Key", "order-77").json(&body);
    let (status, first) = send(first).await;
    assert_eq!(status, StatusCode::CREATED);
    let again =
        s.host.admin(Method::POST, "/api/online_payment/initiate").header("Idempotency-Key", "order-77").json(&body);
    let response = again.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    let second: Value = response.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(s.fake.session_count(), 1, "the gateway was asked once");

    let mut different = body.clone();
    different["amount"] = json!("4.21");
    let (status, answer) = send(
        s.host
            .admin(Method::POST, "/api/online_payment/initiate")
            .header("Idempotency-Key", "order-77")
            .json(&different),
    )
    .await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));

    // The same key from another API key is another request.
    let key = s.host.company_key(1).await;
    let (status, _) = send(
        s.host
            .as_key(&key, Method::POST, "/api/online_payment/initiate")
            .header("Idempotency-Key", "order-77")
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(s.fake.session_count(), 2);

    // A key is 1 to 255 visible ASCII characters (the document's pattern): anything else is
    // refused before the gateway is asked.
    for refused in ["order 78", "order\t78", &"k".repeat(256)] {
        let request =
            s.host.admin(Method::POST, "/api/online_payment/initiate").header("Idempotency-Key", refused).json(&body);
        let (status, answer) = send(request).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_idempotency_key")),
            "{refused:?}"
        );
    }
    assert_eq!(s.fake.session_count(), 2);
}

#[tokio::test]
async fn payment_integrations_are_listed_in_sequence_order() {
    let host = TestHost::start(HostOptions::default()).await;
    let credentials = json!({"mygateway_api_key": "pk", "mygateway_secret_key": "sk"});
    let first = host.enabled_integration("test-admin-key", 3, "payment_mygateway", credentials.clone()).await;
    let second = host.enabled_integration("test-admin-key", 3, "payment_mygateway", credentials.clone()).await;
    let disabled = host.enabled_integration("test-admin-key", 3, "payment_mygateway", credentials).await;
    send(host.admin(Method::POST, &format!("/api/integrations/{disabled}/disable"))).await;

    let (status, body) = send(host.admin(Method::PATCH, &format!("/api/integrations/{second}")).json(&json!({
        "payment_sequence": 1, "payment_display_name": "Pay by card", "payment_integration_type": "Embedded JS", "payment_state": "Live",
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["payment_sequence"].as_i64(), body["payment_state"].as_str()), (Some(1), Some("Live")));
    let (status, body) = send(
        host.admin(Method::PATCH, &format!("/api/integrations/{second}")).json(&json!({"payment_state": "Production"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_payment_state"))
    );
    let (status, body) = send(
        host.admin(Method::PATCH, &format!("/api/integrations/{second}"))
            .json(&json!({"payment_integration_type": "QR Code"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unsupported_integration_type"))
    );

    let (status, listed) = send(host.admin(Method::GET, "/api/online_payment/integrations?company_id=3")).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = listed.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [second, first], "enabled only, lowest sequence first");
    assert_eq!(listed[0]["display_name"], "Pay by card");
    assert_eq!(listed[0]["integration_type"], "Embedded JS");
    assert_eq!((listed[0]["test_mode"].as_bool(), listed[1]["test_mode"].as_bool()), (Some(false), Some(true)));
    assert_eq!(listed[0]["image"], "/static/img/mygateway_logo.png");

    let (_, all) = send(host.admin(Method::GET, "/api/integrations?company_id=3&category=Online%20Payment")).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (status, body) = send(host.admin(Method::GET, "/api/integrations?category=Banking")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_category")));
    let (status, body) = send(host.admin(Method::GET, "/api/integrations?colour=red")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
}

/// Forms the document allows that serde alone refused, found by the contract fuzz's positive
/// data: an integer written as a whole float, a refund body of JSON `null`, a string amount
/// of zero (refused by the document's own pattern, and by the host alike).
#[tokio::test]
async fn every_form_the_document_allows_is_taken() {
    let s = MyGatewayScenario::start().await;
    let (status, body) =
        send(s.host.admin(Method::POST, "/api/admin/api_keys").json(&json!({"company_id": 1.0, "name": "float id"})))
            .await;
    assert_eq!((status, body["company_id"].as_i64()), (StatusCode::CREATED, Some(1)), "{body}");
    let (status, body) =
        send(s.host.admin(Method::POST, "/api/admin/api_keys").json(&json!({"company_id": 1.5, "name": "half"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));

    let mut initiate = initiate_body(s.integration_id, json!("2.50"), "USD");
    initiate["integration_id"] = json!(s.integration_id as f64);
    initiate["document_id"] = json!(7.0);
    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&initiate)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&initiate_body(
        s.integration_id,
        json!("0"),
        "USD",
    )))
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount")));

    let (id, _) = s.captured("4.00", 8).await;
    let refund = s
        .host
        .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
        .header("content-type", "application/json")
        .body("null");
    let (status, body) = send(refund).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    assert_eq!(s.host.transaction(id).await["refunded_amount"], "4.00", "null refunds all that is left");
}

#[tokio::test]
async fn integer_query_parameters_take_whole_numbers_written_as_floats() {
    let s = MyGatewayScenario::start().await;
    for path in [
        "/api/online_payment/links?company_id=1.0&limit=10.0",
        "/api/online_payment/payments?company_id=1.0&document_id=42.0",
        "/api/integrations?company_id=1e0",
        "/api/events?after=0.0&limit=5.0",
        "/api/online_payment/payment_methods?company_id=1.00",
    ] {
        let (status, body) = send(s.host.admin(Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    for path in ["/api/online_payment/links?company_id=1.5", "/api/events?limit=ten"] {
        let (status, body) = send(s.host.admin(Method::GET, path)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{path}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains("is not an integer"), "{body}");
    }
}
