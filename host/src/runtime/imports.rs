//! The host imports that take strings or bytes from the guest, linked so that their
//! arguments are read in the guest's memory and copied out only within their ceilings. The
//! generated bindings would copy every argument whole before the host could look at its size
//! (a 100 MiB log message, a 16 MiB mapper id); these definitions shadow them and then call
//! the same capability implementations (`crate::capabilities`) with the checked values.

use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, WasmList, WasmStr};
use wasmtime::StoreContextMut;

use super::bindings::v1::integrations::provider::{cache, credentials, crypto, endpoints, http, log, mapper};
use super::ceilings::{self, OverCeiling};
use super::state::ProviderState;
use crate::domain::manifest::{WIT_PACKAGE, WIT_VERSION};

/// A credential or endpoint name.
const NAME: usize = 64;
/// Bytes `crypto` hashes or compares (a webhook body is at most 1 MiB).
const CRYPTO_INPUT: usize = 2 << 20;
/// What the host copies out of an outbound request's URL and headers. These only bound the
/// copy: the `http` capability then applies its own, smaller limits and answers a request
/// over them with `invalid-request` (so a provider learns what it did wrong).
const URL: usize = 128 * 1024;
const HEADERS: usize = 256;
const HEADER_BYTES: usize = 1 << 20;

/// Reads one argument out of the guest's memory within its ceiling.
struct Args<'a, 's> {
    store: &'a mut StoreContextMut<'s, ProviderState>,
}

impl Args<'_, '_> {
    fn string(&mut self, what: &str, value: &WasmStr, limit: usize) -> wasmtime::Result<String> {
        let text = value.to_str(&*self.store)?;
        if text.len() > limit {
            let over = OverCeiling::bytes(what, text.len(), limit);
            return Err(self.store.data_mut().call.over_ceiling(over));
        }
        Ok(text.into_owned())
    }

    /// The first `limit` bytes (at a character boundary) of a string, never copying more.
    fn prefix(&mut self, value: &WasmStr, limit: usize) -> wasmtime::Result<String> {
        let text = value.to_str(&*self.store)?;
        let cut = (0..=limit.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        Ok(text[..cut].to_string())
    }

    fn bytes(&mut self, what: &str, value: &WasmList<u8>, limit: usize) -> wasmtime::Result<Vec<u8>> {
        if value.len() > limit {
            let over = OverCeiling::bytes(what, value.len(), limit);
            return Err(self.store.data_mut().call.over_ceiling(over));
        }
        Ok(value.as_le_slice(&*self.store).to_vec())
    }

    fn items<T: Lift + 'static>(&mut self, what: &str, list: &WasmList<T>, limit: usize) -> wasmtime::Result<Vec<T>> {
        if list.len() > limit {
            let over = OverCeiling::items(what, list.len(), limit);
            return Err(self.store.data_mut().call.over_ceiling(over));
        }
        list.iter(&mut *self.store)?.collect()
    }
}

fn args<'a, 's>(store: &'a mut StoreContextMut<'s, ProviderState>) -> Args<'a, 's> {
    Args { store }
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
    interface(linker, "log")?.func_wrap("log", |mut store, (level, message): (log::Level, WasmStr)| {
        // Longer messages are cut, as the capability would; only the kept part is copied.
        let message = args(&mut store).prefix(&message, ceilings::LOG_MESSAGE)?;
        log::Host::log(&mut store.data_mut().call, level, message)
    })
}

fn link_credentials(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "credentials")?;
    instance.func_wrap("get", |mut store, (name,): (WasmStr,)| {
        let name = args(&mut store).string("credential name", &name, NAME)?;
        Ok((credentials::Host::get(&mut store.data_mut().call, name)?,))
    })?;
    instance.func_wrap("is-set", |mut store, (name,): (WasmStr,)| {
        let name = args(&mut store).string("credential name", &name, NAME)?;
        Ok((credentials::Host::is_set(&mut store.data_mut().call, name)?,))
    })
}

fn link_endpoints(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    interface(linker, "endpoints")?.func_wrap("base-url", |mut store, (name,): (WasmStr,)| {
        let name = args(&mut store).string("endpoint name", &name, NAME)?;
        Ok((endpoints::Host::base_url(&mut store.data_mut().call, name)?,))
    })
}

fn link_cache(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "cache")?;
    instance.func_wrap("get", |mut store, (key,): (WasmStr,)| {
        let key = args(&mut store).string("cache key", &key, ceilings::CACHE_KEY)?;
        Ok((cache::Host::get(&mut store.data_mut().call, key)?,))
    })?;
    instance.func_wrap("set", |mut store, (key, value, ttl): (WasmStr, WasmStr, u32)| {
        let key = args(&mut store).string("cache key", &key, ceilings::CACHE_KEY)?;
        let value = args(&mut store).string("cache value", &value, ceilings::CACHE_VALUE)?;
        cache::Host::set(&mut store.data_mut().call, key, value, ttl)
    })?;
    instance.func_wrap("delete", |mut store, (key,): (WasmStr,)| {
        let key = args(&mut store).string("cache key", &key, ceilings::CACHE_KEY)?;
        cache::Host::delete(&mut store.data_mut().call, key)
    })
}

type HmacArgs = (crypto::HmacAlgorithm, WasmStr, WasmList<u8>, crypto::Encoding);

fn link_crypto(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "crypto")?;
    instance.func_wrap("hmac", |mut store, (algorithm, key, message, encoding): HmacArgs| {
        let key = args(&mut store).string("hmac key credential", &key, NAME)?;
        let message = args(&mut store).bytes("hmac message", &message, CRYPTO_INPUT)?;
        Ok((crypto::Host::hmac(&mut store.data_mut().call, algorithm, key, message, encoding)?,))
    })?;
    instance.func_wrap("constant-time-equals", |mut store, (a, b): (WasmList<u8>, WasmList<u8>)| {
        let a = args(&mut store).bytes("constant-time-equals input", &a, CRYPTO_INPUT)?;
        let b = args(&mut store).bytes("constant-time-equals input", &b, CRYPTO_INPUT)?;
        Ok((crypto::Host::constant_time_equals(&mut store.data_mut().call, a, b)?,))
    })
}

fn link_mapper(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = interface(linker, "mapper")?;
    instance.func_wrap_async("get-remote", |mut store, (model, local): (WasmStr, WasmStr)| {
        let read = mapping_key(&mut store, &model, "mapper local id", &local);
        Box::new(async move {
            let (model, local) = read?;
            Ok((mapper::Host::get_remote(&mut store.data_mut().call, model, local).await?,))
        })
    })?;
    instance.func_wrap_async("get-local", |mut store, (model, remote): (WasmStr, WasmStr)| {
        let read = mapping_key(&mut store, &model, "mapper remote id", &remote);
        Box::new(async move {
            let (model, remote) = read?;
            Ok((mapper::Host::get_local(&mut store.data_mut().call, model, remote).await?,))
        })
    })?;
    instance.func_wrap_async("put", |mut store, (model, local, remote): (WasmStr, WasmStr, WasmStr)| {
        let read = mapping_key(&mut store, &model, "mapper local id", &local)
            .and_then(|key| Ok((key, args(&mut store).string("mapper remote id", &remote, ceilings::MAPPER_ID)?)));
        Box::new(async move {
            let ((model, local), remote) = read?;
            mapper::Host::put(&mut store.data_mut().call, model, local, remote).await
        })
    })
}

fn mapping_key(
    store: &mut StoreContextMut<'_, ProviderState>,
    model: &WasmStr,
    id_name: &str,
    id: &WasmStr,
) -> wasmtime::Result<(String, String)> {
    let model = args(store).string("mapper model", model, ceilings::MAPPER_MODEL)?;
    let id = args(store).string(id_name, id, ceilings::MAPPER_ID)?;
    Ok((model, id))
}

/// `http.header-value`, read in place.
#[derive(ComponentType, Lift)]
#[component(variant)]
enum RawHeaderValue {
    #[component(name = "text")]
    Text(WasmStr),
    #[component(name = "bearer")]
    Bearer(WasmStr),
    #[component(name = "basic")]
    Basic((WasmStr, WasmStr)),
    #[component(name = "secret")]
    Secret(WasmStr),
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawHeader {
    name: WasmStr,
    value: RawHeaderValue,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawRequest {
    method: http::Method,
    url: WasmStr,
    headers: WasmList<RawHeader>,
    body: Option<WasmList<u8>>,
}

fn link_http(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    interface(linker, "http")?.func_wrap_async("send", |mut store, (raw,): (RawRequest,)| {
        let request = read_request(&mut store, &raw);
        Box::new(async move {
            let request = request?;
            Ok((http::Host::send(&mut store.data_mut().call, request).await?,))
        })
    })
}

/// A header's bytes as the guest declared them, read in place (no copy).
fn header_size(store: &StoreContextMut<'_, ProviderState>, header: &RawHeader) -> usize {
    let size = |text: &WasmStr| text.to_str(store).map(|text| text.len()).unwrap_or(0);
    size(&header.name)
        + match &header.value {
            RawHeaderValue::Text(text) | RawHeaderValue::Bearer(text) | RawHeaderValue::Secret(text) => size(text),
            RawHeaderValue::Basic((user, password)) => size(user) + size(password),
        }
}

fn read_request(store: &mut StoreContextMut<'_, ProviderState>, raw: &RawRequest) -> wasmtime::Result<http::Request> {
    let mut read = args(store);
    let url = read.string("http request url", &raw.url, URL)?;
    let raw_headers = read.items("http request headers", &raw.headers, HEADERS)?;
    let header_bytes: usize = raw_headers.iter().map(|header| header_size(read.store, header)).sum();
    if header_bytes > HEADER_BYTES {
        let over = OverCeiling::bytes("http request headers", header_bytes, HEADER_BYTES);
        return Err(read.store.data_mut().call.over_ceiling(over));
    }
    let mut headers = Vec::with_capacity(raw_headers.len());
    for header in &raw_headers {
        let name = read.string("http header name", &header.name, HEADER_BYTES)?;
        let value = match &header.value {
            RawHeaderValue::Text(text) => {
                http::HeaderValue::Text(read.string("http header value", text, HEADER_BYTES)?)
            }
            RawHeaderValue::Bearer(credential) => {
                http::HeaderValue::Bearer(read.string("http header credential", credential, NAME)?)
            }
            RawHeaderValue::Basic((user, password)) => http::HeaderValue::Basic((
                read.string("http header credential", user, NAME)?,
                read.string("http header credential", password, NAME)?,
            )),
            RawHeaderValue::Secret(credential) => {
                http::HeaderValue::Secret(read.string("http header credential", credential, NAME)?)
            }
        };
        headers.push(http::Header { name, value });
    }
    let body = match &raw.body {
        Some(body) => Some(read.bytes("http request body", body, ceilings::HTTP_REQUEST_BODY)?),
        None => None,
    };
    Ok(http::Request { method: raw.method, url, headers, body })
}
