//! Installing and enabling Stripe: the shipped manifest, the enable check of keys and mode,
//! and secrets kept out of logs and answers.

use std::path::Path;

use e2e::host::{send, TestHost};
use e2e::{logs, WASM_DIR};
use integrations_host::registry::{load_module, EndpointOverrides};
use integrations_host::runtime::{HostLimits, ProviderRuntime};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{StripeScenario, PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};

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

async fn enable_with(host: &TestHost, id: i64, credentials: Value) -> (StatusCode, Value) {
    let (status, body) =
        send(host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials")).json(&credentials)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable"))).await
}

async fn refused(host: &TestHost, id: i64, credentials: Value, says: &str) {
    let (status, body) = enable_with(host, id, credentials).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "expected `{says}` in: {message}");
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
    let pasted_secret = "sk_test_51PastedIntoThePublicField";
    let (status, body) = enable_with(&host, test, json!({ "stripe_publishable_key": pasted_secret })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap().contains("holds a secret key"), "{body}");
    assert!(!body.to_string().contains(pasted_secret));
    refused(&host, test, json!({ "stripe_publishable_key": "pub_51Abc" }), "must start with pk_test_ or pk_live_")
        .await;
    refused(
        &host,
        test,
        json!({ "stripe_publishable_key": "pk_live_51LiveKey" }),
        "in Test mode but the Stripe Publishable Key is a live key",
    )
    .await;
    refused(
        &host,
        test,
        json!({ "stripe_publishable_key": PUBLISHABLE_KEY, "stripe_secret_key": null }),
        "Please enter your Stripe Secret Key.",
    )
    .await;
    let (status, body) = enable_with(&host, test, json!({ "stripe_secret_key": SECRET_KEY })).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");

    let live = integration(&host, "Live").await;
    refused(
        &host,
        live,
        json!({ "stripe_publishable_key": PUBLISHABLE_KEY, "stripe_secret_key": "sk_live_51Live" }),
        "in Live mode but the Stripe Publishable Key is a test key",
    )
    .await;
    let (status, body) = enable_with(&host, live, json!({ "stripe_publishable_key": "pk_live_51LiveKey" })).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")), "{body}");

    // The check is local: enabling never called Stripe.
    assert!(fake.requests().is_empty());
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
