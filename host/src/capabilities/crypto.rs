//! The `crypto` import: HMACs keyed by a credential the sandbox cannot read, and a
//! constant-time comparison. The capability speaks its own types; each contract version's
//! import converts to them (`runtime::imports`; 1.1 adds SHA-512 and keys given as hex or
//! base64).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::runtime::bindings::v1::integrations::provider::crypto::{self as v1, CryptoError};

use super::credentials::CredentialLookup;
use super::CallContext;

/// The hash an HMAC uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    Sha1,
    Sha512,
}

/// How a digest is written out (hex in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// How a key credential's value becomes the key's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// The value's UTF-8 bytes.
    Text,
    Hex,
    Base64,
}

/// Why no HMAC was computed; each names the credential, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoFailure {
    UnknownCredential(String),
    NotSet(String),
    MalformedKey(String),
}

/// HMAC of `message` under `key`, encoded.
pub fn hmac_encoded(algorithm: HmacAlgorithm, key: &[u8], message: &[u8], encoding: Encoding) -> String {
    let digest = match algorithm {
        HmacAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, message),
        HmacAlgorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, message),
        HmacAlgorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, message),
    };
    match encoding {
        Encoding::Hex => hex::encode(digest),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The key's bytes from a credential's value. The error says what is wrong without the value.
fn key_bytes(value: &str, format: KeyFormat) -> Result<Vec<u8>, &'static str> {
    let value = value.trim();
    match format {
        KeyFormat::Text => Ok(value.as_bytes().to_vec()),
        KeyFormat::Hex => hex::decode(value).map_err(|_| "is not hex (an even number of 0-9, a-f)"),
        KeyFormat::Base64 => base64::engine::general_purpose::STANDARD
            .decode(value)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(value))
            .map_err(|_| "is not base64"),
    }
}

impl CallContext {
    /// HMAC of `message` keyed with credential `key_credential`, its value read per `format`.
    pub fn keyed_hmac(
        &self,
        algorithm: HmacAlgorithm,
        key_credential: &str,
        format: KeyFormat,
        message: &[u8],
        encoding: Encoding,
    ) -> Result<String, CryptoFailure> {
        let value = match self.credentials.value_for_host(key_credential) {
            Ok(value) => value,
            Err(CredentialLookup::Unknown) => return Err(CryptoFailure::UnknownCredential(key_credential.into())),
            Err(CredentialLookup::NotSet) => return Err(CryptoFailure::NotSet(key_credential.into())),
        };
        // Text keys are used byte for byte, as 1.0.0 did (no trimming).
        let key = match format {
            KeyFormat::Text => value.as_bytes().to_vec(),
            _ => key_bytes(value, format).map_err(|why| {
                CryptoFailure::MalformedKey(format!("The value of credential {key_credential} {why}."))
            })?,
        };
        Ok(hmac_encoded(algorithm, &key, message, encoding))
    }
}

impl v1::Host for CallContext {
    fn hmac(
        &mut self,
        algorithm: v1::HmacAlgorithm,
        key_credential: String,
        message: Vec<u8>,
        encoding: v1::Encoding,
    ) -> wasmtime::Result<Result<String, CryptoError>> {
        let algorithm = match algorithm {
            v1::HmacAlgorithm::Sha256 => HmacAlgorithm::Sha256,
            v1::HmacAlgorithm::Sha1 => HmacAlgorithm::Sha1,
        };
        let encoding = match encoding {
            v1::Encoding::Hex => Encoding::Hex,
            v1::Encoding::Base64 => Encoding::Base64,
        };
        Ok(self.keyed_hmac(algorithm, &key_credential, KeyFormat::Text, &message, encoding).map_err(|failure| {
            match failure {
                CryptoFailure::UnknownCredential(name) => CryptoError::UnknownCredential(name),
                // 1.0.0 has no malformed key: only text keys, which are never malformed.
                CryptoFailure::NotSet(name) | CryptoFailure::MalformedKey(name) => CryptoError::NotSet(name),
            }
        }))
    }

    fn constant_time_equals(&mut self, a: Vec<u8>, b: Vec<u8>) -> wasmtime::Result<bool> {
        Ok(constant_time_equals(&a, &b))
    }
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_equals(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_test_vectors() {
        // RFC 4231 test case 2 and RFC 2202 test case 2.
        let message = b"what do ya want for nothing?";
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha256, b"Jefe", message, Encoding::Hex),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha1, b"Jefe", message, Encoding::Hex),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha1, b"Jefe", message, Encoding::Base64),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha512, b"Jefe", message, Encoding::Hex),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    #[test]
    fn keys_decode_from_hex_and_base64_and_refuse_what_is_not() {
        // RFC 4231 test case 1: key 0x0b × 20.
        let key = key_bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", KeyFormat::Hex).unwrap();
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha256, &key, b"Hi There", Encoding::Hex),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(key_bytes("0B0B", KeyFormat::Hex).unwrap(), vec![11, 11], "either case");
        assert_eq!(key_bytes("CwsL", KeyFormat::Base64).unwrap(), vec![11, 11, 11]);
        assert_eq!(key_bytes("Cws", KeyFormat::Base64).unwrap(), vec![11, 11], "padding optional");
        assert!(key_bytes("0b0", KeyFormat::Hex).is_err(), "odd length");
        assert!(key_bytes("zz", KeyFormat::Hex).is_err());
        assert!(key_bytes("***", KeyFormat::Base64).is_err());
    }
}
