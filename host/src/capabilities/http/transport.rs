//! One outbound attempt: it spends one request of the call's budget (allowed or not), checks
//! the request, picks the client by the allowlist's route, substitutes credentials (and a
//! brokered access token) into headers, sends, reads the answer within the size cap, removes
//! from it everything secret the host injected (`capabilities::scrub`: the integration's
//! secret values, Basic pairs holding one, the access token), and is logged once with a
//! bounded target and no header values or query strings.

use std::time::Instant;

use base64::Engine as _;
use futures_util::StreamExt;
use reqwest::header::{HeaderName, HeaderValue};

use super::checks::{self, MAX_HEADER_VALUE_BYTES};
use super::request::{HeaderSource, OutboundError, OutboundRequest, OutboundResponse};
use super::resolver;
use crate::capabilities::credentials::CredentialLookup;
use crate::capabilities::{CallContext, ScrubList};
use crate::domain::allowed_hosts::Route;
use crate::metrics::labels::{DenialLabels, OutboundHostLabels, OutboundLabels};

/// Why an attempt is made, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The provider's own request.
    Provider,
    /// The host asking a token endpoint for an access token on the provider's behalf.
    OAuthToken,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::OAuthToken => "oauth token",
        }
    }
}

impl CallContext {
    /// Makes one attempt. `token` is the access token for a header asking for one.
    pub(super) async fn attempt(
        &mut self,
        request: &OutboundRequest,
        token: Option<&str>,
        purpose: Purpose,
    ) -> Result<OutboundResponse, OutboundError> {
        let started = Instant::now();
        let outcome = match self.spend_request() {
            Ok(()) => self.send_checked(request, token, purpose).await,
            Err(e) => Err(e),
        };
        self.log_attempt(request, purpose, started, &outcome);
        self.measure_attempt(request, started, &outcome);
        outcome
    }

    /// An attempt refused before anything is sent: it spends and is logged like any.
    pub(super) fn refuse(
        &mut self,
        request: &OutboundRequest,
        error: OutboundError,
    ) -> Result<OutboundResponse, OutboundError> {
        let started = Instant::now();
        let outcome = self.spend_request().and(Err(error));
        self.log_attempt(request, Purpose::Provider, started, &outcome);
        self.measure_attempt(request, started, &outcome);
        outcome
    }

    /// Every attempt spends one request, so refused ones cannot probe without bound.
    fn spend_request(&mut self) -> Result<(), OutboundError> {
        let left = self.http_requests_left.checked_sub(1).ok_or(OutboundError::TooManyRequests)?;
        self.http_requests_left = left;
        Ok(())
    }

    /// Counts the attempt: a refusal by reason, anything sent by the rule that admitted it
    /// and its status class, with its time.
    fn measure_attempt(
        &self,
        request: &OutboundRequest,
        started: Instant,
        outcome: &Result<OutboundResponse, OutboundError>,
    ) {
        let meters = &self.services.meters;
        let module = self.module.identifier.clone();
        if let Some(reason) = outcome.as_ref().err().and_then(OutboundError::denial_reason) {
            meters.outbound_denials.get_or_create(&DenialLabels { module, reason }).inc();
            return;
        }
        let rule = url::Url::parse(&request.url).ok().and_then(|url| self.module.allowed_hosts.admitted_by(&url));
        let host = rule.map_or_else(|| "unknown".to_string(), |(_, rule)| rule);
        let status_class = match outcome {
            Ok(response) => crate::metrics::status_class(response.status),
            Err(error) => error.failure_class(),
        };
        let elapsed = started.elapsed().as_secs_f64();
        let labels = OutboundHostLabels { module, host };
        meters.outbound_seconds.get_or_create(&labels).observe(elapsed);
        let OutboundHostLabels { module, host } = labels;
        meters.outbound_requests.get_or_create(&OutboundLabels { module, host, status_class }).inc();
    }

    fn log_attempt(
        &self,
        request: &OutboundRequest,
        purpose: Purpose,
        started: Instant,
        outcome: &Result<OutboundResponse, OutboundError>,
    ) {
        let target = checks::logged_target(&request.url);
        let status = outcome.as_ref().ok().map(|response| response.status);
        let error =
            outcome.as_ref().err().map(|error| checks::bounded(&format!("{error:?}"), checks::LOGGED_ERROR_BYTES));
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (module, version, company_id, integration_id) = (
            &self.module.identifier,
            &self.module.version,
            self.integration.company_id,
            self.integration.integration_id,
        );
        let (method, purpose) = (request.method, purpose.as_str());
        if matches!(outcome, Err(OutboundError::Denied(_) | OutboundError::NonPublicAddress(_))) {
            tracing::warn!(%module, %version, company_id, integration_id, method = ?method, target, purpose, error, elapsed_ms, "outbound request denied");
        } else {
            tracing::info!(%module, %version, company_id, integration_id, method = ?method, target, purpose, status, error, elapsed_ms, "outbound request");
        }
    }

    /// Checks and performs one request. The answer to a provider's request is scrubbed; a
    /// token endpoint's answer is read by the host only ([`super::oauth`]).
    async fn send_checked(
        &self,
        request: &OutboundRequest,
        token: Option<&str>,
        purpose: Purpose,
    ) -> Result<OutboundResponse, OutboundError> {
        let limits = &self.services.http;
        let url = checks::check_request(request, limits.max_request_bytes)?;
        let client = match self.module.allowed_hosts.route(&url) {
            Some(Route::Override) => &limits.overrides,
            // Only DNS names take this route, so the guarded resolver sees every one.
            Some(Route::Manifest) => &limits.guarded,
            None => {
                let origin = url.origin().ascii_serialization();
                return Err(OutboundError::Denied(format!(
                    "{origin} is not on the allowlist of {}",
                    self.module.identifier
                )));
            }
        };

        let mut builder = client.request(request.method.to_reqwest(), url).timeout(self.request_timeout());
        // What this request injects beyond the integration's secret values: Basic pairs with
        // a secret part (their base64 holds the secret without holding its base64) and the
        // access token.
        let mut injected = ScrubList::default();
        let mut has_injected = false;
        for header in &request.headers {
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| OutboundError::InvalidRequest("a header name is not valid".into()))?;
            match &header.value {
                HeaderSource::Basic(user, password)
                    if self.credentials.is_secret(user) || self.credentials.is_secret(password) =>
                {
                    if let (Ok(user), Ok(password)) = (self.credential(user), self.credential(password)) {
                        injected.basic_pair(user, password);
                        has_injected = true;
                    }
                }
                HeaderSource::OAuthClientCredentials(_) => {
                    if let Some(token) = token {
                        injected.secret(token);
                        has_injected = true;
                    }
                }
                _ => {}
            }
            builder = builder.header(name, self.header_value(&header.value, token)?);
        }
        let request_scrubber = has_injected.then(|| {
            let mut list = self.secrets_to_scrub();
            list.extend(injected);
            list.build()
        });
        let scrubber = request_scrubber.as_ref().unwrap_or_else(|| self.scrubber());
        let scrub = |bytes: Vec<u8>| match purpose {
            Purpose::OAuthToken => bytes,
            Purpose::Provider => match scrubber.bytes(&bytes) {
                std::borrow::Cow::Borrowed(_) => bytes,
                std::borrow::Cow::Owned(scrubbed) => scrubbed,
            },
        };
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }

        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(OutboundError::Timeout),
            Err(e) => {
                if let Some(refused) = resolver::non_public_name(&e) {
                    return Err(OutboundError::NonPublicAddress(format!(
                        "{refused}; the host connects providers to public addresses only"
                    )));
                }
                return Err(OutboundError::ConnectionFailed(connection_reason(&e)));
            }
        };
        if let (Purpose::Provider, Some(reason)) = (purpose, checks::unscrubbable_response(response.headers())) {
            return Err(OutboundError::ConnectionFailed(reason));
        }
        let status = response.status().as_u16();
        // Nothing the host injected comes back into the sandbox (an echoing endpoint, a
        // gateway answering with a key).
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = scrub(value.as_bytes().to_vec());
                (name.as_str().to_string(), String::from_utf8_lossy(&value).into_owned())
            })
            .collect();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) if body.len() + chunk.len() > limits.max_response_bytes => {
                    return Err(OutboundError::ResponseTooLarge)
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(e) if e.is_timeout() => return Err(OutboundError::Timeout),
                Err(e) => return Err(OutboundError::ConnectionFailed(connection_reason(&e))),
            }
        }
        Ok(OutboundResponse { status, headers, body: scrub(body) })
    }

    /// Builds a header value, substituting credentials and the access token. Values the
    /// host substituted are marked sensitive so no layer below logs them.
    fn header_value(&self, value: &HeaderSource, token: Option<&str>) -> Result<HeaderValue, OutboundError> {
        let credential = |name: &str| self.credential(name).map(str::to_string);
        let (text, sensitive) = match value {
            HeaderSource::Text(text) => (text.clone(), false),
            HeaderSource::Bearer(name) => (format!("Bearer {}", credential(name)?), true),
            HeaderSource::Basic(user, password) => {
                let pair = format!("{}:{}", credential(user)?, credential(password)?);
                (format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)), true)
            }
            HeaderSource::Secret(name) => (credential(name)?, true),
            HeaderSource::OAuthClientCredentials(_) => match token {
                Some(token) => (format!("Bearer {token}"), true),
                None => return Err(OutboundError::InvalidRequest("no access token was obtained".into())),
            },
        };
        if text.len() > MAX_HEADER_VALUE_BYTES {
            return Err(OutboundError::InvalidRequest(format!(
                "a header value of {} bytes is over the host's limit of {MAX_HEADER_VALUE_BYTES}",
                text.len()
            )));
        }
        let mut value = HeaderValue::from_str(&text)
            .map_err(|_| OutboundError::InvalidRequest("a header value holds characters HTTP does not allow".into()))?;
        value.set_sensitive(sensitive);
        Ok(value)
    }

    /// A credential's value for use inside the host, or the error the provider sees.
    pub(super) fn credential(&self, name: &str) -> Result<&str, OutboundError> {
        match self.credentials.value_for_host(name) {
            Ok(value) => Ok(value),
            Err(CredentialLookup::Unknown) => {
                Err(OutboundError::UnknownCredential(format!("`{name}` is not declared in the manifest")))
            }
            Err(CredentialLookup::NotSet) => Err(OutboundError::UnknownCredential(format!("`{name}` is not set"))),
        }
    }

    /// How long the next request may take: three quarters of the call's remaining time (so a
    /// provider whose request times out still has time to say so), at most the host's cap.
    pub(super) fn request_timeout(&self) -> std::time::Duration {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        (remaining * 3 / 4).min(self.services.http.request_timeout)
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
