//! Logs an operator can read: every request has an id, answered as `X-Request-Id` and carried
//! by every log line of the request; the lines that involve a provider name its module,
//! version, company and integration.

use e2e::logs;
use e2e::scenario::MyGatewayScenario;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").expect("an X-Request-Id").to_str().unwrap().to_string()
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_id_and_provider_lines_name_the_module() {
    logs::capture();
    let s = MyGatewayScenario::start().await;
    let initiate = || {
        s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": s.integration_id, "amount": "5.00", "currency": "USD",
            "return_url": "https://erp.example/r", "document_model": "Invoice", "document_id": 5,
        }))
    };
    let response = initiate().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = request_id(&response);
    let other = request_id(&initiate().send().await.unwrap());
    assert_ne!(id, other, "each request its own id");

    let logged = logs::text();
    let lines: Vec<&str> = logged.lines().filter(|line| line.contains(&format!("request_id={id}"))).collect();
    let provider_line =
        lines.iter().find(|line| line.contains("outbound request")).expect("the gateway call is logged");
    for field in [
        "module=payment_mygateway".to_string(),
        "version=".to_string(),
        "company_id=1".to_string(),
        format!("integration_id={}", s.integration_id),
    ] {
        assert!(provider_line.contains(&field), "{field} in {provider_line}");
    }
    // Every line logged inside the provider's sandbox (set-up, calls, its host calls) is in
    // its `provider` span, which names all four.
    let in_sandbox: Vec<&&str> = lines.iter().filter(|line| line.contains("provider{")).collect();
    assert!(!in_sandbox.is_empty(), "{lines:#?}");
    for line in in_sandbox {
        assert!(line.contains("provider{module=payment_mygateway version="), "{line}");
        assert!(line.contains(&format!("company_id=1 integration_id={}}}", s.integration_id)), "{line}");
    }
    // The other way round: every call this test's gateway saw was logged inside the request
    // that made it (setting up the integration, the two initiates), none outside any request.
    let to_our_gateway: Vec<&str> =
        logged.lines().filter(|line| line.contains("outbound request") && line.contains(&s.fake.url)).collect();
    assert_eq!(to_our_gateway.len(), s.fake.requests().len(), "{to_our_gateway:#?}");
    for line in &to_our_gateway {
        assert!(line.contains("request{") && line.contains("request_id="), "outside a request: {line}");
    }
    for wanted in [&id, &other] {
        let made = to_our_gateway.iter().filter(|line| line.contains(&format!("request_id={wanted}"))).count();
        assert_eq!(made, 1, "one gateway call for request {wanted}");
    }
    let update = lines.iter().find(|line| line.contains("transaction update")).expect("the update is logged");
    assert!(update.contains(&format!("company_id=1 integration_id={}", s.integration_id)), "{update}");
    assert!(!lines.iter().any(|line| line.contains(&format!("request_id={other}"))), "one id per line");

    // A caller's own plain id is kept and logged; free text is replaced by the host's own.
    let response = initiate().header("X-Request-Id", "erp-2026.12.01_7").send().await.unwrap();
    assert_eq!(request_id(&response), "erp-2026.12.01_7");
    assert!(logs::text().contains("request_id=erp-2026.12.01_7"));
    for refused in ["has space", &"x".repeat(65), "a=b"] {
        let response = initiate().header("X-Request-Id", refused).send().await.unwrap();
        let given = request_id(&response);
        assert_ne!(given, refused);
        assert!(given.len() >= 8 && given.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    // Refusals and unknown routes carry one too.
    let refused = s.host.public(Method::GET, "/api/modules").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    request_id(&refused);
    let response = s.host.public(Method::GET, "/no/such/route").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    request_id(&response);
}
