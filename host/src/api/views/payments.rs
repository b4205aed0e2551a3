//! Online payment: transactions, payments, refunds, initiate's answer, payment links.

use serde::Serialize;
use utoipa::ToSchema;

use crate::services::payment_links::LinkRecord;
use crate::services::records::{PaymentRow, RefundRow, TransactionRow, WebhookLogRow};
use crate::services::refunds::RefundOutcome;

use super::{decimal, stored_json};

/// A payment transaction. Amounts are decimal strings beside their integer minor units.
#[derive(Debug, Serialize, ToSchema)]
pub struct Transaction {
    pub id: i64,
    pub reference: String,
    pub integration_id: i64,
    pub company_id: i64,
    /// Draft, Pending, Authorized, Captured, Failed, Cancelled or Refunded.
    pub state: String,
    pub integration_type: String,
    /// Decimal string in the currency's unit ("19.99").
    pub amount: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub refunded_amount: Option<String>,
    pub refunded_minor: i64,
    /// `automatic`, or `manual`: authorized only, captured by `…/capture` (contract 1.1).
    #[schema(pattern = "^(automatic|manual)$")]
    pub capture: String,
    /// What was captured: the amount, or less after a partial capture; null until Captured.
    pub captured_amount: Option<String>,
    pub captured_minor: Option<i64>,
    pub gateway_reference: Option<String>,
    pub gateway_status: Option<String>,
    pub error_message: Option<String>,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    /// The saved payment method a merchant-initiated charge used.
    pub payment_method_id: Option<i64>,
    /// What the ERP sent as `pending_action_data`, as it sent it.
    pub pending_action_data: serde_json::Value,
    pub test_mode: bool,
    pub created_at: String,
    pub updated_at: String,
    pub webhook_log: Vec<WebhookLogEntry>,
    /// Its refunds (the latest 1,000), oldest first; `refunded_amount` counts the succeeded
    /// ones.
    pub refunds: Vec<Refund>,
}

/// One refund of a transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refund {
    pub id: i64,
    /// Decimal string in the currency's unit.
    pub amount: Option<String>,
    pub amount_minor: i64,
    /// `pending` (not answered yet, its answer was lost and the host asks again, or the
    /// gateway accepted it and reports its completion later), `succeeded` or `failed`.
    #[schema(pattern = "^(pending|succeeded|failed)$")]
    pub state: &'static str,
    /// The gateway's reference, once it accepted the refund.
    pub refund_reference: Option<String>,
    /// The gateway's reason, when it refused the refund.
    pub error_message: Option<String>,
    pub created_at: String,
}

/// A webhook that concerned a transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookLogEntry {
    pub received_at: String,
    pub event_type: Option<String>,
    pub signature_valid: bool,
    pub outcome: String,
}

impl Transaction {
    pub fn new(row: &TransactionRow, log: &[WebhookLogRow], refunds: &[RefundRow]) -> Self {
        let captured = matches!(row.state.as_str(), "Captured" | "Refunded").then(|| row.capturable_minor());
        Self {
            id: row.id,
            reference: row.reference.clone(),
            integration_id: row.integration_id,
            company_id: row.company_id,
            state: row.state.clone(),
            integration_type: row.integration_type.clone(),
            amount: decimal(row.amount_minor, &row.currency),
            amount_minor: row.amount_minor,
            currency: row.currency.clone(),
            refunded_amount: decimal(row.refunded_minor, &row.currency),
            refunded_minor: row.refunded_minor,
            capture: row.capture_mode.clone(),
            captured_amount: captured.and_then(|minor| decimal(minor, &row.currency)),
            captured_minor: captured,
            gateway_reference: row.gateway_reference.clone(),
            gateway_status: row.gateway_status.clone(),
            error_message: row.error_message.clone(),
            document_model: row.document_model.clone(),
            document_id: row.document_id,
            payment_method_id: row.payment_method_id,
            pending_action_data: stored_json(row.pending_action_data.as_deref()),
            test_mode: row.test_mode != 0,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            webhook_log: log
                .iter()
                .map(|entry| WebhookLogEntry {
                    received_at: entry.received_at.clone(),
                    event_type: entry.event_type.clone(),
                    signature_valid: entry.signature_valid != 0,
                    outcome: entry.outcome.clone(),
                })
                .collect(),
            refunds: refunds
                .iter()
                .map(|refund| Refund {
                    id: refund.id,
                    amount: decimal(refund.amount_minor, &row.currency),
                    amount_minor: refund.amount_minor,
                    state: refund.state().shown(),
                    refund_reference: refund.refund_reference.clone(),
                    error_message: refund.error_message.clone(),
                    created_at: refund.created_at.clone(),
                })
                .collect(),
        }
    }
}

/// A Payment record: made once when a transaction is Captured.
#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    pub id: i64,
    pub transaction_id: i64,
    pub reference: String,
    pub company_id: i64,
    pub integration_id: i64,
    pub amount: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub created_at: String,
}

impl From<&PaymentRow> for Payment {
    fn from(row: &PaymentRow) -> Self {
        Self {
            id: row.id,
            transaction_id: row.transaction_id,
            reference: row.reference.clone(),
            company_id: row.company_id,
            integration_id: row.integration_id,
            amount: decimal(row.amount_minor, &row.currency),
            amount_minor: row.amount_minor,
            currency: row.currency.clone(),
            document_model: row.document_model.clone(),
            document_id: row.document_id,
            created_at: row.created_at.clone(),
        }
    }
}

/// The seed's refund result.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResult {
    /// False when the gateway refused the refund (`error_message` says why).
    pub success: bool,
    pub refund_reference: Option<String>,
    /// Everything refunded so far, as a decimal string.
    pub refunded_amount: Option<String>,
    pub refunded_minor: i64,
    pub state: String,
    /// The refund's own state: `succeeded`, `failed`, or `pending` when the gateway accepted
    /// it and completes it later (it counts in `refunded_amount` once it succeeded).
    #[schema(pattern = "^(pending|succeeded|failed)$")]
    pub refund_state: &'static str,
    pub error_message: Option<String>,
    pub transaction_id: i64,
}

impl From<&RefundOutcome> for RefundResult {
    fn from(outcome: &RefundOutcome) -> Self {
        let transaction = &outcome.transaction;
        Self {
            success: outcome.success,
            refund_reference: outcome.refund_reference.clone(),
            refunded_amount: decimal(transaction.refunded_minor, &transaction.currency),
            refunded_minor: transaction.refunded_minor,
            state: transaction.state.clone(),
            refund_state: outcome.refund_state.shown(),
            error_message: outcome.error_message.clone(),
            transaction_id: transaction.id,
        }
    }
}

/// A started payment and what the payer must do: exactly one of `redirect_url`,
/// `client_config` and `qr_code`, as `integration_type` says.
#[derive(Debug, Serialize, ToSchema)]
pub struct Initiated {
    pub transaction_id: i64,
    pub reference: String,
    /// redirect, embedded_js or qr_code.
    pub integration_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// What the gateway's script needs (Embedded JS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_config: Option<serde_json::Value>,
    /// What the QR code encodes (QR Code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// The gateway's image of the QR code, when it gives one (contract 1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code_image_url: Option<String>,
    /// When the QR code stops being payable, RFC 3339 (contract 1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code_expires_at: Option<String>,
}

/// A payment integration's client configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientConfig {
    pub integration_id: i64,
    /// The provider's JSON object (MyGateway: `api_key`, `js_url`; Stripe: `publishable_key`,
    /// `js_url`).
    #[schema(value_type = Object)]
    pub client_config: serde_json::Value,
}

/// An enabled payment integration, for a payment page.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentIntegration {
    pub id: i64,
    pub display_name: String,
    pub integration_type: String,
    pub module: String,
    pub image: Option<String>,
    pub test_mode: bool,
    pub company_id: i64,
    pub payment_sequence: i64,
}

/// A payment link: `url` is the page the payer opens.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentLink {
    pub id: i64,
    pub token: String,
    pub url: String,
    pub company_id: i64,
    pub document_model: String,
    pub document_id: i64,
    pub amount: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub expires_at: Option<String>,
    pub created_at: String,
    /// `open`, `paid` (a transaction reached Authorized or Captured), `expired` or `revoked`.
    #[schema(pattern = "^(open|paid|expired|revoked)$")]
    pub status: &'static str,
    pub revoked_at: Option<String>,
    /// The transactions payers started from it, oldest first.
    pub transactions: Vec<PaymentLinkTransaction>,
}

/// A transaction started from a payment link.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentLinkTransaction {
    pub id: i64,
    pub reference: String,
    pub integration_id: i64,
    pub state: String,
    pub created_at: String,
}

impl PaymentLink {
    pub fn new(record: &LinkRecord, url: String) -> Self {
        let link = &record.link;
        Self {
            id: link.id,
            token: link.token.clone(),
            url,
            company_id: link.company_id,
            document_model: link.document_model.clone(),
            document_id: link.document_id,
            amount: decimal(link.amount_minor, &link.currency),
            amount_minor: link.amount_minor,
            currency: link.currency.clone(),
            description: link.description.clone(),
            expires_at: link.expires_at.clone(),
            created_at: link.created_at.clone(),
            status: record.status.as_str(),
            revoked_at: link.revoked_at.clone(),
            transactions: record
                .transactions
                .iter()
                .map(|t| PaymentLinkTransaction {
                    id: t.transaction_id,
                    reference: t.reference.clone(),
                    integration_id: t.integration_id,
                    state: t.state.clone(),
                    created_at: t.created_at.clone(),
                })
                .collect(),
        }
    }
}
