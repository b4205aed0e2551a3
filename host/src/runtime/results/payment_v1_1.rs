//! The answers of the payment world of contract 1.1, bounded: its own session (a QR code
//! with image and expiry), updates with refunds and a saved payment method, and a webhook
//! answer. `refund-result` and `provider-error` are 1.0.0's.

use wasmtime::component::{ComponentType, Lift};

use super::super::bindings::v1::types;
use super::super::ceilings::{
    EXPIRY, LABEL, MESSAGE, PAYMENT_METHOD_TOKEN, PROVIDER_DATA, REFERENCE, REFUNDS_PER_UPDATE, SESSION_ACTION,
    UPDATES_PER_WEBHOOK, WEBHOOK_ANSWER,
};
use super::bounded::{ceilings, text, Items, Text};
use crate::domain::provider::payment::{
    GatewayUpdate, ParsedPaymentWebhook, QrCode, RefundUpdate, ReportedRefundState, SavedPaymentMethod, Session,
    SessionAction,
};
use crate::domain::provider::WebhookResponse;

ceilings! {
    RedirectUrl = "payment-session.action.redirect", SESSION_ACTION;
    EmbeddedConfig = "payment-session.action.embedded-js", SESSION_ACTION;
    QrPayload = "qr-code.payload", SESSION_ACTION;
    QrImageUrl = "qr-code.image-url", SESSION_ACTION;
    SessionGatewayReference = "payment-session.gateway-reference", REFERENCE;
    SessionProviderData = "payment-session.provider-data", PROVIDER_DATA;
    UpdateReference = "payment-update.reference", REFERENCE;
    UpdateGatewayReference = "payment-update.gateway-reference", REFERENCE;
    UpdateStatus = "payment-update.gateway-status", LABEL;
    UpdateErrorMessage = "payment-update.error-message", MESSAGE;
    UpdateProviderData = "payment-update.provider-data", PROVIDER_DATA;
    Refunds = "payment-update.refunds", REFUNDS_PER_UPDATE;
    RefundId = "refund-update.refund-id", REFERENCE;
    RefundReference = "refund-update.refund-reference", REFERENCE;
    RefundErrorMessage = "refund-update.error-message", MESSAGE;
    MethodToken = "saved-payment-method.token", PAYMENT_METHOD_TOKEN;
    MethodLabel = "saved-payment-method.label", LABEL;
    MethodExpires = "saved-payment-method.expires", EXPIRY;
    EventType = "parsed-webhook.event-type", LABEL;
    Updates = "parsed-webhook.updates", UPDATES_PER_WEBHOOK;
    AnswerContentType = "webhook-response.content-type", LABEL;
    AnswerBody = "webhook-response.body", WEBHOOK_ANSWER;
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawQrCode {
    payload: Text<QrPayload>,
    #[component(name = "image-url")]
    image_url: Option<Text<QrImageUrl>>,
    #[component(name = "expires-at")]
    expires_at: Option<u64>,
}

#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum RawPaymentAction {
    #[component(name = "redirect")]
    Redirect(Text<RedirectUrl>),
    #[component(name = "embedded-js")]
    EmbeddedJs(Text<EmbeddedConfig>),
    #[component(name = "qr-code")]
    QrCode(RawQrCode),
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawPaymentSession {
    #[component(name = "gateway-reference")]
    gateway_reference: Option<Text<SessionGatewayReference>>,
    action: RawPaymentAction,
    #[component(name = "provider-data")]
    provider_data: Option<Text<SessionProviderData>>,
}

#[derive(ComponentType, Lift)]
#[component(enum)]
#[repr(u8)]
// Built only by wasmtime's `Lift`, from what the guest passes.
#[allow(dead_code)]
pub(crate) enum RawRefundState {
    #[component(name = "pending")]
    Pending,
    #[component(name = "succeeded")]
    Succeeded,
    #[component(name = "failed")]
    Failed,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawRefundUpdate {
    #[component(name = "refund-id")]
    refund_id: Option<Text<RefundId>>,
    #[component(name = "refund-reference")]
    refund_reference: Option<Text<RefundReference>>,
    state: RawRefundState,
    #[component(name = "error-message")]
    error_message: Option<Text<RefundErrorMessage>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawSavedPaymentMethod {
    token: Text<MethodToken>,
    label: Text<MethodLabel>,
    expires: Option<Text<MethodExpires>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawPaymentUpdate {
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
    #[component(name = "captured-minor")]
    captured_minor: Option<i64>,
    #[component(name = "provider-data")]
    provider_data: Option<Text<UpdateProviderData>>,
    refunds: Items<RawRefundUpdate, Refunds>,
    #[component(name = "saved-payment-method")]
    saved_payment_method: Option<RawSavedPaymentMethod>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawWebhookResponse {
    #[component(name = "content-type")]
    content_type: Text<AnswerContentType>,
    body: Text<AnswerBody>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawParsedWebhook {
    #[component(name = "event-type")]
    event_type: Text<EventType>,
    updates: Items<RawPaymentUpdate, Updates>,
    response: Option<RawWebhookResponse>,
}

pub(crate) fn session(raw: RawPaymentSession) -> Session {
    let action = match raw.action {
        RawPaymentAction::Redirect(url) => SessionAction::Redirect(url.text),
        RawPaymentAction::EmbeddedJs(config) => SessionAction::EmbeddedJs(config.text),
        RawPaymentAction::QrCode(code) => SessionAction::QrCode(QrCode {
            payload: code.payload.text,
            image_url: text(code.image_url),
            expires_at: code.expires_at,
        }),
    };
    Session { gateway_reference: text(raw.gateway_reference), action, provider_data: text(raw.provider_data) }
}

fn refund_update(raw: RawRefundUpdate) -> RefundUpdate {
    RefundUpdate {
        refund_id: text(raw.refund_id),
        refund_reference: text(raw.refund_reference),
        state: match raw.state {
            RawRefundState::Pending => ReportedRefundState::Pending,
            RawRefundState::Succeeded => ReportedRefundState::Succeeded,
            RawRefundState::Failed => ReportedRefundState::Failed,
        },
        error_message: text(raw.error_message),
    }
}

pub(crate) fn payment_update(raw: RawPaymentUpdate) -> GatewayUpdate {
    GatewayUpdate {
        reference: text(raw.reference),
        gateway_reference: text(raw.gateway_reference),
        state: raw.state.map(Into::into),
        gateway_status: text(raw.gateway_status),
        error_message: text(raw.error_message),
        refunded_minor: raw.refunded_minor,
        captured_minor: raw.captured_minor,
        provider_data: text(raw.provider_data),
        refunds: raw.refunds.items.into_iter().map(refund_update).collect(),
        saved_payment_method: raw.saved_payment_method.map(|method| SavedPaymentMethod {
            token: method.token.text,
            label: method.label.text,
            expires: text(method.expires),
        }),
    }
}

pub(crate) fn parsed_webhook(raw: RawParsedWebhook) -> ParsedPaymentWebhook {
    ParsedPaymentWebhook {
        event_type: raw.event_type.text,
        updates: raw.updates.items.into_iter().map(payment_update).collect(),
        response: raw
            .response
            .map(|answer| WebhookResponse { content_type: answer.content_type.text, body: answer.body.text }),
    }
}
