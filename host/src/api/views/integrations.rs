//! Integrations, their webhook attempts, mappings and sync reports.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::services::integrations::IntegrationView;
use crate::services::records::{MappingRow, WebhookAttemptRow};

/// A company's configured use of a module.
#[derive(Debug, Serialize, ToSchema)]
pub struct Integration {
    pub id: i64,
    pub company_id: i64,
    pub module: String,
    pub name: String,
    pub description: Option<String>,
    pub integration_category: String,
    pub enabled: bool,
    /// "Not Installed", "Installed" or "Enabled".
    pub state: String,
    /// "Test" or "Live".
    pub payment_state: String,
    pub payment_integration_type: String,
    pub payment_display_name: Option<String>,
    pub payment_sequence: i64,
    pub last_synced_date: Option<String>,
    /// What the merchant pastes into the gateway's dashboard.
    pub webhook_url: String,
    pub created_at: String,
    pub updated_at: String,
    /// Every credential the module declares, and whether it has a value (never the value).
    pub credentials: BTreeMap<String, CredentialState>,
}

/// Whether a credential has a value.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialState {
    pub set: bool,
}

impl From<&IntegrationView> for Integration {
    fn from(view: &IntegrationView) -> Self {
        let row = &view.row;
        Self {
            id: row.id,
            company_id: row.company_id,
            module: row.module.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            integration_category: row.integration_category.clone(),
            enabled: row.is_enabled(),
            state: view.state.to_string(),
            payment_state: row.payment_state.clone(),
            payment_integration_type: row.payment_integration_type.clone(),
            payment_display_name: row.payment_display_name.clone(),
            payment_sequence: row.payment_sequence,
            last_synced_date: row.last_synced_date.clone(),
            webhook_url: view.webhook_url.clone(),
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            credentials: view
                .credentials
                .iter()
                .map(|(name, set)| (name.clone(), CredentialState { set: *set }))
                .collect(),
        }
    }
}

/// One webhook attempt of an integration.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttempt {
    pub id: i64,
    pub received_at: String,
    pub event_type: Option<String>,
    pub signature_valid: bool,
    /// accepted, rejected, unmatched, provider_failed or unreadable.
    pub outcome: String,
    /// What happened: the state change, the provider's reason, the failure.
    pub detail: String,
    pub transaction_id: Option<i64>,
}

impl From<&WebhookAttemptRow> for WebhookAttempt {
    fn from(row: &WebhookAttemptRow) -> Self {
        Self {
            id: row.id,
            received_at: row.received_at.clone(),
            event_type: row.event_type.clone(),
            signature_valid: row.signature_valid != 0,
            outcome: row.result.clone(),
            detail: row.outcome.clone(),
            transaction_id: row.transaction_id,
        }
    }
}

/// An IntegrationMapper entry: a local id and the gateway's id for it, per model.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mapping {
    pub model: String,
    pub local_id: String,
    pub remote_id: String,
    pub created_at: String,
}

impl From<&MappingRow> for Mapping {
    fn from(row: &MappingRow) -> Self {
        Self {
            model: row.model.clone(),
            local_id: row.local_id.clone(),
            remote_id: row.remote_id.clone(),
            created_at: row.created_at.clone(),
        }
    }
}

/// What a sync run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncReport {
    pub integration_id: i64,
    pub checked: usize,
    pub changed: usize,
    pub failed: usize,
}
