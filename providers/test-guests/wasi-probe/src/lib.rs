//! A payment provider that reaches for files and sockets through WASI: its `create-session`
//! reads `/etc/passwd` and connects to the contact's name. Using them makes Rust's std import
//! `wasi:filesystem` and `wasi:sockets`, which the host refuses at install and in `check`, so
//! this component never runs on a host. Never shipped.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../../wit",
});

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use integrations::provider::types::{
    ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction, Verification,
    WebhookRequest,
};

struct WasiProbe;

impl Guest for WasiProbe {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_session(transaction: Transaction, _kind: IntegrationType) -> Result<Session, ProviderError> {
        let file = std::fs::read("/etc/passwd").map(|b| b.len().to_string()).unwrap_or_else(|_| "denied".into());
        let target = transaction.contact.and_then(|c| c.name).unwrap_or_default();
        let socket = std::net::TcpStream::connect(target.as_str()).map(|_| "connected").unwrap_or("denied");
        Ok(Session {
            gateway_reference: None,
            action: SessionAction::Redirect(format!("https://probe.example/?file={file}&socket={socket}")),
            provider_data: None,
        })
    }

    fn verify_webhook(_request: WebhookRequest) -> Result<Verification, ProviderError> {
        Ok(Verification::Rejected("no webhooks".into()))
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        Err(failure())
    }

    fn process_return(_t: Transaction, _p: Vec<(String, String)>) -> Result<GatewayUpdate, ProviderError> {
        Err(failure())
    }

    fn refund(_t: Transaction, _a: Money, _id: String) -> Result<RefundResult, ProviderError> {
        Err(failure())
    }

    fn sync(_t: Transaction) -> Result<GatewayUpdate, ProviderError> {
        Err(failure())
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok("{}".into())
    }
}

export!(WasiProbe);

fn failure() -> ProviderError {
    ProviderError { kind: ErrorKind::Internal, message: "not implemented".into(), retryable: false }
}
