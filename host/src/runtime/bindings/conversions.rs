//! Between 1.0.0's WIT types and the host's own (`crate::domain::provider`). Values the host
//! sends are converted here; what a provider answers is lifted within its ceilings first
//! (`runtime::results`) and converted there.

use super::v1::{messaging, types};
use crate::domain::message_state::MessageState;
use crate::domain::provider::messaging::OutboundMessage;
use crate::domain::provider::payment::{IntegrationType, ProviderTransaction};
use crate::domain::provider::{Contact, ErrorKind, IntegrationInfo, Money};
use crate::domain::transaction_state::TransactionState;

impl From<types::TransactionState> for TransactionState {
    fn from(state: types::TransactionState) -> Self {
        match state {
            types::TransactionState::Draft => Self::Draft,
            types::TransactionState::Pending => Self::Pending,
            types::TransactionState::Authorized => Self::Authorized,
            types::TransactionState::Captured => Self::Captured,
            types::TransactionState::Failed => Self::Failed,
            types::TransactionState::Cancelled => Self::Cancelled,
            types::TransactionState::Refunded => Self::Refunded,
        }
    }
}

impl From<TransactionState> for types::TransactionState {
    fn from(state: TransactionState) -> Self {
        match state {
            TransactionState::Draft => Self::Draft,
            TransactionState::Pending => Self::Pending,
            TransactionState::Authorized => Self::Authorized,
            TransactionState::Captured => Self::Captured,
            TransactionState::Failed => Self::Failed,
            TransactionState::Cancelled => Self::Cancelled,
            TransactionState::Refunded => Self::Refunded,
        }
    }
}

impl From<IntegrationType> for types::IntegrationType {
    fn from(kind: IntegrationType) -> Self {
        match kind {
            IntegrationType::Redirect => Self::Redirect,
            IntegrationType::EmbeddedJs => Self::EmbeddedJs,
            IntegrationType::QrCode => Self::QrCode,
        }
    }
}

impl From<types::ErrorKind> for ErrorKind {
    fn from(kind: types::ErrorKind) -> Self {
        match kind {
            types::ErrorKind::InvalidCredentials => Self::InvalidCredentials,
            types::ErrorKind::InvalidRequest => Self::InvalidRequest,
            types::ErrorKind::Declined => Self::Declined,
            types::ErrorKind::GatewayUnavailable => Self::GatewayUnavailable,
            types::ErrorKind::GatewayError => Self::GatewayError,
            types::ErrorKind::Unsupported => Self::Unsupported,
            types::ErrorKind::NotFound => Self::NotFound,
            types::ErrorKind::Internal => Self::Internal,
        }
    }
}

impl From<messaging::MessageState> for MessageState {
    fn from(state: messaging::MessageState) -> Self {
        match state {
            messaging::MessageState::Queued => Self::Queued,
            messaging::MessageState::Sent => Self::Sent,
            messaging::MessageState::Delivered => Self::Delivered,
            messaging::MessageState::Failed => Self::Failed,
            messaging::MessageState::Undelivered => Self::Undelivered,
            messaging::MessageState::Received => Self::Received,
        }
    }
}

impl From<&Money> for types::Money {
    fn from(money: &Money) -> Self {
        Self { amount_minor: money.amount_minor, currency: money.currency.clone() }
    }
}

impl From<&Contact> for types::Contact {
    fn from(contact: &Contact) -> Self {
        Self {
            id: contact.id.clone(),
            name: contact.name.clone(),
            email: contact.email.clone(),
            phone: contact.phone.clone(),
        }
    }
}

impl From<&ProviderTransaction> for types::Transaction {
    fn from(transaction: &ProviderTransaction) -> Self {
        Self {
            reference: transaction.reference.clone(),
            amount: (&transaction.amount).into(),
            refunded_minor: transaction.refunded_minor,
            state: transaction.state.into(),
            integration_type: transaction.integration_type.into(),
            gateway_reference: transaction.gateway_reference.clone(),
            provider_data: transaction.provider_data.clone(),
            test_mode: transaction.test_mode,
            return_url: transaction.return_url.clone(),
            cancel_url: transaction.cancel_url.clone(),
            document_model: transaction.document_model.clone(),
            document_id: transaction.document_id,
            contact: transaction.contact.as_ref().map(Into::into),
        }
    }
}

impl From<&IntegrationInfo> for types::IntegrationInfo {
    fn from(info: &IntegrationInfo) -> Self {
        Self {
            integration_id: info.integration_id,
            company_id: info.company_id,
            test_mode: info.test_mode,
            webhook_url: info.webhook_url.clone(),
        }
    }
}

impl From<&OutboundMessage> for messaging::OutboundMessage {
    fn from(message: &OutboundMessage) -> Self {
        Self { to: message.to.clone(), body: message.body.clone() }
    }
}
