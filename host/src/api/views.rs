//! The JSON shapes of API.md §3.

use serde_json::{json, Value};

use crate::domain::money::{format_minor, Currency};
use crate::registry::LoadedModule;
use crate::services::integrations::IntegrationView;
use crate::store::messages::{HistoryRow, MessageRow};
use crate::store::payments::PaymentRow;
use crate::store::transactions::TransactionRow;
use crate::store::webhook_log::{AttemptRow, WebhookLogRow};

fn decimal(minor: i64, currency: &str) -> Value {
    match Currency::parse(currency) {
        Ok(currency) => Value::String(format_minor(minor, currency)),
        Err(_) => Value::Null,
    }
}

fn stored_json(text: &Option<String>) -> Value {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
}

pub fn module(module: &LoadedModule) -> Value {
    let manifest = &module.manifest;
    json!({
        "identifier": manifest.identifier,
        "name": manifest.name,
        "version": manifest.version,
        "integration_category": manifest.integration_category,
        "description": manifest.description,
        "icon": manifest.icon,
        "image": manifest.image,
        "world": manifest.runtime.world,
        "integration_types": manifest.runtime.integration_types,
        "credentials": manifest.runtime.credentials.iter().map(|c| json!({
            "name": c.name, "description": c.description, "hint": c.hint, "required": c.required, "secret": c.secret,
            "pattern": c.pattern,
        })).collect::<Vec<_>>(),
        "sha256": module.sha256,
    })
}

pub fn integration(view: &IntegrationView) -> Value {
    let row = &view.row;
    json!({
        "id": row.id,
        "company_id": row.company_id,
        "module": row.module,
        "name": row.name,
        "description": row.description,
        "integration_category": row.integration_category,
        "enabled": row.is_enabled(),
        "state": view.state,
        "payment_state": row.payment_state,
        "payment_integration_type": row.payment_integration_type,
        "payment_display_name": row.payment_display_name,
        "payment_sequence": row.payment_sequence,
        "last_synced_date": row.last_synced_date,
        "webhook_url": view.webhook_url,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "credentials": view.credentials.iter().map(|(name, set)| (name.clone(), json!({ "set": set }))).collect::<serde_json::Map<_, _>>(),
    })
}

pub fn webhook_attempt(row: &AttemptRow) -> Value {
    json!({
        "id": row.id,
        "received_at": row.received_at,
        "event_type": row.event_type,
        "signature_valid": row.signature_valid != 0,
        "outcome": row.result,
        "detail": row.outcome,
        "transaction_id": row.transaction_id,
    })
}

pub fn transaction(row: &TransactionRow, log: &[WebhookLogRow]) -> Value {
    json!({
        "id": row.id,
        "reference": row.reference,
        "integration_id": row.integration_id,
        "company_id": row.company_id,
        "state": row.state,
        "integration_type": row.integration_type,
        "amount": decimal(row.amount_minor, &row.currency),
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "refunded_amount": decimal(row.refunded_minor, &row.currency),
        "refunded_minor": row.refunded_minor,
        "gateway_reference": row.gateway_reference,
        "gateway_status": row.gateway_status,
        "error_message": row.error_message,
        "document_model": row.document_model,
        "document_id": row.document_id,
        "pending_action_data": stored_json(&row.pending_action_data),
        "test_mode": row.test_mode != 0,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "webhook_log": log.iter().map(|entry| json!({
            "received_at": entry.received_at,
            "event_type": entry.event_type,
            "signature_valid": entry.signature_valid != 0,
            "outcome": entry.outcome,
        })).collect::<Vec<_>>(),
    })
}

pub fn payment(row: &PaymentRow) -> Value {
    json!({
        "id": row.id,
        "transaction_id": row.transaction_id,
        "reference": row.reference,
        "company_id": row.company_id,
        "integration_id": row.integration_id,
        "amount": decimal(row.amount_minor, &row.currency),
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "document_model": row.document_model,
        "document_id": row.document_id,
        "created_at": row.created_at,
    })
}

/// A message; `history` is empty in lists.
pub fn message(row: &MessageRow, history: &[HistoryRow]) -> Value {
    json!({
        "id": row.id,
        "integration_id": row.integration_id,
        "company_id": row.company_id,
        "direction": row.direction,
        "to": row.to_number,
        "from": row.from_number,
        "body": row.body,
        "state": row.state,
        "remote_id": row.remote_id,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "document_model": row.document_model,
        "document_id": row.document_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "history": history.iter().map(|h| json!({ "state": h.state, "at": h.at })).collect::<Vec<_>>(),
    })
}
