//! The payment world's values.

use super::{Contact, Money, WebhookResponse};
use crate::domain::transaction_state::TransactionState;

/// How the payer pays (the seed's integration types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationType {
    Redirect,
    EmbeddedJs,
    QrCode,
}

impl IntegrationType {
    pub const ALL: [Self; 3] = [Self::Redirect, Self::EmbeddedJs, Self::QrCode];

    /// The seed's display name, as manifests spell it ("Embedded JS").
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Redirect => "Redirect",
            Self::EmbeddedJs => "Embedded JS",
            Self::QrCode => "QR Code",
        }
    }

    /// The initiate response's wire name ("embedded_js").
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Redirect => "redirect",
            Self::EmbeddedJs => "embedded_js",
            Self::QrCode => "qr_code",
        }
    }

    pub fn from_display_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.display_name() == name)
    }
}

/// A transaction as a provider sees it.
#[derive(Debug, Clone)]
pub struct ProviderTransaction {
    pub reference: String,
    pub amount: Money,
    pub refunded_minor: i64,
    pub state: TransactionState,
    pub integration_type: IntegrationType,
    pub gateway_reference: Option<String>,
    pub provider_data: Option<String>,
    pub test_mode: bool,
    pub return_url: String,
    pub cancel_url: String,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub contact: Option<Contact>,
}

/// What the payer must do to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAction {
    /// Go to this URL.
    Redirect(String),
    /// The JSON the ERP's payment page hands the gateway's script.
    EmbeddedJs(String),
    /// Scan this code.
    QrCode(QrCode),
}

/// A QR code to scan: what it encodes, the gateway's image of it and its expiry (1.1; a
/// 1.0.0 provider gives only the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    pub payload: String,
    pub image_url: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<u64>,
}

/// When a payment is captured (1.1's `capture-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

/// What the ERP asked of a payment beyond the transaction (1.1's `session-options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionOptions {
    pub capture: CaptureMode,
    pub save_payment_method: bool,
}

/// A refund's state as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedRefundState {
    Pending,
    Succeeded,
    Failed,
}

/// What the gateway reports of one refund, found by the host's refund id or the gateway's
/// refund reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundUpdate {
    pub refund_id: Option<String>,
    pub refund_reference: Option<String>,
    pub state: ReportedRefundState,
    pub error_message: Option<String>,
}

/// A payment method the gateway saved for merchant-initiated charges.
#[derive(Clone, PartialEq, Eq)]
pub struct SavedPaymentMethod {
    /// The gateway's ids, opaque to the host; stored encrypted, never shown.
    pub token: String,
    pub label: String,
    /// "YYYY-MM".
    pub expires: Option<String>,
}

impl std::fmt::Debug for SavedPaymentMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedPaymentMethod")
            .field("token", &"<redacted>")
            .field("label", &self.label)
            .field("expires", &self.expires)
            .finish()
    }
}

/// A payment session the gateway started.
#[derive(Debug, Clone)]
pub struct Session {
    pub gateway_reference: Option<String>,
    pub action: SessionAction,
    pub provider_data: Option<String>,
}

/// What the gateway reports of a transaction (webhook, return, sync); every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayUpdate {
    pub reference: Option<String>,
    pub gateway_reference: Option<String>,
    pub state: Option<TransactionState>,
    pub gateway_status: Option<String>,
    pub error_message: Option<String>,
    pub refunded_minor: Option<i64>,
    /// Captured less than the amount (1.1).
    pub captured_minor: Option<i64>,
    pub provider_data: Option<String>,
    /// Refunds' states (1.1).
    pub refunds: Vec<RefundUpdate>,
    /// The payer's method, saved (1.1).
    pub saved_payment_method: Option<SavedPaymentMethod>,
}

/// A payment webhook, read.
#[derive(Debug, Clone)]
pub struct ParsedPaymentWebhook {
    pub event_type: String,
    pub updates: Vec<GatewayUpdate>,
    /// The answer the provider chose for the gateway (1.1).
    pub response: Option<WebhookResponse>,
}

/// The gateway's answer to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    pub refund_reference: String,
    /// Accepted but not completed yet.
    pub pending: bool,
}
