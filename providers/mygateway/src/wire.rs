//! MyGateway's JSON shapes and how its statuses map to transaction states. Pure code, no
//! host imports; exercised end to end by the host's tests against a fake MyGateway.

use serde::{Deserialize, Serialize};

use crate::integrations::provider::types::TransactionState;

/// Where MyGateway's browser SDK lives.
pub const JS_URL: &str = "https://js.mygateway.com/v1/";

#[derive(Serialize)]
pub struct CreateSession<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub reference: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

#[derive(Deserialize)]
pub struct SessionCreated {
    pub id: String,
    pub checkout_url: String,
}

#[derive(Deserialize)]
pub struct SessionStatus {
    pub id: String,
    pub status: String,
}

impl SessionStatus {
    pub fn state(&self) -> TransactionState {
        match self.status.as_str() {
            "completed" => TransactionState::Captured,
            "expired" => TransactionState::Cancelled,
            _ => TransactionState::Pending,
        }
    }
}

#[derive(Serialize)]
pub struct CreateRefund<'a> {
    pub payment_id: &'a str,
    pub amount: i64,
}

#[derive(Deserialize)]
pub struct RefundCreated {
    pub id: String,
}

/// `GET /v1/refunds?payment_id=`: the refunds MyGateway holds for a payment.
#[derive(Deserialize)]
pub struct RefundList {
    pub data: Vec<ListedRefund>,
}

#[derive(Deserialize)]
pub struct ListedRefund {
    pub amount: i64,
    pub status: String,
}

impl RefundList {
    /// Minor units refunded or being refunded: every refund but a failed one.
    pub fn total_minor(&self) -> i64 {
        self.data.iter().filter(|r| r.status != "failed").map(|r| r.amount.max(0)).fold(0i64, i64::saturating_add)
    }
}

#[derive(Deserialize)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: WebhookData,
}

#[derive(Deserialize)]
pub struct WebhookData {
    pub payment_id: String,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl WebhookEvent {
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The seed's status map. Unknown events change nothing. `payment.refunded` carries no
    /// amount, so it means the whole payment was refunded.
    pub fn state(&self) -> Option<TransactionState> {
        match self.kind.as_str() {
            "payment.completed" => Some(TransactionState::Captured),
            "payment.failed" => Some(TransactionState::Failed),
            "payment.cancelled" => Some(TransactionState::Cancelled),
            "payment.refunded" => Some(TransactionState::Refunded),
            _ => None,
        }
    }
}

/// The Embedded JS configuration the payment page hands to MyGateway's SDK.
pub fn client_config(api_key: &str, session_id: Option<&str>) -> String {
    let mut config = serde_json::json!({ "api_key": api_key, "js_url": JS_URL });
    if let Some(id) = session_id {
        config["session_id"] = id.into();
    }
    config.to_string()
}

/// MyGateway's error body, `{"error": {"message": "..."}}` (or a bare `{"message": ...}`).
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.pointer("/error/message").or_else(|| value.get("message"))?;
    message.as_str().map(str::to_string)
}

/// Keeps a gateway id from escaping its URL path segment.
pub fn path_segment(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).collect()
}
