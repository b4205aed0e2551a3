//! A host with an enabled PayPal integration pointed at a fake PayPal (`fake_paypal`), and
//! the steps the PayPal suite takes through it.

use crate::fake_paypal::FakePayPal;
use crate::host::{send, HostOptions, TestHost, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer5jkUq4ZfWT5qwb6qQRPq7jDtv57TL4POEEezGLdutcxnkJ";
pub const CLIENT_SECRET: &str = "ECYYrrSHdKfk_Q0EdvzdGkzj58a66kKaUQ5dZAEv4HvvtDId2_DpSuYDB088BZxGuMji7G4OFUnPog6p";
pub const WEBHOOK_ID: &str = "8PT597110X687430LKGECATA";
pub const PAYER_ID: &str = "QYR5Z8XDVJNXQ";

/// A host with an enabled PayPal integration (Test mode) pointed at a fake PayPal.
pub struct PayPalScenario {
    pub host: TestHost,
    pub fake: FakePayPal,
    pub integration_id: i64,
}

impl PayPalScenario {
    pub async fn start() -> Self {
        let fake = FakePayPal::start(CLIENT_ID, CLIENT_SECRET).await;
        let host = TestHost::start(HostOptions {
            modules: vec!["payment_paypal"],
            endpoints: vec![fake.endpoint_flag()],
            ..HostOptions::default()
        })
        .await;
        let credentials = json!({
            "paypal_client_id": CLIENT_ID,
            "paypal_client_secret": CLIENT_SECRET,
            "paypal_webhook_id": WEBHOOK_ID,
        });
        let integration_id = host.enabled_integration(ADMIN_KEY, 1, "payment_paypal", credentials).await;
        Self { host, fake, integration_id }
    }

    pub fn initiate_request(&self, amount: Value, currency: &str, document_id: i64) -> reqwest::RequestBuilder {
        self.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": self.integration_id,
            "amount": amount,
            "currency": currency,
            "document_model": "Invoice",
            "document_id": document_id,
            "return_url": "https://erp.example/portal/invoice/42",
            "cancel_url": "https://erp.example/portal/invoice/42?cancelled=1",
        }))
    }

    pub async fn try_initiate(&self, amount: Value, currency: &str, document_id: i64) -> (StatusCode, Value) {
        send(self.initiate_request(amount, currency, document_id)).await
    }

    pub async fn initiate(&self, amount: Value, currency: &str, document_id: i64) -> Value {
        let (status, body) = self.try_initiate(amount, currency, document_id).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Initiates a payment; returns (transaction id, reference, PayPal order id).
    pub async fn pending(&self, amount: &str, document_id: i64) -> (i64, String, String) {
        let answer = self.initiate(json!(amount), "USD", document_id).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let order_id = self.order_id(id).await;
        (id, answer["reference"].as_str().unwrap().to_string(), order_id)
    }

    pub async fn order_id(&self, transaction_id: i64) -> String {
        self.host.transaction(transaction_id).await["gateway_reference"]
            .as_str()
            .expect("the order id is the gateway reference")
            .to_string()
    }

    /// PayPal sends the payer back: `token` is the order id.
    pub async fn payer_returns(&self, reference: &str, token: &str) -> reqwest::Response {
        let path = format!("/api/online_payment/return?txn={reference}&token={token}&PayerID={PAYER_ID}");
        let response = self.host.public(Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response
    }

    /// Initiates, approves at PayPal and returns: a Captured payment in `currency`.
    pub async fn captured(&self, amount: &str, currency: &str, document_id: i64) -> (i64, String) {
        let answer = self.initiate(json!(amount), currency, document_id).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let order_id = self.order_id(id).await;
        self.fake.approve(&order_id);
        self.payer_returns(answer["reference"].as_str().unwrap(), &order_id).await;
        assert_eq!(self.host.transaction(id).await["state"], "Captured");
        (id, order_id)
    }

    pub async fn refund(&self, id: i64, body: Value) -> (StatusCode, Value) {
        send(self.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&body)).await
    }

    pub async fn sync(&self, id: i64) -> (StatusCode, Value) {
        send(self.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/sync"))).await
    }

    /// Delivers `event` with a transmission the fake PayPal signed.
    pub async fn deliver(&self, event: &Value) -> (StatusCode, Value) {
        let headers = self.fake.sign(event, WEBHOOK_ID);
        self.deliver_with(event.to_string(), headers).await
    }

    pub async fn deliver_with(&self, body: String, headers: Vec<(&str, String)>) -> (StatusCode, Value) {
        let mut request = self
            .host
            .public(Method::POST, &format!("/payment/webhook/{}", self.integration_id))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        send(request.body(body)).await
    }

    pub async fn set_credentials(&self, credentials: Value) {
        let path = format!("/api/integrations/{}/credentials", self.integration_id);
        let (status, body) = send(self.host.admin(Method::PUT, &path).json(&credentials)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
