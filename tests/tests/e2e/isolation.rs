//! Company isolation: a company key sees and touches only its own company, and provider
//! code serving one company's integration sees only that integration's credentials.

use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use e2e::scenario::MyGatewayScenario;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_company_key_cannot_reach_another_company() {
    let s = MyGatewayScenario::start().await;
    let host = &s.host;
    let (theirs, their_integration) = (host.company_key(1).await, s.integration_id);
    let ours = host.company_key(2).await;
    let their_transaction = s.initiate(json!("9.00"), "Redirect", 5).await["transaction_id"].as_i64().unwrap();

    for (method, path) in [
        (Method::GET, format!("/api/integrations/{their_integration}")),
        (Method::PATCH, format!("/api/integrations/{their_integration}")),
        (Method::PUT, format!("/api/integrations/{their_integration}/credentials")),
        (Method::POST, format!("/api/integrations/{their_integration}/enable")),
        (Method::POST, format!("/api/integrations/{their_integration}/disable")),
        (Method::DELETE, format!("/api/integrations/{their_integration}")),
        (Method::GET, format!("/api/online_payment/transaction/{their_transaction}")),
        (Method::POST, format!("/api/online_payment/transaction/{their_transaction}/refund")),
    ] {
        let (status, body) = send(host.as_key(&ours, method.clone(), &path).json(&json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (status, _) = send(host.as_key(&ours, Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": their_integration, "amount": "1", "currency": "USD", "return_url": "https://erp.example/r",
    })))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        "/api/integrations?company_id=1",
        "/api/online_payment/payments?company_id=1",
        "/api/online_payment/integrations?company_id=1",
    ] {
        let (status, _) = send(host.as_key(&ours, Method::GET, path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = send(
        host.as_key(&ours, Method::POST, "/api/integrations")
            .json(&json!({"company_id": 1, "module": "payment_mygateway", "name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listed) = send(host.as_key(&ours, Method::GET, "/api/integrations")).await;
    assert_eq!(listed, json!([]));

    // Their own key still sees everything of theirs, and the integration is unchanged.
    let (status, shown) =
        send(host.as_key(&theirs, Method::GET, &format!("/api/integrations/{their_integration}"))).await;
    assert_eq!((status, shown["state"].as_str()), (StatusCode::OK, Some("Enabled")));
    let (_, listed) = send(host.as_key(&theirs, Method::GET, "/api/online_payment/integrations")).await;
    assert_eq!(listed[0]["id"].as_i64(), Some(their_integration));
}

#[tokio::test]
async fn provider_code_sees_only_the_credentials_of_the_integration_it_serves() {
    let host = TestHost::start(HostOptions { with_hostile: true, ..HostOptions::default() }).await;
    let a = host
        .enabled_integration(
            ADMIN_KEY,
            1,
            "test_hostile",
            json!({"api_key": "key-of-company-a", "secret_key": "secret-a"}),
        )
        .await;
    let b = host
        .enabled_integration(
            ADMIN_KEY,
            2,
            "test_hostile",
            json!({"api_key": "key-of-company-b", "secret_key": "secret-b"}),
        )
        .await;
    for (integration, own, other) in
        [(a, "key-of-company-a", "key-of-company-b"), (b, "key-of-company-b", "key-of-company-a")]
    {
        let (status, body) = send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": integration, "amount": "1", "currency": "USD", "return_url": "https://erp.example/r",
            "document_model": "leak-credential",
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let seen = body["redirect_url"].as_str().unwrap();
        assert!(seen.ends_with(own), "{seen}");
        assert!(!seen.contains(other), "{seen}");
    }
}
