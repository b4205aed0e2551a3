//! Events for the ERP, their endpoints and deliveries.

use serde::Serialize;
use utoipa::ToSchema;

pub use crate::services::event_delivery::Event;
use crate::services::records::{DeliveryAttemptRow, DeliveryRow, EndpointRow};

/// A page of events, oldest first; `next_after` is the `after` of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub next_after: i64,
}

/// An event with its deliveries and every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: Event,
    pub deliveries: Vec<Delivery>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// An event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub endpoint_id: i64,
    /// pending, delivered or failed.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
}

impl From<&DeliveryRow> for Delivery {
    fn from(row: &DeliveryRow) -> Self {
        Self {
            endpoint_id: row.endpoint_id,
            state: row.state.clone(),
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.clone(),
        }
    }
}

/// One POST to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub endpoint_id: i64,
    pub attempted_at: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub succeeded: bool,
}

impl From<&DeliveryAttemptRow> for DeliveryAttempt {
    fn from(row: &DeliveryAttemptRow) -> Self {
        Self {
            endpoint_id: row.endpoint_id,
            attempted_at: row.attempted_at.clone(),
            status_code: row.status_code,
            error: row.error.clone(),
            succeeded: row.succeeded != 0,
        }
    }
}

/// An event endpoint (its secret is never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventEndpoint {
    pub id: i64,
    pub url: String,
    pub company_id: Option<i64>,
    pub types: Option<Vec<String>>,
    pub created_at: String,
}

impl From<&EndpointRow> for EventEndpoint {
    fn from(endpoint: &EndpointRow) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url.clone(),
            company_id: endpoint.company_id,
            types: endpoint.types.as_deref().and_then(|t| serde_json::from_str(t).ok()),
            created_at: endpoint.created_at.clone(),
        }
    }
}

/// Whether a redelivery was queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct Redelivered {
    pub event_id: i64,
    /// How many deliveries were queued again.
    pub queued: u64,
}
