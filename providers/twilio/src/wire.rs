//! Twilio's JSON shapes, status names and error bodies.

use serde::Deserialize;

use crate::exports::integrations::provider::messaging::MessageState;
use crate::integrations::provider::types::{ErrorKind, ProviderError};

#[derive(Deserialize)]
pub struct Account {
    #[allow(dead_code)]
    pub sid: String,
}

#[derive(Deserialize)]
pub struct Message {
    pub sid: String,
    pub status: String,
}

/// Twilio's message statuses in ours.
pub fn state(status: &str) -> MessageState {
    match status {
        "sent" => MessageState::Sent,
        "delivered" | "read" => MessageState::Delivered,
        "failed" | "canceled" => MessageState::Failed,
        "undelivered" => MessageState::Undelivered,
        "received" | "receiving" => MessageState::Received,
        // queued, accepted, scheduled, sending
        _ => MessageState::Queued,
    }
}

/// Twilio's error body, `{"code", "message", "more_info", "status"}`, as a provider error.
pub fn status_error(status: u16, body: &[u8]) -> ProviderError {
    #[derive(Deserialize)]
    struct TwilioError {
        code: Option<i64>,
        message: Option<String>,
    }
    let parsed: Option<TwilioError> = serde_json::from_slice(body).ok();
    let detail = match parsed {
        Some(TwilioError { code: Some(code), message: Some(message) }) => format!("Twilio error {code}: {message}"),
        Some(TwilioError { message: Some(message), .. }) => format!("Twilio: {message}"),
        _ => format!("Twilio answered HTTP {status}"),
    };
    let (kind, retryable) = match status {
        401 | 403 => (ErrorKind::InvalidCredentials, false),
        404 => (ErrorKind::NotFound, false),
        429 => (ErrorKind::GatewayUnavailable, true),
        400..=499 => (ErrorKind::InvalidRequest, false),
        _ => (ErrorKind::GatewayUnavailable, true),
    };
    ProviderError { kind, message: detail, retryable }
}
