//! The `http` import: outbound requests checked against the module's allowlist on every
//! call, with secret credentials substituted into headers by the host. Requests the manifest
//! allows go through the guarded client, whose resolver connects only to public addresses
//! ([`resolver`]); requests to an operator's endpoint override go through a client without
//! that filter (the operator may point a module at 127.0.0.1). Neither follows redirects (each
//! hop would need its own check) nor uses the environment's proxies. Each call has a request
//! budget that every attempt spends, allowed or not, a response size cap and the call's
//! deadline as timeout ([`transport`]). A header may ask the host for an OAuth access token
//! (contract 1.1.0), which the host obtains, keeps and injects itself ([`oauth`]).
//!
//! The capability speaks its own types ([`request`]); `runtime::http_imports` converts each
//! contract version's to them.

mod address;
mod checks;
mod oauth;
mod request;
mod resolver;
mod token_cache;
mod token_wire;
mod transport;

use std::time::Duration;

pub use request::{
    HeaderSource, Method, OAuthClient, OutboundError, OutboundHeader, OutboundRequest, OutboundResponse,
};
pub use resolver::StaticNames;
use token_cache::TokenCache;

use super::CallContext;

/// The operator's caps on every provider's outbound requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Most bytes of a response body read; a longer one is `response-too-large`.
    pub max_response_bytes: usize,
    /// Most bytes of a request body sent.
    pub max_request_bytes: usize,
    /// Longest one request may take (never more than three quarters of the call's time left).
    pub request_timeout: Duration,
    /// Requests one provider call may attempt; every attempt spends one, allowed or not.
    pub requests_per_call: u32,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        Self {
            max_response_bytes: 1 << 20,
            max_request_bytes: 1 << 20,
            request_timeout: Duration::from_secs(15),
            requests_per_call: 8,
        }
    }
}

/// The two clients, the access tokens the host holds, and the caps every call gets.
pub struct OutboundHttp {
    /// For what manifests allow: resolves names itself and connects only to public addresses.
    guarded: reqwest::Client,
    /// For the origins of operator endpoint overrides only.
    overrides: reqwest::Client,
    /// Brokered OAuth access tokens, per integration and client.
    tokens: TokenCache,
    pub max_response_bytes: usize,
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
    pub requests_per_call: u32,
}

impl OutboundHttp {
    /// `pinned` names are answered before the system resolver (tests, operators pinning
    /// names); their answers are filtered like any other.
    pub fn new(pinned: StaticNames, limits: OutboundLimits) -> anyhow::Result<Self> {
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
            tokens: TokenCache::default(),
            max_response_bytes: limits.max_response_bytes,
            max_request_bytes: limits.max_request_bytes,
            request_timeout: limits.request_timeout,
            requests_per_call: limits.requests_per_call.max(1),
        })
    }
}

impl CallContext {
    /// The `http.send` of every contract version.
    pub(crate) async fn send_outbound(&mut self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let mut clients = request.headers.iter().filter_map(|header| match &header.value {
            HeaderSource::OAuthClientCredentials(client) => Some(client),
            _ => None,
        });
        // More than one is refused by the checks of the attempt.
        match (clients.next().cloned(), clients.next()) {
            (Some(client), None) => self.send_with_token(&request, &client).await,
            _ => self.attempt(&request, None, transport::Purpose::Provider).await,
        }
    }
}
