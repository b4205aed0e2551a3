//! Twilio SMS as a messaging provider component.
//!
//! Send: `POST {api}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, basic auth of
//! the account SID and the auth token (the host injects the token; it never enters this
//! sandbox). Webhooks: `X-Twilio-Signature` is base64 HMAC-SHA1, keyed with the auth token,
//! over the full public URL followed by every POST parameter's name and value, sorted by
//! name (then value); the host computes the HMAC.

wit_bindgen::generate!({
    world: "messaging-provider",
    path: "../../wit",
});

mod signature;
mod wire;

use exports::integrations::provider::messaging::{
    Guest, InboundMessage, MessageUpdate, OutboundMessage, ParsedWebhook, SendResult, WebhookResponse,
};
use integrations::provider::http::{self, Header, HeaderValue, Method, Request};
use integrations::provider::types::{ErrorKind, ProviderError, Verification, WebhookRequest};
use integrations::provider::{context, credentials, crypto, endpoints};

const ACCOUNT_SID: &str = "twilio_account_sid";
const AUTH_TOKEN: &str = "twilio_auth_token";
const FROM_NUMBER: &str = "twilio_from_number";
const MESSAGING_SERVICE_SID: &str = "twilio_messaging_service_sid";
const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// What Twilio expects back from a webhook: an empty TwiML document.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

struct Twilio;

impl Guest for Twilio {
    fn validate_credentials() -> Result<(), ProviderError> {
        let sid = account_sid()?;
        if !is_set(AUTH_TOKEN) {
            return Err(error(ErrorKind::InvalidCredentials, "Please enter your Twilio Auth Token."));
        }
        sender()?;
        call_api::<wire::Account>(Method::Get, &format!("/2010-04-01/Accounts/{sid}.json"), None).map(|_| ())
    }

    fn send(message: OutboundMessage) -> Result<SendResult, ProviderError> {
        let sid = account_sid()?;
        let callback = context::integration().webhook_url;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &message.to).append_pair("Body", &message.body);
        match sender()? {
            Sender::Service(service) => form.append_pair("MessagingServiceSid", &service),
            Sender::Number(number) => form.append_pair("From", &number),
        };
        form.append_pair("StatusCallback", &callback);
        let sent: wire::Message =
            call_api(Method::Post, &format!("/2010-04-01/Accounts/{sid}/Messages.json"), Some(form.finish()))?;
        Ok(SendResult { remote_id: sent.sid, state: wire::state(&sent.status) })
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let Some(given) = header(&request, SIGNATURE_HEADER) else {
            return Ok(Verification::Rejected("missing X-Twilio-Signature header".into()));
        };
        if !is_set(AUTH_TOKEN) {
            return Ok(Verification::Rejected("no auth token is configured".into()));
        }
        let params = form_params(&request);
        for url in signature::url_variants(&request.url) {
            let expected = crypto::hmac(
                crypto::HmacAlgorithm::Sha1,
                AUTH_TOKEN,
                signature::signed_payload(&url, &params).as_bytes(),
                crypto::Encoding::Base64,
            )
            .map_err(|e| error(ErrorKind::Internal, &format!("cannot compute the signature: {e:?}")))?;
            if crypto::constant_time_equals(expected.as_bytes(), given.trim().as_bytes()) {
                return Ok(Verification::Accepted);
            }
        }
        Ok(Verification::Rejected("X-Twilio-Signature does not match the URL and parameters".into()))
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let params = form_params(&request);
        let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let response = Some(WebhookResponse { content_type: "text/xml".into(), body: EMPTY_TWIML.into() });
        let sid = param("MessageSid").or_else(|| param("SmsSid"));
        if let (Some(status), Some(sid)) = (param("MessageStatus").or_else(|| param("SmsStatus")), sid.clone()) {
            if status != "received" && status != "receiving" {
                let update = MessageUpdate {
                    remote_id: sid,
                    state: wire::state(&status),
                    error_code: param("ErrorCode").filter(|c| !c.is_empty()),
                    error_message: param("ErrorMessage").filter(|m| !m.is_empty()),
                };
                return Ok(ParsedWebhook {
                    event_type: format!("status.{status}"),
                    updates: vec![update],
                    inbound: vec![],
                    response,
                });
            }
        }
        match (sid, param("From"), param("To"), param("Body")) {
            (Some(remote_id), Some(from), Some(to), Some(body)) => Ok(ParsedWebhook {
                event_type: "message.inbound".into(),
                updates: vec![],
                inbound: vec![InboundMessage { remote_id, from, to, body }],
                response,
            }),
            _ => Ok(ParsedWebhook { event_type: "unknown".into(), updates: vec![], inbound: vec![], response }),
        }
    }
}

export!(Twilio);

enum Sender {
    Number(String),
    Service(String),
}

/// The configured sender; a messaging service wins when both are set (Twilio refuses both).
fn sender() -> Result<Sender, ProviderError> {
    if let Some(service) = plain(MESSAGING_SERVICE_SID) {
        if !service.starts_with("MG") {
            return Err(error(ErrorKind::InvalidCredentials, "The Twilio Messaging Service SID starts with MG."));
        }
        return Ok(Sender::Service(service));
    }
    match plain(FROM_NUMBER) {
        Some(number) if number.starts_with('+') => Ok(Sender::Number(number)),
        Some(_) => Err(error(
            ErrorKind::InvalidCredentials,
            "The Twilio From number must be in E.164 form, such as +14155552671.",
        )),
        None => {
            Err(error(ErrorKind::InvalidCredentials, "Please enter a Twilio From number or a Messaging Service SID."))
        }
    }
}

fn account_sid() -> Result<String, ProviderError> {
    match plain(ACCOUNT_SID) {
        Some(sid) if sid.starts_with("AC") && sid.len() == 34 => Ok(sid),
        Some(_) => {
            Err(error(ErrorKind::InvalidCredentials, "The Twilio Account SID starts with AC and has 34 characters."))
        }
        None => Err(error(ErrorKind::InvalidCredentials, "Please enter your Twilio Account SID.")),
    }
}

/// Calls Twilio's REST API with basic auth (account SID, auth token) and decodes a 2xx JSON
/// answer; anything else becomes a provider error carrying Twilio's message.
fn call_api<T: serde::de::DeserializeOwned>(
    method: Method,
    path: &str,
    form: Option<String>,
) -> Result<T, ProviderError> {
    let base = endpoints::base_url("api")
        .ok_or_else(|| error(ErrorKind::Internal, "The manifest names no `api` endpoint."))?;
    let mut headers = vec![
        Header { name: "authorization".into(), value: HeaderValue::Basic((ACCOUNT_SID.into(), AUTH_TOKEN.into())) },
        Header { name: "accept".into(), value: HeaderValue::Text("application/json".into()) },
    ];
    if form.is_some() {
        headers.push(Header {
            name: "content-type".into(),
            value: HeaderValue::Text("application/x-www-form-urlencoded".into()),
        });
    }
    let request = Request { method, url: format!("{base}{path}"), headers, body: form.map(String::into_bytes) };
    let response = http::send(&request).map_err(transport_error)?;
    if !(200..300).contains(&response.status) {
        return Err(wire::status_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|e| ProviderError {
        kind: ErrorKind::GatewayError,
        message: format!("Twilio answered with an unexpected body: {e}"),
        retryable: false,
    })
}

fn transport_error(e: http::HttpError) -> ProviderError {
    match e {
        http::HttpError::Timeout => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: "Twilio did not answer in time.".into(),
            retryable: true,
        },
        http::HttpError::ConnectionFailed(why) => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach Twilio: {why}"),
            retryable: true,
        },
        other => error(ErrorKind::Internal, &format!("The host refused the request to Twilio: {other:?}")),
    }
}

/// A form-encoded webhook's parameters, in body order (repeated names kept).
fn form_params(request: &WebhookRequest) -> Vec<(String, String)> {
    let is_form = header(request, "content-type").is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Vec::new();
    }
    form_urlencoded::parse(&request.body).into_owned().collect()
}

fn plain(name: &str) -> Option<String> {
    credentials::get(name).ok().flatten().filter(|value| !value.is_empty())
}

fn is_set(name: &str) -> bool {
    credentials::is_set(name).unwrap_or(false)
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn error(kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError { kind, message: message.to_string(), retryable: false }
}
