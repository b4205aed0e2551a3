//! Messages.

use serde::Serialize;
use utoipa::ToSchema;

use crate::services::records::{HistoryRow, MessageRow};

/// A message, outbound or inbound; `history` is empty in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub integration_id: i64,
    pub company_id: i64,
    /// outbound or inbound.
    pub direction: String,
    pub to: String,
    pub from: Option<String>,
    pub body: String,
    /// Queued, Sent, Delivered, Failed, Undelivered or Received.
    pub state: String,
    pub remote_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub history: Vec<MessageHistory>,
}

/// A state a message reached, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageHistory {
    pub state: String,
    pub at: String,
}

impl Message {
    pub fn new(row: &MessageRow, history: &[HistoryRow]) -> Self {
        Self {
            id: row.id,
            integration_id: row.integration_id,
            company_id: row.company_id,
            direction: row.direction.clone(),
            to: row.to_number.clone(),
            from: row.from_number.clone(),
            body: row.body.clone(),
            state: row.state.clone(),
            remote_id: row.remote_id.clone(),
            error_code: row.error_code.clone(),
            error_message: row.error_message.clone(),
            document_model: row.document_model.clone(),
            document_id: row.document_id,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            history: history.iter().map(|h| MessageHistory { state: h.state.clone(), at: h.at.clone() }).collect(),
        }
    }
}
