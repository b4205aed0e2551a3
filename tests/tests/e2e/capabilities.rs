//! Module capabilities (API.md §2): declared in the manifest, shown with the module, filtering
//! the integrations list, and refused (422 `unsupported`) before anything is stored or any
//! gateway is called.

use e2e::host::{component, manifest, send};
use e2e::scenario::MyGatewayScenario;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// MyGateway's manifest at `version` with `capabilities` (YAML flow text) in its runtime.
fn declaring(version: &str, capabilities: &str) -> String {
    manifest("payment_mygateway", version)
        .replace("  sync_interval_s: 900", &format!("  sync_interval_s: 900\n  capabilities: {capabilities}"))
}

async fn upgrade(s: &MyGatewayScenario, version: &str, capabilities: &str) {
    let (status, body) =
        s.host.upload_module(&declaring(version, capabilities), component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn listed(s: &MyGatewayScenario, query: &str) -> (StatusCode, Value) {
    send(s.host.admin(Method::GET, &format!("/api/online_payment/integrations?company_id=1&{query}"))).await
}

async fn initiate(s: &MyGatewayScenario, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "integration_id": s.integration_id, "amount": "10.00", "currency": "USD",
        "return_url": "https://erp.example/r", "document_model": "Invoice", "document_id": 5,
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&body)).await
}

async fn transaction_count(s: &MyGatewayScenario) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM transactions").fetch_one(s.host.app.db.read()).await.unwrap()
}

fn unsupported(answer: &(StatusCode, Value), says: &str) {
    let (status, body) = answer;
    assert_eq!(
        (*status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unsupported")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "`{says}` not in: {message}");
}

#[tokio::test]
async fn a_module_shows_its_capabilities_and_a_bad_declaration_is_refused_naming_the_field() {
    let s = MyGatewayScenario::start().await;
    let (_, modules) = send(s.host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(
        modules[0]["capabilities"],
        json!({"manual_capture": "none", "refunds": "partial", "tokenization": false, "currencies": null,
               "countries": null, "amount_limits": {}}),
        "the defaults of a module that declares none"
    );
    for (capabilities, field) in [
        ("{manual_capture: full}", "runtime.capabilities.manual_capture"),
        ("{tokenization: true}", "runtime.capabilities.tokenization"),
        ("{currencies: [usd]}", "runtime.capabilities.currencies: `usd` must be written `USD`"),
        ("{countries: [USA]}", "runtime.capabilities.countries"),
        ("{amount_limits: {USD: {min: '5', max: '1'}}}", "runtime.capabilities.amount_limits.USD"),
        ("{refunds: sometimes}", "refunds"),
        ("{colour: red}", "colour"),
    ] {
        let (status, body) =
            s.host.upload_module(&declaring("2.0", capabilities), component("payment_mygateway.wasm")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("module_refused")),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains(field), "{field}: {body}");
    }
    upgrade(&s, "2.0", "{refunds: full, currencies: [USD], amount_limits: {USD: {max: '100.00'}}}").await;
    let (_, modules) = send(s.host.admin(Method::GET, "/api/modules")).await;
    let capabilities = &modules[0]["capabilities"];
    assert_eq!((capabilities["refunds"].as_str(), capabilities["currencies"].clone()), (Some("full"), json!(["USD"])));
    assert_eq!(capabilities["amount_limits"], json!({"USD": {"min": null, "max": "100.00"}}));
}

#[tokio::test]
async fn the_integrations_list_keeps_only_what_the_capabilities_take() {
    let s = MyGatewayScenario::start().await;
    let ids = |body: &Value| body.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>();
    // Declaring nothing takes everything.
    let (status, body) = listed(&s, "currency=JPY&amount=5&country=FR").await;
    assert_eq!((status, ids(&body)), (StatusCode::OK, vec![s.integration_id]), "{body}");

    upgrade(
        &s,
        "2.0",
        "{currencies: [USD, EUR], countries: [US, DE], amount_limits: {USD: {min: '1.00', max: '100.00'}}}",
    )
    .await;
    for (query, kept) in [
        ("", true),
        ("currency=USD", true),
        ("currency=usd&amount=1.00", true),
        ("currency=USD&amount=100", true),
        ("currency=EUR&amount=5000", true),
        ("country=de", true),
        ("currency=USD&amount=0.99", false),
        ("currency=USD&amount=100.01", false),
        ("currency=JPY", false),
        ("country=FR", false),
        ("currency=USD&country=FR", false),
    ] {
        let (status, body) = listed(&s, query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(ids(&body), if kept { vec![s.integration_id] } else { vec![] }, "{query}");
    }
    for (query, code) in [
        ("amount=5", "missing_currency"),
        ("country=USA", "invalid_country"),
        ("currency=XAU", "invalid_currency"),
        ("currency=USD&amount=1.001", "invalid_amount"),
        // A newline in any of them is refused, never matched or echoed raw.
        ("country=U%0A", "invalid_country"),
        ("currency=US%0AD", "invalid_currency"),
        ("currency=USD&amount=1%0A", "invalid_amount"),
    ] {
        let (status, body) = listed(&s, query).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{query}");
    }
}

#[tokio::test]
async fn initiates_and_refunds_the_capabilities_leave_out_are_refused_and_store_nothing() {
    let s = MyGatewayScenario::start().await;
    upgrade(&s, "2.0", "{refunds: full, currencies: [USD], amount_limits: {USD: {min: '1.00', max: '100.00'}}}").await;
    let before = transaction_count(&s).await;
    unsupported(&initiate(&s, json!({"currency": "EUR"})).await, "it does not take EUR");
    unsupported(&initiate(&s, json!({"amount": "0.99"})).await, "it takes at least USD 1.00");
    unsupported(&initiate(&s, json!({"amount": "150"})).await, "it takes at most USD 100.00");
    unsupported(&initiate(&s, json!({"capture": "manual"})).await, "does not capture payments later");
    unsupported(&initiate(&s, json!({"save_payment_method": true})).await, "does not save payment methods");
    let (status, body) = initiate(&s, json!({"capture": "sideways"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    assert_eq!((transaction_count(&s).await, s.fake.session_count()), (before, 0), "a refused initiate left something");

    // What it takes goes through: automatic capture, not saving, an amount in its limits.
    let (status, body) = initiate(&s, json!({"capture": "automatic", "save_payment_method": false})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // `refunds: full`: a part is refused, the whole is refunded.
    let (id, _) = s.captured("40.00", 6).await;
    let refund = |body: Value| {
        send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&body))
    };
    unsupported(&refund(json!({"amount": "10.00"})).await, "refunds only a whole payment at once");
    assert!(s.fake.refunds().is_empty(), "a refused refund reached the gateway");
    let (status, body) = refund(json!({})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Refunded")), "{body}");

    // `refunds: none`: nothing is refunded.
    upgrade(&s, "3.0", "{refunds: none}").await;
    let (other, _) = s.captured("20.00", 7).await;
    let answer =
        send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{other}/refund")).json(&json!({})))
            .await;
    unsupported(&answer, "does not refund payments");
    assert_eq!(s.host.transaction(other).await["state"], "Captured");
    assert_eq!(s.fake.refunds().len(), 1);
}
