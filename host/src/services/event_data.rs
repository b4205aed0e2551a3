//! The `data` of each event the ERP receives (issue: the seed's Payment Success Actions done
//! from outside the ERP). A `payment.created` carries what the ERP needs to reconcile the
//! document and run its deferred actions (the stored `pending_action_data`).

use serde_json::{json, Value};

use crate::domain::money::{format_minor, Currency};
use crate::store::messages::MessageRow;
use crate::store::refunds::RefundRow;
use crate::store::transactions::TransactionRow;

fn decimal(minor: i64, currency: &str) -> Value {
    Currency::parse(currency).map(|c| Value::String(format_minor(minor, c))).unwrap_or(Value::Null)
}

fn stored_json(text: &Option<String>) -> Value {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
}

pub fn state_changed(before: &TransactionRow, after: &TransactionRow) -> Value {
    json!({
        "transaction_id": after.id,
        "reference": after.reference,
        "integration_id": after.integration_id,
        "from": before.state,
        "to": after.state,
        "amount": decimal(after.amount_minor, &after.currency),
        "amount_minor": after.amount_minor,
        "currency": after.currency,
        "gateway_reference": after.gateway_reference,
        "gateway_status": after.gateway_status,
        "error_message": after.error_message,
        "document_model": after.document_model,
        "document_id": after.document_id,
    })
}

pub fn payment_created(transaction: &TransactionRow) -> Value {
    json!({
        "transaction_id": transaction.id,
        "reference": transaction.reference,
        "integration_id": transaction.integration_id,
        "document_model": transaction.document_model,
        "document_id": transaction.document_id,
        "amount": decimal(transaction.amount_minor, &transaction.currency),
        "amount_minor": transaction.amount_minor,
        "currency": transaction.currency,
        "pending_action_data": stored_json(&transaction.pending_action_data),
    })
}

pub fn refund_created(transaction: &TransactionRow, amount_minor: i64, refund_reference: Option<&str>) -> Value {
    json!({
        "transaction_id": transaction.id,
        "reference": transaction.reference,
        "refund_reference": refund_reference,
        "amount": decimal(amount_minor, &transaction.currency),
        "amount_minor": amount_minor,
        "refunded_amount": decimal(transaction.refunded_minor, &transaction.currency),
        "refunded_minor": transaction.refunded_minor,
        "currency": transaction.currency,
        "state": transaction.state,
        "document_model": transaction.document_model,
        "document_id": transaction.document_id,
    })
}

/// A refund the gateway had accepted failed later: it no longer counts against what is left.
pub fn refund_failed(transaction: &TransactionRow, refund: &RefundRow, message: &str) -> Value {
    json!({
        "transaction_id": transaction.id,
        "reference": transaction.reference,
        "refund_id": refund.id,
        "refund_reference": refund.refund_reference,
        "amount": decimal(refund.amount_minor, &transaction.currency),
        "amount_minor": refund.amount_minor,
        "refunded_amount": decimal(transaction.refunded_minor, &transaction.currency),
        "refunded_minor": transaction.refunded_minor,
        "currency": transaction.currency,
        "error_message": message,
        "document_model": transaction.document_model,
        "document_id": transaction.document_id,
    })
}

pub fn message(row: &MessageRow, from_state: Option<&str>) -> Value {
    json!({
        "message_id": row.id,
        "integration_id": row.integration_id,
        "direction": row.direction,
        "from_state": from_state,
        "state": row.state,
        "to": row.to_number,
        "from": row.from_number,
        "body": row.body,
        "remote_id": row.remote_id,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "document_model": row.document_model,
        "document_id": row.document_id,
    })
}
