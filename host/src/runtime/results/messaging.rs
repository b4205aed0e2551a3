//! The messaging world's answers, bounded.

use wasmtime::component::{ComponentType, Lift};

use super::super::bindings::v1::messaging;
use super::super::ceilings::{
    ADDRESS, INBOUND_PER_WEBHOOK, LABEL, MESSAGE, MESSAGE_BODY, REFERENCE, STATUS_UPDATES_PER_WEBHOOK, WEBHOOK_ANSWER,
};
use super::bounded::{ceilings, text, Items, Text};
use crate::domain::provider::messaging::{
    InboundMessage, MessageUpdate, ParsedMessagingWebhook, SendResult, WebhookResponse,
};

ceilings! {
    SentRemoteId = "send-result.remote-id", REFERENCE;
    StatusRemoteId = "message-update.remote-id", REFERENCE;
    StatusErrorCode = "message-update.error-code", LABEL;
    StatusErrorMessage = "message-update.error-message", MESSAGE;
    InboundRemoteId = "inbound-message.remote-id", REFERENCE;
    InboundFrom = "inbound-message.from", ADDRESS;
    InboundTo = "inbound-message.to", ADDRESS;
    InboundBody = "inbound-message.body", MESSAGE_BODY;
    AnswerContentType = "webhook-response.content-type", LABEL;
    AnswerBody = "webhook-response.body", WEBHOOK_ANSWER;
    EventType = "parsed-webhook.event-type", LABEL;
    StatusUpdates = "parsed-webhook.updates", STATUS_UPDATES_PER_WEBHOOK;
    InboundMessages = "parsed-webhook.inbound", INBOUND_PER_WEBHOOK;
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawSendResult {
    #[component(name = "remote-id")]
    remote_id: Text<SentRemoteId>,
    state: messaging::MessageState,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawMessageUpdate {
    #[component(name = "remote-id")]
    remote_id: Text<StatusRemoteId>,
    state: messaging::MessageState,
    #[component(name = "error-code")]
    error_code: Option<Text<StatusErrorCode>>,
    #[component(name = "error-message")]
    error_message: Option<Text<StatusErrorMessage>>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawInboundMessage {
    #[component(name = "remote-id")]
    remote_id: Text<InboundRemoteId>,
    from: Text<InboundFrom>,
    to: Text<InboundTo>,
    body: Text<InboundBody>,
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
    updates: Items<RawMessageUpdate, StatusUpdates>,
    inbound: Items<RawInboundMessage, InboundMessages>,
    response: Option<RawWebhookResponse>,
}

pub(crate) fn send_result(raw: RawSendResult) -> SendResult {
    SendResult { remote_id: raw.remote_id.text, state: raw.state.into() }
}

pub(crate) fn parsed_webhook(raw: RawParsedWebhook) -> ParsedMessagingWebhook {
    let updates = raw
        .updates
        .items
        .into_iter()
        .map(|update| MessageUpdate {
            remote_id: update.remote_id.text,
            state: update.state.into(),
            error_code: text(update.error_code),
            error_message: text(update.error_message),
        })
        .collect();
    let inbound = raw
        .inbound
        .items
        .into_iter()
        .map(|message| InboundMessage {
            remote_id: message.remote_id.text,
            from: message.from.text,
            to: message.to.text,
            body: message.body.text,
        })
        .collect();
    let response =
        raw.response.map(|answer| WebhookResponse { content_type: answer.content_type.text, body: answer.body.text });
    ParsedMessagingWebhook { event_type: raw.event_type.text, updates, inbound, response }
}
