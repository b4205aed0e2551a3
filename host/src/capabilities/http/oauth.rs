//! The OAuth 2.0 client-credentials broker (contract 1.1.0, `oauth-client-credentials`): the
//! host obtains the access token itself (RFC 6749 §4.4), keeps it per integration and client
//! ([`super::token_cache`]), injects `Bearer <token>` and, when the API answers 401 to a kept
//! token, gets a new one and sends the request once more. The token request is an attempt
//! like any other: it spends one of the call's requests, goes through the allowlist and the
//! same clients, is logged, and is cut by the call's deadline. The token never reaches the
//! provider: it is scrubbed from the response like the secrets the host injects
//! (`capabilities::scrub`), and errors carry only the token endpoint's status and OAuth error.

use std::time::Instant;

use zeroize::Zeroizing;

use super::checks;
use super::request::{
    HeaderSource, Method, OAuthClient, OutboundError, OutboundHeader, OutboundRequest, OutboundResponse,
};
use super::token_cache::{CachedToken, TokenSlot};
use super::token_wire::{self, TokenAnswer};
use super::transport::Purpose;
use super::CallContext;

/// A token and whether it came from the cache (only a kept token is renewed on a 401).
struct Lease {
    token: Zeroizing<String>,
    kept: bool,
}

impl CallContext {
    /// Sends a request one of whose headers asks for an access token.
    pub(super) async fn send_with_token(
        &mut self,
        request: &OutboundRequest,
        client: &OAuthClient,
    ) -> Result<OutboundResponse, OutboundError> {
        // A request that would be refused anyway is refused before any token is asked for.
        let refused = checks::check_request(request, self.services.http.max_request_bytes)
            .map(|url| self.module.allowed_hosts.route(&url).is_none());
        if refused.unwrap_or(true) {
            return self.attempt(request, None, Purpose::Provider).await;
        }
        let key = match (self.credential(&client.client_id), self.credential(&client.client_secret)) {
            (Ok(id), Ok(secret)) => self.services.http.tokens.key(self.integration.integration_id, client, id, secret),
            (Err(e), _) | (_, Err(e)) => return self.refuse(request, e),
        };
        let slot = self.services.http.tokens.slot(&key);
        let lease = self.lease(&slot, client, None).await?;
        let mut response = self.attempt(request, Some(&lease.token), Purpose::Provider).await;
        if lease.kept && matches!(&response, Ok(r) if r.status == 401) {
            tracing::info!("the API refused a kept access token; renewing it");
            let renewed = self.lease(&slot, client, Some(&lease.token)).await?;
            response = self.attempt(request, Some(&renewed.token), Purpose::Provider).await;
        }
        response
    }

    /// A usable token for `key`: the kept one unless it is `stale` (refused by the API), or a
    /// new one from the token endpoint. Calls of the same key wait for each other here, so
    /// one token request serves them all.
    async fn lease(
        &mut self,
        slot: &TokenSlot,
        client: &OAuthClient,
        stale: Option<&str>,
    ) -> Result<Lease, OutboundError> {
        let wait = self.request_timeout();
        let mut kept = tokio::time::timeout(wait, slot.lock()).await.map_err(|_| OutboundError::Timeout)?;
        let now = Instant::now();
        match kept.as_ref() {
            Some(cached) if stale.is_some_and(|stale| stale == cached.token.as_str()) => *kept = None,
            Some(cached) if cached.renew_at > now => {
                // Kept, or renewed by another call since this one's was refused.
                return Ok(Lease { token: cached.token.clone(), kept: stale.is_none() });
            }
            _ => *kept = None,
        }
        let (token, expires_in) = self.fetch_token(client).await?;
        if let Some(renew_at) = self.services.http.tokens.renew_at(now, expires_in) {
            *kept = Some(CachedToken { token: token.clone(), renew_at });
        }
        Ok(Lease { token, kept: false })
    }

    /// Asks the token endpoint for a token: RFC 6749 §4.4.2 with the client authenticated by
    /// HTTP Basic (§2.3.1).
    async fn fetch_token(&mut self, client: &OAuthClient) -> Result<(Zeroizing<String>, Option<u64>), OutboundError> {
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &client.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let text =
            |name: &str, value: &str| OutboundHeader { name: name.into(), value: HeaderSource::Text(value.into()) };
        let request = OutboundRequest {
            method: Method::Post,
            url: client.token_url.clone(),
            headers: vec![
                OutboundHeader {
                    name: "authorization".into(),
                    value: HeaderSource::Basic(client.client_id.clone(), client.client_secret.clone()),
                },
                text("content-type", "application/x-www-form-urlencoded"),
                text("accept", "application/json"),
            ],
            body: Some(body.into_bytes()),
        };
        let response = self.attempt(&request, None, Purpose::OAuthToken).await.map_err(|error| match error {
            OutboundError::Denied(why) => OutboundError::Denied(format!("the OAuth token URL: {why}")),
            OutboundError::NonPublicAddress(why) => {
                OutboundError::NonPublicAddress(format!("the OAuth token URL: {why}"))
            }
            OutboundError::InvalidRequest(why) => OutboundError::InvalidRequest(format!("the OAuth token URL: {why}")),
            other => other,
        })?;
        let hidden: Vec<&str> = [&client.client_id, &client.client_secret]
            .into_iter()
            .filter_map(|name| self.credential(name).ok())
            .collect();
        // The answer holds the token: it is wiped once read.
        let body = Zeroizing::new(response.body);
        match token_wire::read(response.status, &body, &hidden) {
            TokenAnswer::Token { token, expires_in } => Ok((token, expires_in)),
            TokenAnswer::Unavailable(why) => Err(OutboundError::ConnectionFailed(why)),
            TokenAnswer::Refused(why) => Err(OutboundError::AuthorizationFailed(why)),
        }
    }
}
