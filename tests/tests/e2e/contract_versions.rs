//! Contract 1.0.0 and 1.1.0 components live side by side on one host, and a component whose
//! imports or exports are of another version than its manifest's world is refused.

use e2e::fake_oauth::FakeOAuth;
use e2e::host::{HostOptions, TestHost, ADMIN_KEY};
use e2e::scenario::MyGatewayScenario;
use serde_json::json;

use super::install_refusals::refused_upload;
use super::oauth_broker::worlds;

fn fixture(identifier: &str) -> String {
    std::fs::read_to_string(e2e::host::repo().join(format!("tests/fixtures/{identifier}.yaml"))).unwrap()
}

#[tokio::test]
async fn a_1_0_0_and_a_1_1_0_module_serve_side_by_side() {
    let fake = FakeOAuth::start("id", "secret").await;
    let s = MyGatewayScenario::start_with(HostOptions {
        fixtures: vec!["test_oauth"],
        endpoints: vec![fake.endpoint_flag("test_oauth")],
        ..HostOptions::default()
    })
    .await;
    assert_eq!(
        worlds(&s.host).await,
        [
            ("payment_mygateway".to_string(), "integrations:provider/payment-provider@1.0.0".to_string()),
            ("test_oauth".to_string(), "integrations:provider/payment-provider@1.1.0".to_string()),
        ]
    );
    // The 1.0.0 module takes a payment while the 1.1.0 one uses the broker, on one host.
    let credentials = json!({"client_id": "id", "client_secret": "secret"});
    let oauth = s.host.enabled_integration(ADMIN_KEY, 1, "test_oauth", credentials).await;
    let answer = s.initiate(json!("5.00"), "Redirect", 7).await;
    assert_eq!(answer["integration_type"], "redirect");
    let (_, body) = e2e::host::send(s.host.admin(reqwest::Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": oauth, "amount": "1.00", "currency": "USD",
        "return_url": "https://erp.example/r", "document_model": "echo",
    })))
    .await;
    assert!(body["error"]["message"].as_str().unwrap().starts_with("status 200"), "{body}");
    assert_eq!(s.initiate(json!("6.00"), "Redirect", 8).await["integration_type"], "redirect");
}

#[tokio::test]
async fn a_component_of_another_version_than_its_world_is_refused() {
    let host = TestHost::start(HostOptions::default()).await;
    // (guest, the version it was built against, the version its manifest is made to name)
    for (guest, built, named) in [("test_oauth", "1.1.0", "1.0.0"), ("test_hostile", "1.0.0", "1.1.0")] {
        let manifest =
            fixture(guest).replace(&format!("payment-provider@{built}"), &format!("payment-provider@{named}"));
        let (message, _) = refused_upload(&host, &manifest, &format!("{guest}.wasm")).await;
        assert!(
            message.contains(&format!("the component was built against integrations:provider@{built}")),
            "{message}"
        );
        let import =
            format!("imports `integrations:provider/http@{built}`: a component of integrations:provider@{named}");
        assert!(message.contains(&import), "{message}");
    }
    // Neither was installed.
    assert_eq!(worlds(&host).await.len(), 1);
}
