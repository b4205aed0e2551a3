//! Liveness, readiness, and what a webhook is answered.

use serde::Serialize;
use utoipa::ToSchema;

/// The process is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always "ok".
    pub status: &'static str,
}

/// The database takes writes and the modules are loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// Always "ready".
    pub status: &'static str,
    /// How many modules are live.
    pub modules: usize,
}

/// A webhook was verified and applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceived {
    pub received: bool,
    /// How many transactions it matched (payment webhooks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<usize>,
}
