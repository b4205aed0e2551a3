//! The payment world's answers, bounded.

use wasmtime::component::{ComponentType, Lift};

use super::super::bindings::v1::types;
use super::super::ceilings::{
    CLIENT_CONFIG, LABEL, MESSAGE, PROVIDER_DATA, REFERENCE, SESSION_ACTION, UPDATES_PER_WEBHOOK,
};
use super::bounded::{ceilings, text, Items, Text};
use crate::domain::provider::payment::{
    GatewayUpdate, ParsedPaymentWebhook, QrCode, RefundResult, Session, SessionAction,
};

ceilings! {
    RedirectUrl = "session.action.redirect", SESSION_ACTION;
    EmbeddedConfig = "session.action.embedded-js", SESSION_ACTION;
    QrPayload = "session.action.qr-code", SESSION_ACTION;
    SessionGatewayReference = "session.gateway-reference", REFERENCE;
    SessionProviderData = "session.provider-data", PROVIDER_DATA;
    UpdateReference = "gateway-update.reference", REFERENCE;
    UpdateGatewayReference = "gateway-update.gateway-reference", REFERENCE;
    UpdateStatus = "gateway-update.gateway-status", LABEL;
    UpdateErrorMessage = "gateway-update.error-message", MESSAGE;
    UpdateProviderData = "gateway-update.provider-data", PROVIDER_DATA;
    EventType = "parsed-webhook.event-type", LABEL;
    Updates = "parsed-webhook.updates", UPDATES_PER_WEBHOOK;
    RefundReference = "refund-result.refund-reference", REFERENCE;
    ClientConfig = "client-config", CLIENT_CONFIG;
}

#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum RawSessionAction {
    #[component(name = "redirect")]
    Redirect(Text<RedirectUrl>),
    #[component(name = "embedded-js")]
    EmbeddedJs(Text<EmbeddedConfig>),
    #[component(name = "qr-code")]
    QrCode(Text<QrPayload>),
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawSession {
    #[component(name = "gateway-reference")]
    gateway_reference: Option<Text<SessionGatewayReference>>,
    action: RawSessionAction,
    #[component(name = "provider-data")]
    provider_data: Option<Text<SessionProviderData>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawGatewayUpdate {
    reference: Option<Text<UpdateReference>>,
    #[component(name = "gateway-reference")]
    gateway_reference: Option<Text<UpdateGatewayReference>>,
    state: Option<types::TransactionState>,
    #[component(name = "gateway-status")]
    gateway_status: Option<Text<UpdateStatus>>,
    #[component(name = "error-message")]
    error_message: Option<Text<UpdateErrorMessage>>,
    #[component(name = "refunded-minor")]
    refunded_minor: Option<i64>,
    #[component(name = "provider-data")]
    provider_data: Option<Text<UpdateProviderData>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawParsedWebhook {
    #[component(name = "event-type")]
    event_type: Text<EventType>,
    updates: Items<RawGatewayUpdate, Updates>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawRefundResult {
    #[component(name = "refund-reference")]
    refund_reference: Text<RefundReference>,
    pending: bool,
}

/// `client-config`'s JSON text, bounded.
pub(crate) type RawClientConfig = Text<ClientConfig>;

pub(crate) fn session(raw: RawSession) -> Session {
    let action = match raw.action {
        RawSessionAction::Redirect(url) => SessionAction::Redirect(url.text),
        RawSessionAction::EmbeddedJs(config) => SessionAction::EmbeddedJs(config.text),
        RawSessionAction::QrCode(payload) => {
            SessionAction::QrCode(QrCode { payload: payload.text, image_url: None, expires_at: None })
        }
    };
    Session { gateway_reference: text(raw.gateway_reference), action, provider_data: text(raw.provider_data) }
}

pub(crate) fn gateway_update(raw: RawGatewayUpdate) -> GatewayUpdate {
    GatewayUpdate {
        reference: text(raw.reference),
        gateway_reference: text(raw.gateway_reference),
        state: raw.state.map(Into::into),
        gateway_status: text(raw.gateway_status),
        error_message: text(raw.error_message),
        refunded_minor: raw.refunded_minor,
        provider_data: text(raw.provider_data),
        ..GatewayUpdate::default()
    }
}

pub(crate) fn parsed_webhook(raw: RawParsedWebhook) -> ParsedPaymentWebhook {
    ParsedPaymentWebhook {
        event_type: raw.event_type.text,
        updates: raw.updates.items.into_iter().map(gateway_update).collect(),
        response: None,
    }
}

pub(crate) fn refund_result(raw: RawRefundResult) -> RefundResult {
    RefundResult { refund_reference: raw.refund_reference.text, pending: raw.pending }
}

pub(crate) fn client_config(raw: RawClientConfig) -> String {
    raw.text
}
