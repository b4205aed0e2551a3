//! A payment provider built against contract 1.1.0 that sends requests carrying the
//! host-brokered `oauth-client-credentials` header to its `api` endpoint and reports what it
//! got back, so the host's tests can show the access token never reaches a sandbox.
//!
//! `create-session` picks its behaviour from the transaction's `document-model` and always
//! fails with a report as its message (shown to the ERP as a gateway refusal):
//! - `echo`: one `GET {api}/echo`; the report is the status, every response header and the
//!   body, as the sandbox saw them.
//! - `echo:N`: N such requests in one call; the report lists each outcome.
//! - `wrong-secret`: the client secret is the `wrong_secret` credential.
//! - `foreign-token-url`: the token URL is a host the manifest does not allow.
//!
//! Never shipped as a module.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../../wit/v1.1.0",
});

use exports::integrations::provider::payment::{
    Guest, ParsedWebhook, PaymentSession, PaymentUpdate, RefundResult, SessionOptions,
};
use integrations::provider::crypto::{self, Encoding, HmacAlgorithm, KeyFormat};
use integrations::provider::endpoints;
use integrations::provider::http::{self, Header, HeaderValue, Method, OauthClient, Request, Response};
use integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, Verification, WebhookRequest,
};

struct OAuthGuest;

impl Guest for OAuthGuest {
    fn validate_credentials() -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_session(
        transaction: Transaction,
        _kind: IntegrationType,
        _options: SessionOptions,
    ) -> Result<PaymentSession, ProviderError> {
        let api = endpoints::base_url("api").ok_or_else(|| failure("no api endpoint".into()))?;
        let behaviour = transaction.document_model.unwrap_or_default();
        let client = |token_url: String, secret: &str| OauthClient {
            token_url,
            client_id: "client_id".into(),
            client_secret: secret.into(),
            scope: Some("echo:read".into()),
        };
        let token_url = format!("{api}/oauth/token");
        let report = match behaviour.as_str() {
            "echo" => outcome(echo(&api, client(token_url, "client_secret"))),
            "wrong-secret" => outcome(echo(&api, client(token_url, "wrong_secret"))),
            // `crypto@1.1.0`: HMAC-SHA512 with the client secret as a text key, and the client
            // id read as a hex key (it is not hex: the error names it).
            "hmac" => {
                let text = crypto::hmac(HmacAlgorithm::Sha512, "client_secret", b"message", Encoding::Hex);
                let hex = crypto::hmac_with_key(
                    HmacAlgorithm::Sha256,
                    "client_secret",
                    KeyFormat::Hex,
                    b"message",
                    Encoding::Base64,
                );
                format!("sha512: {text:?}; hex key: {hex:?}")
            }
            "foreign-token-url" => {
                outcome(echo(&api, client("https://tokens.elsewhere.example.com/token".into(), "client_secret")))
            }
            many => {
                let count: usize = many.strip_prefix("echo:").and_then(|n| n.parse().ok()).unwrap_or(1);
                let outcomes: Vec<String> = (0..count)
                    .map(|_| match echo(&api, client(token_url.clone(), "client_secret")) {
                        Ok(response) => format!("status-{}", response.status),
                        Err(e) => format!("{e:?}"),
                    })
                    .collect();
                format!("outcomes: {}", outcomes.join(","))
            }
        };
        Err(failure(report))
    }

    fn verify_webhook(_request: WebhookRequest) -> Result<Verification, ProviderError> {
        Ok(Verification::Rejected("no webhooks".into()))
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        Err(failure("no webhooks".into()))
    }

    fn process_return(_t: Transaction, _p: Vec<(String, String)>) -> Result<PaymentUpdate, ProviderError> {
        Err(failure("no returns".into()))
    }

    fn refund(_t: Transaction, _a: Money, _id: String) -> Result<RefundResult, ProviderError> {
        Err(failure("no refunds".into()))
    }

    fn sync(_t: Transaction) -> Result<PaymentUpdate, ProviderError> {
        Err(failure("no sync".into()))
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok("{}".into())
    }

    fn capture(_t: Transaction, _a: Money, _id: String) -> Result<PaymentUpdate, ProviderError> {
        Err(failure("no capture".into()))
    }

    fn void(_t: Transaction) -> Result<PaymentUpdate, ProviderError> {
        Err(failure("no void".into()))
    }

    fn charge_saved(_t: Transaction, _method: String) -> Result<PaymentUpdate, ProviderError> {
        Err(failure("no saved methods".into()))
    }

    fn delete_payment_method(_method: String) -> Result<(), ProviderError> {
        Err(failure("no saved methods".into()))
    }
}

export!(OAuthGuest);

fn echo(api: &str, client: OauthClient) -> Result<Response, http::HttpError> {
    let headers = vec![
        Header { name: "authorization".into(), value: HeaderValue::OauthClientCredentials(client) },
        Header { name: "accept".into(), value: HeaderValue::Text("application/json".into()) },
    ];
    http::send(&Request { method: Method::Get, url: format!("{api}/echo"), headers, body: None })
}

/// What the sandbox saw: status, headers (except the date) and body, or the error.
fn outcome(result: Result<Response, http::HttpError>) -> String {
    match result {
        Ok(response) => {
            let headers: Vec<String> = response
                .headers
                .iter()
                .filter(|(name, _)| name != "date")
                .map(|(name, value)| format!("{name}: {value}"))
                .collect();
            format!(
                "status {}; headers {}; body {}",
                response.status,
                headers.join("; "),
                String::from_utf8_lossy(&response.body)
            )
        }
        Err(e) => format!("error {e:?}"),
    }
}

fn failure(message: String) -> ProviderError {
    ProviderError { kind: ErrorKind::InvalidRequest, message, retryable: false }
}
