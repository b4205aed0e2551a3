//! A payment provider that takes more than it may, for the host's ceiling and fair-share
//! tests. Never shipped as a module.
//!
//! `create-session` picks its behaviour from the transaction's `document-model` (sizes in
//! MiB or counts come from `document-id`): `huge-redirect`, `huge-error`,
//! `huge-provider-data`, `huge-reference` return a value of `document-id` MiB;
//! `redirect:URL` returns URL as the redirect; `log-flood` logs `document-id` lines of
//! 4 KiB; `print-flood` prints them; `log-forge` logs a message with a newline that imitates
//! another module's log line; `mapper-huge` puts a value of `document-id` MiB;
//! `mapper-many` makes `document-id` puts; `mapper-fill` makes `document-id` puts of
//! distinct ids, one per call up to the per-call ceiling; `cache-huge` caches `document-id`
//! KiB. Anything else answers a normal redirect.
//!
//! Webhooks: the body is a command. `slow` makes `verify-webhook` spin until its deadline;
//! `updates N` parses into N updates for unknown payments; `event-type N` gives an event
//! type of N KiB; `status N` one update whose gateway status has N KiB; `rejection N`
//! rejects with a reason of N KiB; `capture REF` reports the payment with gateway reference
//! REF as captured. Anything else is accepted with no update. `refund` answers a refund
//! reference of 1 MiB.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../../wit",
});

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use integrations::provider::log::{self, Level};
use integrations::provider::types::{
    ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction,
    TransactionState, Verification, WebhookRequest,
};
use integrations::provider::{cache, mapper};

struct Greedy;

fn mib(n: i64) -> String {
    "x".repeat((n.max(0) as usize) << 20)
}

fn kib(n: usize) -> String {
    "x".repeat(n << 10)
}

fn failure(message: String) -> ProviderError {
    ProviderError { kind: ErrorKind::GatewayError, message, retryable: false }
}

fn command(request: &WebhookRequest) -> (String, usize) {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let mut words = body.split_whitespace();
    let verb = words.next().unwrap_or_default().to_string();
    let count = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (verb, count)
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

impl Guest for Greedy {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_session(transaction: Transaction, _kind: IntegrationType) -> Result<Session, ProviderError> {
        let behaviour = transaction.document_model.clone().unwrap_or_default();
        let n = transaction.document_id.unwrap_or(0);
        let mut session = Session {
            gateway_reference: Some(format!("g_{}", transaction.reference)),
            action: SessionAction::Redirect(format!("https://greedy.example/pay/{}", transaction.reference)),
            provider_data: None,
        };
        match behaviour.as_str() {
            "huge-redirect" => {
                // Built in place: the guest holds one copy, so `n` can come close to its cap.
                let mut url = Vec::with_capacity(((n.max(0) as usize) << 20) + 32);
                url.extend_from_slice(b"https://greedy.example/");
                url.resize(url.len() + ((n.max(0) as usize) << 20), b'x');
                session.action = SessionAction::Redirect(String::from_utf8(url).unwrap_or_default());
            }
            "huge-error" => return Err(failure(mib(n))),
            "huge-provider-data" => session.provider_data = Some(mib(n)),
            "huge-reference" => session.gateway_reference = Some(mib(n)),
            "log-flood" => {
                let line = kib(4);
                for _ in 0..n {
                    log::log(Level::Info, &line);
                }
            }
            "print-flood" => {
                let line = kib(4);
                for _ in 0..n {
                    println!("{line}");
                }
            }
            "log-huge" => log::log(Level::Info, &mib(n)),
            "log-forge" => log::log(
                Level::Info,
                "innocent\n2026-12-01T00:00:00.000000Z  INFO module=payment_mygateway company_id=2 integration_id=2: refund approved\x1b[2K",
            ),
            "mapper-huge" => mapper::put("contact", "1", &mib(n)),
            "mapper-many" | "mapper-fill" => {
                for i in 0..n {
                    mapper::put("contact", &format!("{}-{i}", transaction.reference), "remote");
                }
            }
            "cache-huge" => cache::set("token", &kib(n as usize), 60),
            other => {
                if let Some(url) = other.strip_prefix("redirect:") {
                    session.action = SessionAction::Redirect(url.to_string());
                }
            }
        }
        Ok(session)
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        match command(&request) {
            (verb, _) if verb == "slow" => spin(),
            (verb, n) if verb == "rejection" => Ok(Verification::Rejected(kib(n))),
            _ => Ok(Verification::Accepted),
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        if let Some(reference) = body.strip_prefix("capture ") {
            // Reports any gateway reference as captured, whoever's payment it is.
            let captured = GatewayUpdate {
                reference: None,
                gateway_reference: Some(reference.trim().to_string()),
                state: Some(TransactionState::Captured),
                gateway_status: Some("captured".into()),
                error_message: None,
                refunded_minor: None,
                provider_data: None,
            };
            return Ok(ParsedWebhook { event_type: "capture".into(), updates: vec![captured] });
        }
        let (verb, n) = command(&request);
        let update = |i: usize| GatewayUpdate {
            reference: None,
            gateway_reference: Some(format!("unknown_{i}")),
            state: None,
            gateway_status: Some("event".into()),
            error_message: None,
            refunded_minor: None,
            provider_data: None,
        };
        Ok(match verb.as_str() {
            "updates" => ParsedWebhook { event_type: "many".into(), updates: (0..n).map(update).collect() },
            "event-type" => ParsedWebhook { event_type: kib(n), updates: vec![] },
            "status" => {
                let mut one = update(0);
                one.gateway_status = Some(kib(n));
                ParsedWebhook { event_type: "status".into(), updates: vec![one] }
            }
            _ => ParsedWebhook { event_type: "nothing".into(), updates: vec![] },
        })
    }

    fn process_return(_t: Transaction, _p: Vec<(String, String)>) -> Result<GatewayUpdate, ProviderError> {
        Err(failure("no returns".into()))
    }

    fn refund(_t: Transaction, _a: Money, _id: String) -> Result<RefundResult, ProviderError> {
        Ok(RefundResult { refund_reference: mib(1), pending: false })
    }

    fn sync(_t: Transaction) -> Result<GatewayUpdate, ProviderError> {
        Err(failure("no sync".into()))
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok(mib(1))
    }
}

export!(Greedy);
