//! A host with an enabled Stripe integration pointed at a fake Stripe (`fake_stripe`), and the
//! steps the Stripe suite takes through it.

use crate::fake_stripe::{unix_now, FakeStripe};
use crate::host::{send, HostOptions, TestHost, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const PUBLISHABLE_KEY: &str = "pk_test_51FakePublishableKey0042";
pub const SECRET_KEY: &str = "sk_test_51FakeSecretKeyValue7431";
pub const WEBHOOK_SECRET: &str = "whsec_FakeSigningSecret9051";

pub fn credentials() -> Value {
    json!({
        "stripe_publishable_key": PUBLISHABLE_KEY,
        "stripe_secret_key": SECRET_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
    })
}

/// A host with an enabled Stripe integration (Test mode) pointed at a fake Stripe.
pub struct StripeScenario {
    pub host: TestHost,
    pub fake: FakeStripe,
    pub integration_id: i64,
}

impl StripeScenario {
    pub async fn start() -> Self {
        let (host, fake) = Self::host().await;
        let integration_id = host.enabled_integration(ADMIN_KEY, 1, "payment_stripe", credentials()).await;
        Self { host, fake, integration_id }
    }

    /// A host with the Stripe module and a fake Stripe, but no integration yet.
    pub async fn host() -> (TestHost, FakeStripe) {
        let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
        let host = TestHost::start(HostOptions {
            modules: vec!["payment_stripe"],
            endpoints: vec![fake.endpoint_flag()],
            ..HostOptions::default()
        })
        .await;
        (host, fake)
    }

    pub async fn initiate_raw(
        &self,
        amount: Value,
        currency: &str,
        kind: &str,
        document_id: i64,
    ) -> (StatusCode, Value) {
        send(self.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": self.integration_id,
            "amount": amount,
            "currency": currency,
            "document_model": "Invoice",
            "document_id": document_id,
            "return_url": "https://erp.example/portal/invoice/42",
            "cancel_url": "https://erp.example/portal/invoice/42?cancelled=1",
            "integration_type": kind,
        })))
        .await
    }

    /// Initiates a payment and expects it to be created; returns the answer.
    pub async fn initiate_in(&self, amount: Value, currency: &str, kind: &str, document_id: i64) -> Value {
        let (status, body) = self.initiate_raw(amount, currency, kind, document_id).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn initiate(&self, amount: &str, kind: &str, document_id: i64) -> Value {
        self.initiate_in(json!(amount), "USD", kind, document_id).await
    }

    /// The Stripe id the transaction was created with (session or intent).
    pub async fn gateway_reference(&self, transaction_id: i64) -> String {
        self.host.transaction(transaction_id).await["gateway_reference"]
            .as_str()
            .expect("a gateway reference")
            .to_string()
    }

    /// Delivers a webhook event about `object`, signed by the fake as Stripe would sign it now.
    pub async fn deliver(&self, kind: &str, object: Value) -> (StatusCode, Value) {
        let body = self.fake.event(kind, object);
        let signature = self.fake.signature_header(&body, unix_now());
        self.deliver_raw(body, Some(signature)).await
    }

    pub async fn deliver_raw(&self, body: String, signature: Option<String>) -> (StatusCode, Value) {
        let mut request = self
            .host
            .public(Method::POST, &format!("/payment/webhook/{}", self.integration_id))
            .header("content-type", "application/json; charset=utf-8");
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        send(request.body(body)).await
    }

    pub async fn refund(&self, transaction_id: i64, body: Value) -> (StatusCode, Value) {
        send(
            self.host
                .admin(Method::POST, &format!("/api/online_payment/transaction/{transaction_id}/refund"))
                .json(&body),
        )
        .await
    }

    pub async fn sync(&self, transaction_id: i64) -> (StatusCode, Value) {
        send(self.host.admin(Method::POST, &format!("/api/online_payment/transaction/{transaction_id}/sync"))).await
    }

    /// The payer's browser comes back to the public return URL; returns where it is sent.
    pub async fn payer_returns(&self, query: &str) -> String {
        let response =
            self.host.public(Method::GET, &format!("/api/online_payment/return?{query}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()["location"].to_str().unwrap().to_string()
    }

    /// Initiates a manual-capture payment; returns the answer.
    pub async fn initiate_manual(&self, amount: &str, kind: &str, document_id: i64) -> Value {
        let (status, body) = send(self.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": self.integration_id, "amount": amount, "currency": "USD",
            "document_model": "Invoice", "document_id": document_id,
            "return_url": "https://erp.example/portal/invoice/42", "integration_type": kind, "capture": "manual",
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// A manual-capture Embedded JS payment whose card Stripe authorized, reported by
    /// `payment_intent.amount_capturable_updated`. Returns (transaction id, PaymentIntent id).
    pub async fn authorized_intent(&self, amount: &str, document_id: i64) -> (i64, String) {
        let id = self.initiate_manual(amount, "Embedded JS", document_id).await["transaction_id"].as_i64().unwrap();
        let payment_intent = self.gateway_reference(id).await;
        self.fake.authorize_intent(&payment_intent);
        let (status, body) =
            self.deliver("payment_intent.amount_capturable_updated", self.fake.intent(&payment_intent)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(self.host.transaction(id).await["state"], "Authorized");
        (id, payment_intent)
    }

    /// `POST …/capture` or `…/void` with a body and an optional Idempotency-Key.
    pub async fn operate(
        &self,
        transaction_id: i64,
        what: &str,
        body: Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.host.admin(Method::POST, &format!("/api/online_payment/transaction/{transaction_id}/{what}"));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        send(request.json(&body)).await
    }

    /// A Redirect payment paid on Checkout and reported by `checkout.session.completed`.
    /// Returns (transaction id, session id, PaymentIntent id).
    pub async fn captured_checkout(&self, amount: &str, document_id: i64) -> (i64, String, String) {
        let answer = self.initiate(amount, "Redirect", document_id).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let session_id = self.gateway_reference(id).await;
        let payment_intent = self.fake.pay_checkout(&session_id);
        let (status, body) = self.deliver("checkout.session.completed", self.fake.session(&session_id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(self.host.transaction(id).await["state"], "Captured");
        (id, session_id, payment_intent)
    }

    /// An Embedded JS payment whose intent succeeded, reported by `payment_intent.succeeded`.
    /// Returns (transaction id, PaymentIntent id).
    pub async fn captured_intent(&self, amount: &str, document_id: i64) -> (i64, String) {
        let answer = self.initiate(amount, "Embedded JS", document_id).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let payment_intent = self.gateway_reference(id).await;
        self.fake.succeed_intent(&payment_intent);
        let (status, body) = self.deliver("payment_intent.succeeded", self.fake.intent(&payment_intent)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(self.host.transaction(id).await["state"], "Captured");
        (id, payment_intent)
    }
}
