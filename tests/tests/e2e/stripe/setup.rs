//! Installing and enabling Stripe: the shipped manifest, the enable check of keys and mode,
//! and secrets kept out of logs and answers.

use std::path::Path;

use e2e::host::{send, TestHost};
use e2e::{logs, WASM_DIR};
use integrations_host::registry::{load_module, EndpointOverrides};
use integrations_host::runtime::{HostLimits, ProviderRuntime};
use integrations_host::store::credentials;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{StripeScenario, PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};

#[test]
fn the_shipped_module_talks_to_stripe_itself() {
    // Without an operator override the module reaches https://api.stripe.com and nothing else.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("manifests/payment_stripe.yaml")).unwrap();
    let component = std::fs::read(Path::new(WASM_DIR).join("payment_stripe.wasm")).unwrap();
    let runtime = ProviderRuntime::new(HostLimits { max_instances: 2, ..HostLimits::default() }).unwrap();
    let module = load_module(&runtime, &manifest, &component, &EndpointOverrides::default()).unwrap();
    assert_eq!(module.manifest.identifier, "payment_stripe");
    assert_eq!(module.manifest.runtime.integration_types, ["Redirect", "Embedded JS"]);
    assert_eq!(module.manifest.runtime.allowed_hosts, ["api.stripe.com"]);
    for test_mode in [true, false] {
        assert_eq!(module.grants.endpoints.base_url("api", test_mode).as_deref(), Some("https://api.stripe.com"));
    }
    let credentials: Vec<_> = module.manifest.runtime.credentials.iter().map(|c| (c.name.as_str(), c.secret)).collect();
    assert_eq!(
        credentials,
        [("stripe_publishable_key", false), ("stripe_secret_key", true), ("stripe_webhook_secret", true)]
    );
}

async fn integration(host: &TestHost, payment_state: &str) -> i64 {
    let (status, body) = send(host.admin(Method::POST, "/api/integrations").json(&json!({
        "company_id": 1, "module": "payment_stripe", "name": format!("Stripe {payment_state}"),
        "payment_state": payment_state,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn put(host: &TestHost, id: i64, credentials: Value) -> (StatusCode, Value) {
    send(host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials")).json(&credentials)).await
}

async fn enable_with(host: &TestHost, id: i64, credentials: Value) -> (StatusCode, Value) {
    let (status, body) = put(host, id, credentials).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await
}

async fn refused(host: &TestHost, id: i64, credentials: Value, says: &str) {
    let (status, body) = enable_with(host, id, credentials).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "expected `{says}` in: {message}");
}

/// A value the manifest's pattern refuses for the mode: 422 `invalid_credential` naming the
/// credential and the mode, the value never echoed, nothing stored.
async fn misfit(host: &TestHost, id: i64, name: &str, value: &str, mode: &str) -> Value {
    let before = stored_values(host, id).await;
    let (status, body) = put(host, id, json!({ name: value })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_credential"))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(name) && message.contains(&format!("{mode} mode")), "{message}");
    assert!(!body.to_string().contains(value), "the value is echoed: {body}");
    // The view shows only whether a value is set, so the stored values themselves are compared.
    assert_eq!(stored_values(host, id).await, before, "a refused value is not stored");
    body
}

/// Every stored credential of the integration, decrypted, by name.
async fn stored_values(host: &TestHost, id: i64) -> std::collections::BTreeMap<String, String> {
    let stored = credentials::all(host.app.db.read(), &host.app.keys, id).await.unwrap();
    stored.into_iter().map(|(name, credential)| (name, credential.value.to_string())).collect()
}

#[tokio::test]
async fn enabling_checks_the_keys_and_that_they_fit_the_mode() {
    let (host, fake) = StripeScenario::host().await;
    let test = integration(&host, "Test").await;
    refused(
        &host,
        test,
        json!({ "stripe_secret_key": SECRET_KEY, "stripe_webhook_secret": WEBHOOK_SECRET }),
        "Please enter your Stripe Publishable Key.",
    )
    .await;
    // Checked by the host, secret keys too: the provider cannot read the secret key.
    misfit(&host, test, "stripe_publishable_key", "sk_test_51PastedIntoThePublicField", "Test").await;
    misfit(&host, test, "stripe_publishable_key", "pub_51Abc", "Test").await;
    misfit(&host, test, "stripe_publishable_key", "pk_live_51LiveKey", "Test").await;
    misfit(&host, test, "stripe_secret_key", "sk_live_51RealMoneyKey", "Test").await;
    misfit(&host, test, "stripe_secret_key", "rk_live_51RestrictedLive", "Test").await;
    misfit(&host, test, "stripe_webhook_secret", "not_a_signing_secret", "Test").await;
    refused(
        &host,
        test,
        json!({ "stripe_publishable_key": PUBLISHABLE_KEY, "stripe_secret_key": null }),
        "Please enter your Stripe Secret Key.",
    )
    .await;
    let (status, body) = enable_with(&host, test, json!({ "stripe_secret_key": "rk_test_51Restricted" })).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");

    let live = integration(&host, "Live").await;
    misfit(&host, live, "stripe_secret_key", SECRET_KEY, "Live").await;
    misfit(&host, live, "stripe_publishable_key", PUBLISHABLE_KEY, "Live").await;
    let (status, body) = enable_with(
        &host,
        live,
        json!({ "stripe_publishable_key": "pk_live_51LiveKey", "stripe_secret_key": "sk_live_51Live" }),
    )
    .await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");

    // The checks are local: enabling never called Stripe.
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn switching_the_mode_disables_keys_that_no_longer_fit() {
    let (host, _fake) = StripeScenario::host().await;
    let id = integration(&host, "Test").await;
    let keys = json!({ "stripe_publishable_key": PUBLISHABLE_KEY, "stripe_secret_key": SECRET_KEY });
    let (status, body) = enable_with(&host, id, keys).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");
    let patch = |state: &str| {
        send(host.admin(Method::PATCH, &format!("/api/integrations/{id}")).json(&json!({ "payment_state": state })))
    };

    let (status, body) = patch("Live").await;
    assert_eq!((status, body["payment_state"].as_str()), (StatusCode::OK, Some("Live")), "{body}");
    assert_eq!(body["state"], "Installed", "test keys do not take live payments: {body}");
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_credential"))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("stripe_publishable_key") && message.contains("Live mode"), "{message}");
    assert!(!body.to_string().contains(SECRET_KEY) && !body.to_string().contains(PUBLISHABLE_KEY));

    // Back to Test: the keys fit again, and a disabled integration stays as the merchant left it.
    let (_, body) = patch("Test").await;
    assert_eq!(body["state"], "Installed");
    let (status, body) = send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");
    // A patch that leaves the mode as it is changes nothing else.
    let (_, body) = patch("Test").await;
    assert_eq!(body["state"], "Enabled");
}

#[tokio::test]
async fn secrets_stay_out_of_logs_and_answers() {
    logs::capture();
    let s = StripeScenario::start().await;
    let mut answers = Vec::new();
    let (id, payment_intent) = s.captured_intent("7.00", 80).await;
    answers.push(s.host.transaction(id).await);
    answers.push(s.initiate("7.00", "Redirect", 81).await);
    let forged = s.fake.event("payment_intent.succeeded", s.fake.intent(&payment_intent));
    answers.push(s.deliver_raw(forged, Some("t=1,v1=00".into())).await.1);
    answers.push(s.refund(id, json!({"amount": "1.00"})).await.1);
    s.fake.set_outage(Some((401, "Invalid API Key provided: sk_test_****7431")));
    let (status, refused) = s.refund(id, json!({})).await;
    assert_eq!((status, refused["success"].as_bool()), (StatusCode::OK, Some(false)));
    answers.push(refused);
    s.fake.set_outage(None);
    answers.push(send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await.1);

    let logged = logs::text();
    assert!(logged.contains("outbound request"), "the capture sees the host's logs");
    assert!(logged.contains("webhook rejected"));
    for secret in [SECRET_KEY, WEBHOOK_SECRET] {
        assert!(!logged.contains(secret), "a secret reached the log");
        for answer in &answers {
            assert!(!answer.to_string().contains(secret), "a secret reached an answer: {answer}");
        }
    }
}
