//! A messaging provider whose answer to the gateway cannot be an HTTP answer: every webhook
//! is accepted and answered with the content type `text/xml\r\nx: y` (a header injection
//! attempt). The host must refuse it as the provider's failure. Sending is refused. Never
//! shipped as a module.

wit_bindgen::generate!({
    world: "messaging-provider",
    path: "../../../wit",
});

use exports::integrations::provider::messaging::{Guest, OutboundMessage, ParsedWebhook, SendResult, WebhookResponse};
use integrations::provider::types::{ErrorKind, ProviderError, Verification, WebhookRequest};

struct BadAnswer;

impl Guest for BadAnswer {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn send(_message: OutboundMessage) -> Result<SendResult, ProviderError> {
        Err(ProviderError {
            kind: ErrorKind::Unsupported,
            message: "This test provider does not send messages.".into(),
            retryable: false,
        })
    }

    fn verify_webhook(_request: WebhookRequest) -> Result<Verification, ProviderError> {
        Ok(Verification::Accepted)
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        Ok(ParsedWebhook {
            event_type: "test.bad_answer".into(),
            updates: Vec::new(),
            inbound: Vec::new(),
            response: Some(WebhookResponse { content_type: "text/xml\r\nx: y".into(), body: "<Response/>".into() }),
        })
    }
}

export!(BadAnswer);
