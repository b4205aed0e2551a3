//! What a messaging provider answers a gateway is served on the host's public origin (the
//! origin of the payment pages): it carries `nosniff` and a `default-src 'none'` CSP, and an
//! answer that cannot be an HTTP answer is the provider's failure, 502 `provider_failed`.

use e2e::fake_twilio::{FakeTwilio, ACCOUNT_SID, AUTH_TOKEN};
use e2e::host::{component, repo, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::twilio_signature;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn twilio_webhook_answers_carry_nosniff_and_the_csp() {
    let fake = FakeTwilio::start().await;
    let options =
        HostOptions { modules: vec!["sms_twilio"], endpoints: vec![fake.endpoint_flag()], ..HostOptions::default() };
    let host = TestHost::start(options).await;
    let credentials = json!({ "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
                              "twilio_from_number": "+14155550199" });
    let id = host.enabled_integration(ADMIN_KEY, 1, "sms_twilio", credentials).await;
    let path = format!("/messaging/webhook/{id}");
    let url = format!("{}{path}", host.app.public_url);
    let params = [("MessageSid", "SM00000000000000000000000000000001"), ("MessageStatus", "delivered")];
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let post = |signature: String| {
        host.public(Method::POST, &path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body.clone())
            .send()
    };

    let answer = post(twilio_signature(AUTH_TOKEN, &url, &params)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(header(&answer, "content-type"), Some("text/xml"));
    assert_eq!(header(&answer, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&answer, "content-security-policy"), Some("default-src 'none'"));
    assert_eq!(header(&answer, "integrations-module"), Some("sms_twilio@1.0"));
    assert!(answer.text().await.unwrap().contains("<Response/>"));

    let refused = post("forged".into()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&refused, "content-type"), Some("application/json"));
    assert_eq!(header(&refused, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&refused, "content-security-policy"), Some("default-src 'none'"));
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "invalid_signature");
}

#[tokio::test]
async fn a_provider_answer_whose_content_type_is_not_a_header_value_is_502_provider_failed() {
    let host = TestHost::start(HostOptions::default()).await;
    let manifest = std::fs::read_to_string(repo().join("tests/fixtures/test_bad_answer.yaml")).unwrap();
    let (status, installed) = host.upload_module(&manifest, component("test_bad_answer.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    let id = host.enabled_integration(ADMIN_KEY, 1, "test_bad_answer", json!({})).await;

    let answer = host.public(Method::POST, &format!("/messaging/webhook/{id}")).body("anything").send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(answer.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    assert_eq!(answer.headers().get(CONTENT_SECURITY_POLICY).unwrap(), "default-src 'none'");
    assert_eq!(header(&answer, "x"), None, "nothing of the provider's answer became a header");
    assert_eq!(header(&answer, "integrations-module"), Some("test_bad_answer@1.0"));
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider_failed", "{body}");
    assert!(!body.to_string().contains("<Response/>"), "the provider's body is not answered: {body}");

    // The host stays up and serves the next call of another company at once.
    let mygateway = json!({ "mygateway_api_key": "pk", "mygateway_secret_key": "sk" });
    let other = host.enabled_integration(ADMIN_KEY, 2, "payment_mygateway", mygateway).await;
    let (status, shown) = send(host.admin(Method::GET, &format!("/api/integrations/{other}"))).await;
    assert_eq!((status, shown["state"].as_str()), (StatusCode::OK, Some("Enabled")));
}
