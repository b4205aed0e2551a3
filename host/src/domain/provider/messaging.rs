//! The messaging world's values.

pub use super::WebhookResponse;

use crate::domain::message_state::MessageState;

#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub to: String,
    pub body: String,
}

/// The gateway's answer to a send.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub remote_id: String,
    pub state: MessageState,
}

/// A delivery status the gateway reports of a message.
#[derive(Debug, Clone)]
pub struct MessageUpdate {
    pub remote_id: String,
    pub state: MessageState,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// A message someone sent to the company.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub remote_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

/// A messaging webhook, read.
#[derive(Debug, Clone)]
pub struct ParsedMessagingWebhook {
    pub event_type: String,
    pub updates: Vec<MessageUpdate>,
    pub inbound: Vec<InboundMessage>,
    pub response: Option<WebhookResponse>,
}
