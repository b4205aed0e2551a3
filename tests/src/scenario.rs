//! A host with an enabled MyGateway integration pointed at a fake MyGateway, and the steps
//! the tests repeat: initiate a payment, deliver a signed webhook.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fake_mygateway::FakeMyGateway;
use crate::hmac_sha256_hex;
use crate::host::{send, HostOptions, TestHost, ADMIN_KEY};

pub const API_KEY: &str = "pk_test_mygateway";
pub const SECRET_KEY: &str = "sk_test_secret_value_51";
pub const WEBHOOK_SECRET: &str = "whsec_test_webhook_secret";

pub struct MyGatewayScenario {
    pub host: TestHost,
    pub fake: FakeMyGateway,
    pub integration_id: i64,
}

impl MyGatewayScenario {
    pub async fn start() -> Self {
        Self::start_with(HostOptions::default()).await
    }

    pub async fn start_with(mut options: HostOptions) -> Self {
        let fake = FakeMyGateway::start(SECRET_KEY).await;
        options.endpoints.push(fake.endpoint_flag());
        let host = TestHost::start(options).await;
        let credentials = json!({
            "mygateway_api_key": API_KEY,
            "mygateway_secret_key": SECRET_KEY,
            "mygateway_webhook_secret": WEBHOOK_SECRET,
        });
        let integration_id = host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials).await;
        Self { host, fake, integration_id }
    }

    /// Initiates a payment of `amount` USD for invoice `document_id`; returns the answer.
    pub async fn initiate(&self, amount: Value, integration_type: &str, document_id: i64) -> Value {
        let (status, body) = send(self.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": self.integration_id,
            "amount": amount,
            "currency": "USD",
            "document_model": "Invoice",
            "document_id": document_id,
            "return_url": "https://erp.example/portal/invoice/42",
            "cancel_url": "https://erp.example/portal/invoice/42?cancelled=1",
            "integration_type": integration_type,
            "pending_action_data": {"signature_data": {"signature": "data:image/png;base64,AAA", "signed_by": "Ada"}},
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// A Redirect payment of `amount` USD the gateway completed (its webhook delivered):
    /// the transaction id and the gateway session id.
    pub async fn captured(&self, amount: &str, document_id: i64) -> (i64, String) {
        let id = self.initiate(json!(amount), "Redirect", document_id).await["transaction_id"].as_i64().unwrap();
        let session_id = self.session_id(id).await;
        self.fake.set_status(&session_id, "completed");
        let (status, body) = self.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
        assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
        (id, session_id)
    }

    /// The gateway session id of an initiated transaction.
    pub async fn session_id(&self, transaction_id: i64) -> String {
        self.host.transaction(transaction_id).await["gateway_reference"].as_str().unwrap().to_string()
    }

    /// Delivers a MyGateway webhook signed with `secret` (None: no signature header).
    pub async fn deliver(&self, event_type: &str, payment_id: &str, secret: Option<&str>) -> (StatusCode, Value) {
        let body = json!({ "type": event_type, "data": { "payment_id": payment_id } }).to_string();
        self.deliver_raw(body, secret).await
    }

    pub async fn deliver_raw(&self, body: String, secret: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .host
            .public(Method::POST, &format!("/payment/webhook/{}", self.integration_id))
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header("X-MyGateway-Signature", hmac_sha256_hex(secret, body.as_bytes()));
        }
        send(request.body(body)).await
    }
}
