//! The `http` import: outbound requests checked against the module's allowlist on every
//! call, with secret credentials substituted into headers by the host. Requests the manifest
//! allows go through the guarded client, whose resolver connects only to public addresses
//! ([`resolver`]); requests to an operator's endpoint override go through a client without
//! that filter (the operator may point a module at 127.0.0.1). Neither follows redirects (each
//! hop would need its own check) nor uses the environment's proxies. Each call has a request
//! budget that every attempt spends, allowed or not, a response size cap and the call's
//! deadline as timeout. Every attempt is logged once, with a bounded target and no header
//! values or query strings.

mod address;
mod checks;
mod resolver;

use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::StreamExt;
use reqwest::header::{HeaderName, HeaderValue as ReqwestHeaderValue};

use crate::domain::allowed_hosts::Route;
use crate::runtime::bindings::v1::integrations::provider::http::{
    self, HeaderValue, HttpError, Method, Request, Response,
};

use checks::MAX_HEADER_VALUE_BYTES;
pub use resolver::StaticNames;

use super::credentials::CredentialLookup;
use super::CallContext;
use super::ScrubList;

/// The two clients and the caps every call gets.
pub struct OutboundHttp {
    /// For what manifests allow: resolves names itself and connects only to public addresses.
    guarded: reqwest::Client,
    /// For the origins of operator endpoint overrides only.
    overrides: reqwest::Client,
    pub max_response_bytes: usize,
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
}

impl OutboundHttp {
    /// `pinned` names are answered before the system resolver (tests, operators pinning
    /// names); their answers are filtered like any other.
    pub fn new(pinned: StaticNames) -> anyhow::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("integrations-host/", env!("CARGO_PKG_VERSION")))
        };
        let guarded = builder().dns_resolver(std::sync::Arc::new(resolver::GuardedResolver::new(pinned))).build()?;
        Ok(Self {
            guarded,
            overrides: builder().build()?,
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
        let target = checks::logged_target(&request.url);
        // Every attempt spends one request, so refused ones cannot probe without bound.
        let outcome = match self.http_requests_left.checked_sub(1) {
            None => Err(HttpError::TooManyRequests),
            Some(left) => {
                self.http_requests_left = left;
                self.send_checked(request).await
            }
        };
        let status = outcome.as_ref().ok().map(|response| response.status);
        let error =
            outcome.as_ref().err().map(|error| checks::bounded(&format!("{error:?}"), checks::LOGGED_ERROR_BYTES));
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (module, company_id, integration_id) =
            (&self.module.identifier, self.integration.company_id, self.integration.integration_id);
        if matches!(outcome, Err(HttpError::Denied(_))) {
            tracing::warn!(%module, company_id, integration_id, method = ?method, target, error, elapsed_ms, "outbound request denied");
        } else {
            tracing::info!(%module, company_id, integration_id, method = ?method, target, status, error, elapsed_ms, "outbound request");
        }
        Ok(outcome)
    }
}

impl CallContext {
    /// Checks and performs one request.
    async fn send_checked(&mut self, request: Request) -> Result<Response, HttpError> {
        let limits = &self.services.http;
        let url = checks::check_request(&request, limits.max_request_bytes)?;
        let client = match self.module.allowed_hosts.route(&url) {
            Some(Route::Override) => &limits.overrides,
            // Only DNS names take this route, so the guarded resolver sees every one.
            Some(Route::Manifest) => &limits.guarded,
            None => {
                let origin = url.origin().ascii_serialization();
                return Err(HttpError::Denied(format!(
                    "{origin} is not on the allowlist of {}",
                    self.module.identifier
                )));
            }
        };

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
        let mut builder = client.request(method, url).timeout(timeout);
        // Basic pairs with a secret part are scrubbed as the pair's base64 too.
        let mut pairs = ScrubList::default();
        let mut has_pairs = false;
        for header in &request.headers {
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest("a header name is not valid".into()))?;
            if let HeaderValue::Basic((user, password)) = &header.value {
                if self.credentials.is_secret(user) || self.credentials.is_secret(password) {
                    let (Ok(user), Ok(password)) =
                        (self.credentials.value_for_host(user), self.credentials.value_for_host(password))
                    else {
                        // header_value below names what is missing.
                        builder = builder.header(name, self.header_value(&header.value)?);
                        continue;
                    };
                    pairs.basic_pair(user, password);
                    has_pairs = true;
                }
            }
            builder = builder.header(name, self.header_value(&header.value)?);
        }
        let request_scrubber = has_pairs.then(|| {
            let mut list = self.secrets_to_scrub();
            list.extend(pairs);
            list.build()
        });
        let scrubber = request_scrubber.as_ref().unwrap_or_else(|| self.scrubber());
        if let Some(body) = request.body {
            builder = builder.body(body);
        }

        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(HttpError::Timeout),
            Err(e) => {
                if let Some(refused) = resolver::non_public_name(&e) {
                    return Err(HttpError::Denied(format!(
                        "{refused}; the host connects providers to public addresses only"
                    )));
                }
                return Err(HttpError::ConnectionFailed(connection_reason(&e)));
            }
        };
        let status = response.status().as_u16();
        // Nothing the host injected comes back into the sandbox (an echoing endpoint, a
        // gateway answering with a key): see `scrub`.
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_string(), String::from_utf8_lossy(&scrubber.bytes(value.as_bytes())).into_owned())
            })
            .collect();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) if body.len() + chunk.len() > limits.max_response_bytes => {
                    return Err(HttpError::ResponseTooLarge)
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(e) if e.is_timeout() => return Err(HttpError::Timeout),
                Err(e) => return Err(HttpError::ConnectionFailed(connection_reason(&e))),
            }
        }
        let body = match scrubber.bytes(&body) {
            std::borrow::Cow::Borrowed(_) => body,
            std::borrow::Cow::Owned(scrubbed) => scrubbed,
        };
        Ok(Response { status, headers, body })
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
        if text.len() > MAX_HEADER_VALUE_BYTES {
            return Err(HttpError::InvalidRequest(format!(
                "a header value of {} bytes is over the host's limit of {MAX_HEADER_VALUE_BYTES}",
                text.len()
            )));
        }
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
