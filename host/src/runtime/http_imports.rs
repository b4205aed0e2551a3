//! The `http` import of every contract version: the request is lifted within its ceilings
//! (checked from the lengths the guest declares, before anything is copied), converted to the
//! capability's own types (`capabilities::http::OutboundRequest`), and the capability's answer
//! converted back to the version's `response` / `http-error`. Both versions share one
//! implementation; 1.1.0 adds the `oauth-client-credentials` header value and the
//! `authorization-failed` error.

use wasmtime::component::{ComponentType, Lift, Linker, Lower, WasmList};

use super::bindings::{v1, v1_1};
use super::ceilings;
use super::imports::bytes;
use super::results::bounded::{ceilings, Items, Text};
use super::state::ProviderState;
use crate::capabilities::http::{
    HeaderSource, Method, OAuthClient, OutboundError, OutboundHeader, OutboundRequest, OutboundResponse,
};
use crate::capabilities::CallContext;
use crate::domain::contract::ContractVersion;

ceilings! {
    // What the host copies out of an outbound request; the `http` capability then applies
    // its own, smaller limits and answers `invalid-request` (so a provider learns what it did
    // wrong). At most 256 headers of 1 KiB + 16 KiB: about 4.3 MiB.
    RequestUrl = "http request url", 128 * 1024;
    RequestHeaders = "http request headers", 256;
    HeaderName = "http header name", 1024;
    HeaderValue = "http header value", 16 * 1024;
    HeaderCredential = "http header credential", 64;
    TokenUrl = "http oauth token url", 128 * 1024;
    Scope = "http oauth scope", 16 * 1024;
}

type Response = v1::integrations::provider::http::Response;

/// `http.header-value` of 1.0.0, bounded.
#[derive(ComponentType, Lift)]
#[component(variant)]
enum RawHeaderValue {
    #[component(name = "text")]
    Text(Text<HeaderValue>),
    #[component(name = "bearer")]
    Bearer(Text<HeaderCredential>),
    #[component(name = "basic")]
    Basic((Text<HeaderCredential>, Text<HeaderCredential>)),
    #[component(name = "secret")]
    Secret(Text<HeaderCredential>),
}

/// `http.oauth-client` of 1.1.0, bounded.
#[derive(ComponentType, Lift)]
#[component(record)]
struct RawOAuthClient {
    #[component(name = "token-url")]
    token_url: Text<TokenUrl>,
    #[component(name = "client-id")]
    client_id: Text<HeaderCredential>,
    #[component(name = "client-secret")]
    client_secret: Text<HeaderCredential>,
    scope: Option<Text<Scope>>,
}

/// `http.header-value` of 1.1.0, bounded.
#[derive(ComponentType, Lift)]
#[component(variant)]
enum RawHeaderValueV1_1 {
    #[component(name = "text")]
    Text(Text<HeaderValue>),
    #[component(name = "bearer")]
    Bearer(Text<HeaderCredential>),
    #[component(name = "basic")]
    Basic((Text<HeaderCredential>, Text<HeaderCredential>)),
    #[component(name = "secret")]
    Secret(Text<HeaderCredential>),
    #[component(name = "oauth-client-credentials")]
    OAuthClientCredentials(RawOAuthClient),
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawHeader<V> {
    name: Text<HeaderName>,
    value: V,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawRequest<V> {
    method: v1::integrations::provider::http::Method,
    url: Text<RequestUrl>,
    headers: Items<RawHeader<V>, RequestHeaders>,
    body: Option<WasmList<u8>>,
}

impl From<RawHeaderValue> for HeaderSource {
    fn from(value: RawHeaderValue) -> Self {
        match value {
            RawHeaderValue::Text(text) => Self::Text(text.text),
            RawHeaderValue::Bearer(credential) => Self::Bearer(credential.text),
            RawHeaderValue::Basic((user, password)) => Self::Basic(user.text, password.text),
            RawHeaderValue::Secret(credential) => Self::Secret(credential.text),
        }
    }
}

impl From<RawHeaderValueV1_1> for HeaderSource {
    fn from(value: RawHeaderValueV1_1) -> Self {
        match value {
            RawHeaderValueV1_1::Text(text) => Self::Text(text.text),
            RawHeaderValueV1_1::Bearer(credential) => Self::Bearer(credential.text),
            RawHeaderValueV1_1::Basic((user, password)) => Self::Basic(user.text, password.text),
            RawHeaderValueV1_1::Secret(credential) => Self::Secret(credential.text),
            RawHeaderValueV1_1::OAuthClientCredentials(client) => Self::OAuthClientCredentials(OAuthClient {
                token_url: client.token_url.text,
                client_id: client.client_id.text,
                client_secret: client.client_secret.text,
                scope: client.scope.map(|scope| scope.text),
            }),
        }
    }
}

fn method(method: v1::integrations::provider::http::Method) -> Method {
    use v1::integrations::provider::http::Method as M;
    match method {
        M::Get => Method::Get,
        M::Post => Method::Post,
        M::Put => Method::Put,
        M::Patch => Method::Patch,
        M::Delete => Method::Delete,
    }
}

fn response(response: OutboundResponse) -> Response {
    Response { status: response.status, headers: response.headers, body: response.body }
}

fn error_v1_0(error: OutboundError) -> v1::integrations::provider::http::HttpError {
    use v1::integrations::provider::http::HttpError as E;
    match error {
        OutboundError::Denied(why) | OutboundError::NonPublicAddress(why) => E::Denied(why),
        OutboundError::InvalidRequest(why) => E::InvalidRequest(why),
        OutboundError::UnknownCredential(why) => E::UnknownCredential(why),
        OutboundError::TooManyRequests => E::TooManyRequests,
        OutboundError::ResponseTooLarge => E::ResponseTooLarge,
        OutboundError::Timeout => E::Timeout,
        OutboundError::ConnectionFailed(why) => E::ConnectionFailed(why),
        // A 1.0.0 request cannot ask for a token, so this is never answered to one.
        OutboundError::AuthorizationFailed(why) => E::ConnectionFailed(why),
    }
}

fn error_v1_1(error: OutboundError) -> v1_1::http::HttpError {
    use v1_1::http::HttpError as E;
    match error {
        OutboundError::Denied(why) | OutboundError::NonPublicAddress(why) => E::Denied(why),
        OutboundError::InvalidRequest(why) => E::InvalidRequest(why),
        OutboundError::UnknownCredential(why) => E::UnknownCredential(why),
        OutboundError::TooManyRequests => E::TooManyRequests,
        OutboundError::ResponseTooLarge => E::ResponseTooLarge,
        OutboundError::Timeout => E::Timeout,
        OutboundError::ConnectionFailed(why) => E::ConnectionFailed(why),
        OutboundError::AuthorizationFailed(why) => E::AuthorizationFailed(why),
    }
}

/// Defines `http.send` of `version`, shadowing what the generated bindings linked.
fn link_send<V, E>(
    linker: &mut Linker<ProviderState>,
    version: ContractVersion,
    error: fn(OutboundError) -> E,
) -> wasmtime::Result<()>
where
    V: ComponentType + Lift + Into<HeaderSource> + Send + Sync + 'static,
    E: ComponentType + Lower + Send + Sync + 'static,
{
    linker.instance(&version.qualified("http"))?.func_wrap_async("send", move |mut store, (raw,): (RawRequest<V>,)| {
        let body = match &raw.body {
            Some(body) => bytes(&store, "http request body", body, ceilings::HTTP_REQUEST_BODY).map(Some),
            None => Ok(None),
        };
        Box::new(async move {
            let headers = raw
                .headers
                .items
                .into_iter()
                .map(|header| OutboundHeader { name: header.name.text, value: header.value.into() })
                .collect();
            let request = OutboundRequest { method: method(raw.method), url: raw.url.text, headers, body: body? };
            let outcome = store.data_mut().call.send_outbound(request).await;
            Ok((outcome.map(response).map_err(error),))
        })
    })
}

/// Defines `http.send` of every contract version.
pub(super) fn link_http(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    for version in ContractVersion::ALL {
        match version {
            ContractVersion::V1_0 => link_send::<RawHeaderValue, _>(linker, version, error_v1_0)?,
            ContractVersion::V1_1 => link_send::<RawHeaderValueV1_1, _>(linker, version, error_v1_1)?,
        }
    }
    Ok(())
}

/// The generated 1.0.0 bindings require an implementation of their `http` host trait; the
/// linker's definition is replaced by [`link_http`], and this one converts the same way.
impl v1::integrations::provider::http::Host for CallContext {
    async fn send(
        &mut self,
        request: v1::integrations::provider::http::Request,
    ) -> wasmtime::Result<Result<Response, v1::integrations::provider::http::HttpError>> {
        use v1::integrations::provider::http::HeaderValue as V;
        let headers = request
            .headers
            .into_iter()
            .map(|header| OutboundHeader {
                name: header.name,
                value: match header.value {
                    V::Text(text) => HeaderSource::Text(text),
                    V::Bearer(name) => HeaderSource::Bearer(name),
                    V::Basic((user, password)) => HeaderSource::Basic(user, password),
                    V::Secret(name) => HeaderSource::Secret(name),
                },
            })
            .collect();
        let request = OutboundRequest { method: method(request.method), url: request.url, headers, body: request.body };
        Ok(self.send_outbound(request).await.map(response).map_err(error_v1_0))
    }
}
