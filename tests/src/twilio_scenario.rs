//! A host with an enabled Twilio integration pointed at a fake Twilio (`fake_twilio`), and
//! the steps the messaging suite takes through it: send, post a (signed) callback, read a
//! message.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fake_twilio::{FakeTwilio, ACCOUNT_SID, AUTH_TOKEN};
use crate::host::{send, HostOptions, TestHost, ADMIN_KEY};
use crate::twilio_signature;

/// A host with an enabled Twilio integration (company 1) pointed at a fake Twilio.
pub struct TwilioScenario {
    pub host: TestHost,
    pub fake: FakeTwilio,
    pub integration_id: i64,
}

impl TwilioScenario {
    /// A host with an enabled Twilio integration whose sender fields are `sender` (merged into
    /// the credentials) and whose public URL is `public_url`.
    pub async fn start(sender: Value, public_url: Option<&str>) -> Self {
        let fake = FakeTwilio::start().await;
        let options = HostOptions {
            modules: vec!["sms_twilio"],
            endpoints: vec![fake.endpoint_flag()],
            public_url: public_url.map(str::to_string),
            ..HostOptions::default()
        };
        let host = TestHost::start(options).await;
        let mut credentials = json!({ "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN });
        for (name, value) in sender.as_object().unwrap() {
            credentials[name] = value.clone();
        }
        let integration_id = host.enabled_integration(ADMIN_KEY, 1, "sms_twilio", credentials).await;
        Self { host, fake, integration_id }
    }

    pub async fn send(&self, to: &str, body: &str) -> (StatusCode, Value) {
        send(
            self.host
                .admin(Method::POST, "/api/messaging/send")
                .json(&json!({ "company_id": 1, "to": to, "body": body })),
        )
        .await
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/messaging/webhook/{}", self.host.app.public_url, self.integration_id)
    }

    /// Posts a form to the webhook, signed over `signed_url` (None: unsigned).
    pub async fn callback(&self, params: &[(&str, &str)], signed_url: Option<&str>, token: &str) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let mut request = self
            .host
            .public(Method::POST, &format!("/messaging/webhook/{}", self.integration_id))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(url) = signed_url {
            request = request.header("X-Twilio-Signature", twilio_signature(token, url, params));
        }
        request.body(body).send().await.unwrap()
    }

    pub async fn message(&self, id: i64) -> Value {
        let (status, body) = send(self.host.admin(Method::GET, &format!("/api/messaging/messages/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}
