//! The host imports that take strings or bytes from the guest, linked so that their
//! arguments are read in the guest's memory and copied out only within their ceilings. The
//! generated bindings would copy every argument whole before the host could look at its size
//! (a 100 MiB log message, a 16 MiB mapper id); these definitions shadow them and then call
//! the same capability implementations (`crate::capabilities`) with the checked values.

use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, WasmList};
use wasmtime::StoreContextMut;

use super::bindings::v1::integrations::provider::{cache, credentials, crypto, endpoints, http, log, mapper};
use super::ceilings::{self, OverCeiling};
use super::results::bounded::{ceilings, Items, Text};
use super::state::ProviderState;
use crate::domain::manifest::{WIT_PACKAGE, WIT_VERSION};

/// A credential or endpoint name.
const NAME: usize = 64;
/// Bytes `crypto` hashes or compares (a webhook body is at most 1 MiB).
const CRYPTO_INPUT: usize = 2 << 20;

ceilings! {
    // Longer log messages are refused; up to this one is copied and then cut to `LOG_MESSAGE`.
    LogMessage = "log message", ceilings::LOG_BYTES_PER_CALL;
    CredentialName = "credential name", NAME;
    EndpointName = "endpoint name", NAME;
    CacheKey = "cache key", ceilings::CACHE_KEY;
    CacheValue = "cache value", ceilings::CACHE_VALUE;
    HmacKey = "hmac key credential", NAME;
    MapperModel = "mapper model", ceilings::MAPPER_MODEL;
    MapperLocalId = "mapper local id", ceilings::MAPPER_ID;
    MapperRemoteId = "mapper remote id", ceilings::MAPPER_ID;
    // What the host copies out of an outbound request; the `http` capability then applies
    // its own, smaller limits and answers `invalid-request` (so a provider learns what it did
    // wrong). At most 256 headers of 1 KiB + 16 KiB: about 4.3 MiB.
    RequestUrl = "http request url", 128 * 1024;
    RequestHeaders = "http request headers", 256;
    HeaderName = "http header name", 1024;
    HeaderValue = "http header value", 16 * 1024;
    HeaderCredential = "http header credential", NAME;
}

/// Copies a byte list out of the guest's memory within its ceiling (checked before the copy).
fn bytes(
    store: &StoreContextMut<'_, ProviderState>,
    what: &str,
    value: &WasmList<u8>,
    limit: usize,
) -> wasmtime::Result<Vec<u8>> {
    if value.len() > limit {
        return Err(wasmtime::Error::new(OverCeiling::bytes(what, value.len(), limit)));
    }
    Ok(value.as_le_slice(store).to_vec())
}

fn interface<'l>(
    linker: &'l mut Linker<ProviderState>,
    name: &str,
) -> wasmtime::Result<LinkerInstance<'l, ProviderState>> {
    linker.instance(&format!("{WIT_PACKAGE}/{name}@{WIT_VERSION}"))
}

/// Replaces the generated definitions of every import that takes strings or bytes.
pub(crate) fn link_bounded_imports(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    link_log(linker)?;
    link_credentials(linker)?;
    link_endpoints(linker)?;
    link_cache(linker)?;
    link_crypto(linker)?;
    link_mapper(linker)?;
    link_http(linker)?;
    linker.allow_shadowing(false);
    Ok(())
}

fn link_log(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    interface(linker, "log")?.func_wrap("log", |mut store, (level, message): (log::Level, Text<LogMessage>)| {
        log::Host::log(&mut store.data_mut().call, level, message.text)
    })
}

fn link_credentials(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "credentials")?;
    instance.func_wrap("get", |mut store, (name,): (Text<CredentialName>,)| {
        Ok((credentials::Host::get(&mut store.data_mut().call, name.text)?,))
    })?;
    instance.func_wrap("is-set", |mut store, (name,): (Text<CredentialName>,)| {
        Ok((credentials::Host::is_set(&mut store.data_mut().call, name.text)?,))
    })
}

fn link_endpoints(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    interface(linker, "endpoints")?.func_wrap("base-url", |mut store, (name,): (Text<EndpointName>,)| {
        Ok((endpoints::Host::base_url(&mut store.data_mut().call, name.text)?,))
    })
}

fn link_cache(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "cache")?;
    instance.func_wrap("get", |mut store, (key,): (Text<CacheKey>,)| {
        Ok((cache::Host::get(&mut store.data_mut().call, key.text)?,))
    })?;
    instance.func_wrap("set", |mut store, (key, value, ttl): (Text<CacheKey>, Text<CacheValue>, u32)| {
        cache::Host::set(&mut store.data_mut().call, key.text, value.text, ttl)
    })?;
    instance.func_wrap("delete", |mut store, (key,): (Text<CacheKey>,)| {
        cache::Host::delete(&mut store.data_mut().call, key.text)
    })
}

type HmacArgs = (crypto::HmacAlgorithm, Text<HmacKey>, WasmList<u8>, crypto::Encoding);

fn link_crypto(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "crypto")?;
    instance.func_wrap("hmac", |mut store, (algorithm, key, message, encoding): HmacArgs| {
        let message = bytes(&store, "hmac message", &message, CRYPTO_INPUT)?;
        Ok((crypto::Host::hmac(&mut store.data_mut().call, algorithm, key.text, message, encoding)?,))
    })?;
    instance.func_wrap("constant-time-equals", |mut store, (a, b): (WasmList<u8>, WasmList<u8>)| {
        let a = bytes(&store, "constant-time-equals input", &a, CRYPTO_INPUT)?;
        let b = bytes(&store, "constant-time-equals input", &b, CRYPTO_INPUT)?;
        Ok((crypto::Host::constant_time_equals(&mut store.data_mut().call, a, b)?,))
    })
}

fn link_mapper(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "mapper")?;
    instance.func_wrap_async("get-remote", |mut store, (model, local): (Text<MapperModel>, Text<MapperLocalId>)| {
        Box::new(
            async move { Ok((mapper::Host::get_remote(&mut store.data_mut().call, model.text, local.text).await?,)) },
        )
    })?;
    instance.func_wrap_async(
        "get-local",
        |mut store, (model, remote): (Text<MapperModel>, Text<MapperRemoteId>)| {
            Box::new(async move {
                Ok((mapper::Host::get_local(&mut store.data_mut().call, model.text, remote.text).await?,))
            })
        },
    )?;
    instance.func_wrap_async(
        "put",
        |mut store, (model, local, remote): (Text<MapperModel>, Text<MapperLocalId>, Text<MapperRemoteId>)| {
            Box::new(
                async move { mapper::Host::put(&mut store.data_mut().call, model.text, local.text, remote.text).await },
            )
        },
    )
}

/// `http.header-value`, bounded.
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

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawHeader {
    name: Text<HeaderName>,
    value: RawHeaderValue,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawRequest {
    method: http::Method,
    url: Text<RequestUrl>,
    headers: Items<RawHeader, RequestHeaders>,
    body: Option<WasmList<u8>>,
}

fn link_http(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    interface(linker, "http")?.func_wrap_async("send", |mut store, (raw,): (RawRequest,)| {
        let body = match &raw.body {
            Some(body) => bytes(&store, "http request body", body, ceilings::HTTP_REQUEST_BODY).map(Some),
            None => Ok(None),
        };
        Box::new(async move {
            let request =
                http::Request { method: raw.method, url: raw.url.text, headers: headers(raw.headers), body: body? };
            Ok((http::Host::send(&mut store.data_mut().call, request).await?,))
        })
    })
}

fn headers(raw: Items<RawHeader, RequestHeaders>) -> Vec<http::Header> {
    let value = |value| match value {
        RawHeaderValue::Text(text) => http::HeaderValue::Text(text.text),
        RawHeaderValue::Bearer(credential) => http::HeaderValue::Bearer(credential.text),
        RawHeaderValue::Basic((user, password)) => http::HeaderValue::Basic((user.text, password.text)),
        RawHeaderValue::Secret(credential) => http::HeaderValue::Secret(credential.text),
    };
    raw.items.into_iter().map(|header| http::Header { name: header.name.text, value: value(header.value) }).collect()
}
