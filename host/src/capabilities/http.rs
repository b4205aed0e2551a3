//! The `http` import: outbound requests checked against the module's allowlist on every
//! call, with secret credentials substituted into headers by the host. Redirects are not
//! followed (each hop would need its own check), and each call has a request budget, a
//! response size cap and the call's deadline as timeout. Every request is logged without
//! header values or query strings.

use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::StreamExt;
use reqwest::header::{HeaderName, HeaderValue as ReqwestHeaderValue};
use url::Url;

use crate::runtime::bindings::v1::integrations::provider::http::{
    self, HeaderValue, HttpError, Method, Request, Response,
};

use super::credentials::CredentialLookup;
use super::CallContext;

/// The shared client and the caps every call gets.
pub struct OutboundHttp {
    client: reqwest::Client,
    pub max_response_bytes: usize,
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
}

impl OutboundHttp {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("integrations-host/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            max_response_bytes: 1 << 20,
            max_request_bytes: 1 << 20,
            request_timeout: Duration::from_secs(15),
        })
    }
}

impl http::Host for CallContext {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        let method = request.method;
        let started = Instant::now();
        let outcome = self.send_checked(request).await;
        let (status, error) = match &outcome {
            Ok((_, response)) => (Some(response.status), None),
            Err((_, error)) => (None, Some(format!("{error:?}"))),
        };
        let target = match &outcome {
            Ok((target, _)) | Err((target, _)) => target.as_str(),
        };
        tracing::info!(
            module = %self.module.identifier,
            company_id = self.integration.company_id,
            integration_id = self.integration.integration_id,
            method = ?method,
            target,
            status,
            error,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "outbound request"
        );
        Ok(outcome.map(|(_, response)| response).map_err(|(_, error)| error))
    }
}

type Sent = Result<(String, Response), (String, HttpError)>;

impl CallContext {
    /// Performs one request; the String is the target as logged (no query, no credentials).
    async fn send_checked(&mut self, request: Request) -> Sent {
        let url = match Url::parse(&request.url) {
            Ok(url) => url,
            Err(e) => {
                return Err((
                    "<invalid url>".into(),
                    HttpError::InvalidRequest(format!("`{}` is not a URL: {e}", request.url)),
                ))
            }
        };
        let target = format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path());
        let fail = |error| Err((target.clone(), error));
        if !url.username().is_empty() || url.password().is_some() {
            return fail(HttpError::InvalidRequest("credentials in URLs are refused; use a basic header".into()));
        }
        if !self.module.allowed_hosts.allows(&url) {
            tracing::warn!(module = %self.module.identifier, integration_id = self.integration.integration_id, target, "outbound request denied: host not allowed");
            let origin = url.origin().ascii_serialization();
            return fail(HttpError::Denied(format!("{origin} is not on the allowlist of {}", self.module.identifier)));
        }
        if self.http_requests_left == 0 {
            return fail(HttpError::TooManyRequests);
        }
        self.http_requests_left -= 1;
        let limits = &self.services.http;
        if request.body.as_ref().is_some_and(|body| body.len() > limits.max_request_bytes) {
            return fail(HttpError::InvalidRequest(format!("request body over {} bytes", limits.max_request_bytes)));
        }

        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        // A quarter of the call's remaining time is kept back, so a provider whose request
        // times out still has time to say so.
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = (remaining * 3 / 4).min(limits.request_timeout);
        let mut builder = limits.client.request(method, url).timeout(timeout);
        for header in &request.headers {
            let name = match HeaderName::from_bytes(header.name.as_bytes()) {
                Ok(name) => name,
                Err(_) => return fail(HttpError::InvalidRequest(format!("`{}` is not a header name", header.name))),
            };
            let value = match self.header_value(&header.value) {
                Ok(value) => value,
                Err(error) => return fail(error),
            };
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }

        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return fail(HttpError::Timeout),
            Err(e) => return fail(HttpError::ConnectionFailed(connection_reason(&e))),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) if body.len() + chunk.len() > limits.max_response_bytes => {
                    return fail(HttpError::ResponseTooLarge)
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(e) if e.is_timeout() => return fail(HttpError::Timeout),
                Err(e) => return fail(HttpError::ConnectionFailed(connection_reason(&e))),
            }
        }
        Ok((target, Response { status, headers, body }))
    }

    /// Builds a header value, substituting credentials. Values from credentials are marked
    /// sensitive so no layer below logs them.
    fn header_value(&self, value: &HeaderValue) -> Result<ReqwestHeaderValue, HttpError> {
        let credential = |name: &str| match self.credentials.value_for_host(name) {
            Ok(value) => Ok(value.to_string()),
            Err(CredentialLookup::Unknown) => {
                Err(HttpError::UnknownCredential(format!("`{name}` is not declared in the manifest")))
            }
            Err(CredentialLookup::NotSet) => Err(HttpError::UnknownCredential(format!("`{name}` is not set"))),
        };
        let (text, sensitive) = match value {
            HeaderValue::Text(text) => (text.clone(), false),
            HeaderValue::Bearer(name) => (format!("Bearer {}", credential(name)?), true),
            HeaderValue::Basic((user, password)) => {
                let pair = format!("{}:{}", credential(user)?, credential(password)?);
                (format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)), true)
            }
            HeaderValue::Secret(name) => (credential(name)?, true),
        };
        let mut value = ReqwestHeaderValue::from_str(&text)
            .map_err(|_| HttpError::InvalidRequest("a header value holds characters HTTP does not allow".into()))?;
        value.set_sensitive(sensitive);
        Ok(value)
    }
}

/// A transport error's cause without the URL (which reqwest includes in its Display).
fn connection_reason(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut reason = String::from(if error.is_connect() { "connection failed" } else { "request failed" });
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    reason
}
