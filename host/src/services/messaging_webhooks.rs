//! The messaging backbone's steps of the webhook pipeline: delivery status callbacks and
//! inbound messages, verified and parsed by the provider, which may also choose what the
//! gateway is answered (within the content types the host serves).

use crate::domain::manifest::IntegrationCategory;
use crate::domain::message_state::MessageState;
use crate::domain::provider::messaging::{ParsedMessagingWebhook as ParsedWebhook, WebhookResponse};
use crate::domain::provider::{Verification, WebhookRequest};
use crate::runtime::{MessagingInstance, Outcome};
use crate::store::events;
use crate::store::integrations::IntegrationRow;
use crate::store::messages::{self, MessageRow};
use crate::store::webhook_log::{self, AttemptResult};

use super::webhook_pipeline::{Attempt, WebhookBackbone, WebhookVerdict};
use super::{event_data, App, ServiceError};

/// The messaging backbone's part of the webhook pipeline.
pub(crate) struct MessagingWebhooks;

/// What an applied messaging webhook came to.
pub(crate) struct MessagingAnswer {
    /// False when it held only status callbacks naming no message of the integration.
    matched: bool,
    /// The provider's answer to the gateway, if it gave one.
    response: Option<WebhookResponse>,
}

impl WebhookBackbone for MessagingWebhooks {
    const CATEGORY: IntegrationCategory = IntegrationCategory::Messaging;
    type Provider = MessagingInstance;
    type Parsed = ParsedWebhook;
    type Answer = MessagingAnswer;

    async fn open(app: &App, integration: &IntegrationRow) -> Result<MessagingInstance, ServiceError> {
        app.messaging_provider(integration).await
    }

    fn matched(answer: &MessagingAnswer) -> bool {
        answer.matched
    }

    async fn verify(provider: &mut MessagingInstance, request: &WebhookRequest) -> Outcome<Verification> {
        provider.verify_webhook(request).await
    }

    async fn parse(provider: &mut MessagingInstance, request: &WebhookRequest) -> Outcome<ParsedWebhook> {
        provider.parse_webhook(request).await
    }

    fn event_type(parsed: &ParsedWebhook) -> &str {
        &parsed.event_type
    }

    fn check(provider: &mut MessagingInstance, parsed: &ParsedWebhook) -> Result<(), ServiceError> {
        match &parsed.response {
            Some(answer) => webhook_answer_content_type(&answer.content_type)
                .map_err(|reason| ServiceError::from(provider.refuse_answer(reason))),
            None => Ok(()),
        }
    }

    async fn apply(
        app: &App,
        integration: &IntegrationRow,
        parsed: ParsedWebhook,
        attempt: &Attempt<'_>,
    ) -> Result<MessagingAnswer, ServiceError> {
        let integration_id = integration.id;
        let mut unknown = 0;
        for update in &parsed.updates {
            match messages::by_remote_id(app.db.read(), integration_id, &update.remote_id).await? {
                Some(message) => {
                    app.apply_message_update(message.id, update).await?;
                }
                None => {
                    unknown += 1;
                    tracing::warn!(integration_id, remote_id = %update.remote_id, "status callback for an unknown message")
                }
            }
        }
        for inbound in &parsed.inbound {
            let row = MessageRow {
                id: 0,
                integration_id,
                company_id: integration.company_id,
                direction: "inbound".into(),
                to_number: inbound.to.clone(),
                from_number: Some(inbound.from.clone()),
                body: inbound.body.clone(),
                state: MessageState::Received.as_str().into(),
                remote_id: Some(inbound.remote_id.clone()),
                error_code: None,
                error_message: None,
                document_model: None,
                document_id: None,
                created_at: String::new(),
                updated_at: String::new(),
            };
            let mut tx = app.db.tx().await?;
            let stored = messages::insert(&mut tx, &row).await?;
            let mut deliveries = 0;
            if let Some(message) = &stored {
                let data = event_data::message(message, None);
                let subject = format!("message:{}", message.id);
                deliveries =
                    events::record(&mut tx, "message.received", message.company_id, &subject, &data).await?.deliveries;
            }
            tx.commit().await?;
            if deliveries > 0 {
                app.events_ready.notify_one();
            }
            if stored.is_some() {
                app.meters().message(&integration.module, MessageState::Received.as_str());
            }
            tracing::info!(integration_id, remote_id = %inbound.remote_id, duplicate = stored.is_none(), "inbound message");
        }
        let detail = format!("{} status updates, {} inbound", parsed.updates.len(), parsed.inbound.len());
        // Callbacks that name no message of this integration, and nothing else, matched nothing.
        let result = if unknown > 0 && unknown == parsed.updates.len() && parsed.inbound.is_empty() {
            AttemptResult::Unmatched
        } else {
            AttemptResult::Accepted
        };
        let mut tx = app.db.tx().await?;
        webhook_log::insert(&mut *tx, &attempt.entry(None, true, result, &detail)).await?;
        tx.commit().await?;
        Ok(MessagingAnswer { matched: result != AttemptResult::Unmatched, response: parsed.response })
    }
}

impl App {
    /// Delivery callbacks and inbound messages, verified by the provider.
    pub async fn messaging_webhook(
        &self,
        integration_id: i64,
        request: WebhookRequest,
    ) -> Result<WebhookVerdict<Option<WebhookResponse>>, ServiceError> {
        Ok(match self.run_webhook::<MessagingWebhooks>(integration_id, request).await? {
            WebhookVerdict::Accepted(answer) => WebhookVerdict::Accepted(answer.response),
            WebhookVerdict::Rejected => WebhookVerdict::Rejected,
        })
    }
}

/// Content types a messaging webhook may answer with, on the host's public origin: XML, JSON
/// or plain text, optionally with parameters (`; charset=utf-8`). Anything a browser would
/// render as a page (HTML, SVG) or that is not a valid header value is refused.
pub fn webhook_answer_content_type(content_type: &str) -> Result<(), String> {
    const ALLOWED: [&str; 4] = ["text/xml", "application/xml", "application/json", "text/plain"];
    if content_type.chars().any(|c| c.is_control()) || !content_type.is_ascii() {
        return Err("webhook-response.content-type holds control or non-ASCII characters".into());
    }
    let (essence, parameters) = content_type.split_once(';').unwrap_or((content_type, ""));
    let essence = essence.trim().to_ascii_lowercase();
    if !ALLOWED.contains(&essence.as_str()) {
        return Err(format!("webhook-response.content-type `{essence}` is not one of {}", ALLOWED.join(", ")));
    }
    let parameters_ok = parameters.split(';').map(str::trim).filter(|p| !p.is_empty()).all(|parameter| {
        parameter.split_once('=').is_some_and(|(name, value)| {
            !name.trim().is_empty() && !value.trim().is_empty() && !value.contains(['<', '>', ','])
        })
    });
    if !parameters_ok {
        return Err("webhook-response.content-type has malformed parameters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::webhook_answer_content_type as check;

    #[test]
    fn only_xml_json_and_text_answers() {
        assert!(check("text/xml").is_ok());
        assert!(check("application/json; charset=utf-8").is_ok());
        assert!(check("TEXT/PLAIN").is_ok());
        assert!(check("text/html").is_err());
        assert!(check("image/svg+xml").is_err());
        assert!(check("text/xml\r\nx-injected: 1").is_err());
        assert!(check("text/xml; =x").is_err());
    }
}
