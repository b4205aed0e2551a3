//! The payment world's values.

use super::{Contact, Money};
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
    /// Scan this payload.
    QrCode(String),
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
    pub provider_data: Option<String>,
}

/// A payment webhook, read.
#[derive(Debug, Clone)]
pub struct ParsedPaymentWebhook {
    pub event_type: String,
    pub updates: Vec<GatewayUpdate>,
}

/// The gateway's answer to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    pub refund_reference: String,
    /// Accepted but not completed yet.
    pub pending: bool,
}
