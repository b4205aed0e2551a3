//! A messaging provider that takes more than it may, for the host's ceiling tests. Never
//! shipped as a module.
//!
//! `send` answers a remote id of the message body's length in KiB when the body starts with
//! `huge-id`. Webhooks: the body is a command. `slow` makes `verify-webhook` spin until its
//! deadline; `inbound N` parses into N inbound messages; `updates N` into N status updates
//! for unknown messages; `body N` one inbound message whose body has N KiB; `answer TYPE`
//! one inbound message (remote id from the body's third word) and an answer of content type
//! TYPE (`html` is `text/html` with a script, `crlf` a value with a line break); anything
//! else one inbound message and no answer; `answer-big N` answers `text/xml` of N KiB.

wit_bindgen::generate!({
    world: "messaging-provider",
    path: "../../../wit",
});

use exports::integrations::provider::messaging::{
    Guest, InboundMessage, MessageState, MessageUpdate, OutboundMessage, ParsedWebhook, SendResult, WebhookResponse,
};
use integrations::provider::types::{ProviderError, Verification, WebhookRequest};

struct GreedySms;

fn kib(n: usize) -> String {
    "x".repeat(n << 10)
}

fn inbound(id: String, body: String) -> InboundMessage {
    InboundMessage { remote_id: id, from: "+14155550100".into(), to: "+14155550199".into(), body }
}

impl Guest for GreedySms {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<SendResult, ProviderError> {
        let remote_id = match message.body.strip_prefix("huge-id ") {
            Some(n) => kib(n.trim().parse().unwrap_or(1)),
            None => format!("SM{}", message.body.len()),
        };
        Ok(SendResult { remote_id, state: MessageState::Sent })
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        if request.body.starts_with(b"slow") {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Ok(Verification::Accepted)
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let words: Vec<&str> = body.split_whitespace().collect();
        let verb = words.first().copied().unwrap_or_default();
        let n: usize = words.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        let mut parsed = ParsedWebhook { event_type: verb.into(), updates: vec![], inbound: vec![], response: None };
        match verb {
            "inbound" => parsed.inbound = (0..n).map(|i| inbound(format!("IN{i}"), "hi".into())).collect(),
            "updates" => {
                parsed.updates = (0..n)
                    .map(|i| MessageUpdate {
                        remote_id: format!("unknown{i}"),
                        state: MessageState::Delivered,
                        error_code: None,
                        error_message: None,
                    })
                    .collect()
            }
            "body" => parsed.inbound = vec![inbound("BIG".into(), kib(n))],
            "answer-big" => {
                parsed.inbound = vec![inbound("ANSWER-BIG".into(), "hi".into())];
                parsed.response = Some(WebhookResponse { content_type: "text/xml".into(), body: kib(n) });
            }
            "answer" => {
                let id = words.get(2).copied().unwrap_or("ANSWER").to_string();
                parsed.inbound = vec![inbound(id, "hi".into())];
                let content_type = match words.get(1).copied().unwrap_or_default() {
                    "html" => "text/html".to_string(),
                    "crlf" => "text/xml\r\nx-injected: 1".to_string(),
                    other => other.to_string(),
                };
                parsed.response =
                    Some(WebhookResponse { content_type, body: "<script>alert(document.cookie)</script>".into() });
            }
            _ => parsed.inbound = vec![inbound(format!("ONE{}", body.len()), body.clone())],
        }
        Ok(parsed)
    }
}

export!(GreedySms);
