//! The host imports that take strings or bytes from the guest, linked so that their
//! arguments are read in the guest's memory and copied out only within their ceilings. The
//! generated bindings would copy every argument whole before the host could look at its size
//! (a 100 MiB log message, a 16 MiB mapper id); these definitions shadow them and then call
//! the same capability implementations (`crate::capabilities`) with the checked values.
//! Most interfaces are the same in every contract version, so their 1.0.0 definitions also
//! serve 1.1.0 components (wasmtime finds `…@1.0.0` for an import of `…@1.1.0` when no exact
//! definition exists); `crypto` and `http` differ and have one definition per version
//! (`crypto@1.1.0` here, `super::http_imports`).

use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, Lower, WasmList};
use wasmtime::StoreContextMut;

use super::bindings::v1::integrations::provider::{cache, credentials, crypto, endpoints, log, mapper};
use super::ceilings::{self, OverCeiling};
use super::results::bounded::{ceilings, Text};
use super::state::ProviderState;
use crate::capabilities::crypto::{self as hashing, CryptoFailure, Encoding, HmacAlgorithm, KeyFormat};
use crate::domain::contract::ContractVersion;

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
}

/// Copies a byte list out of the guest's memory within its ceiling (checked before the copy).
pub(super) fn bytes(
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
    linker.instance(&ContractVersion::V1_0.qualified(name))
}

/// Replaces the generated definitions of every import that takes strings or bytes.
pub(crate) fn link_bounded_imports(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    link_log(linker)?;
    link_credentials(linker)?;
    link_endpoints(linker)?;
    link_cache(linker)?;
    link_crypto(linker)?;
    link_crypto_v1_1(linker)?;
    link_mapper(linker)?;
    super::http_imports::link_http(linker)?;
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

/// `crypto.hmac-algorithm` of 1.1.
#[derive(ComponentType, Lift, Clone, Copy)]
#[component(enum)]
#[repr(u8)]
// Built only by wasmtime's `Lift`, from what the guest passes.
#[allow(dead_code)]
enum RawAlgorithm {
    #[component(name = "sha256")]
    Sha256,
    #[component(name = "sha1")]
    Sha1,
    #[component(name = "sha512")]
    Sha512,
}

/// `crypto.encoding` of 1.1.
#[derive(ComponentType, Lift, Clone, Copy)]
#[component(enum)]
#[repr(u8)]
// Built only by wasmtime's `Lift`, from what the guest passes.
#[allow(dead_code)]
enum RawEncoding {
    #[component(name = "hex")]
    Hex,
    #[component(name = "base64")]
    Base64,
}

/// `crypto.key-format` of 1.1.
#[derive(ComponentType, Lift, Clone, Copy)]
#[component(enum)]
#[repr(u8)]
// Built only by wasmtime's `Lift`, from what the guest passes.
#[allow(dead_code)]
enum RawKeyFormat {
    #[component(name = "text")]
    Text,
    #[component(name = "hex")]
    Hex,
    #[component(name = "base64")]
    Base64,
}

/// `crypto.crypto-error` of 1.1.
#[derive(ComponentType, Lower)]
#[component(variant)]
enum RawCryptoError {
    #[component(name = "unknown-credential")]
    UnknownCredential(String),
    #[component(name = "not-set")]
    NotSet(String),
    #[component(name = "malformed-key")]
    MalformedKey(String),
}

fn hmac_v1_1(
    call: &crate::capabilities::CallContext,
    (algorithm, key, format, message, encoding): (RawAlgorithm, &str, RawKeyFormat, &[u8], RawEncoding),
) -> Result<String, RawCryptoError> {
    let algorithm = match algorithm {
        RawAlgorithm::Sha256 => HmacAlgorithm::Sha256,
        RawAlgorithm::Sha1 => HmacAlgorithm::Sha1,
        RawAlgorithm::Sha512 => HmacAlgorithm::Sha512,
    };
    let format = match format {
        RawKeyFormat::Text => KeyFormat::Text,
        RawKeyFormat::Hex => KeyFormat::Hex,
        RawKeyFormat::Base64 => KeyFormat::Base64,
    };
    let encoding = match encoding {
        RawEncoding::Hex => Encoding::Hex,
        RawEncoding::Base64 => Encoding::Base64,
    };
    call.keyed_hmac(algorithm, key, format, message, encoding).map_err(|failure| match failure {
        CryptoFailure::UnknownCredential(name) => RawCryptoError::UnknownCredential(name),
        CryptoFailure::NotSet(name) => RawCryptoError::NotSet(name),
        CryptoFailure::MalformedKey(why) => RawCryptoError::MalformedKey(why),
    })
}

type HmacArgsV1_1 = (RawAlgorithm, Text<HmacKey>, WasmList<u8>, RawEncoding);
type KeyedHmacArgs = (RawAlgorithm, Text<HmacKey>, RawKeyFormat, WasmList<u8>, RawEncoding);

fn link_crypto_v1_1(linker: &mut Linker<ProviderState>) -> wasmtime::Result<()> {
    let mut instance = linker.instance(&ContractVersion::V1_1.qualified("crypto"))?;
    instance.func_wrap("hmac", |store, (algorithm, key, message, encoding): HmacArgsV1_1| {
        let message = bytes(&store, "hmac message", &message, CRYPTO_INPUT)?;
        let args = (algorithm, key.text.as_str(), RawKeyFormat::Text, message.as_slice(), encoding);
        Ok((hmac_v1_1(&store.data().call, args),))
    })?;
    instance.func_wrap("hmac-with-key", |store, (algorithm, key, format, message, encoding): KeyedHmacArgs| {
        let message = bytes(&store, "hmac message", &message, CRYPTO_INPUT)?;
        let args = (algorithm, key.text.as_str(), format, message.as_slice(), encoding);
        Ok((hmac_v1_1(&store.data().call, args),))
    })?;
    instance.func_wrap("constant-time-equals", |store, (a, b): (WasmList<u8>, WasmList<u8>)| {
        let a = bytes(&store, "constant-time-equals input", &a, CRYPTO_INPUT)?;
        let b = bytes(&store, "constant-time-equals input", &b, CRYPTO_INPUT)?;
        Ok((hashing::constant_time_equals(&a, &b),))
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
