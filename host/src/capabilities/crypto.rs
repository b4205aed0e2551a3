//! The `crypto` import: HMACs keyed by a credential the sandbox cannot read, and a
//! constant-time comparison.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::runtime::bindings::v1::integrations::provider::crypto::{self, CryptoError, Encoding, HmacAlgorithm};

use super::credentials::CredentialLookup;
use super::CallContext;

/// HMAC of `message` under `key`, encoded.
pub fn hmac_encoded(algorithm: HmacAlgorithm, key: &[u8], message: &[u8], encoding: Encoding) -> String {
    let digest = match algorithm {
        HmacAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, message),
        HmacAlgorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, message),
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

impl crypto::Host for CallContext {
    fn hmac(
        &mut self,
        algorithm: HmacAlgorithm,
        key_credential: String,
        message: Vec<u8>,
        encoding: Encoding,
    ) -> wasmtime::Result<Result<String, CryptoError>> {
        Ok(match self.credentials.value_for_host(&key_credential) {
            Ok(key) => Ok(hmac_encoded(algorithm, key.as_bytes(), &message, encoding)),
            Err(CredentialLookup::Unknown) => Err(CryptoError::UnknownCredential(key_credential)),
            Err(CredentialLookup::NotSet) => Err(CryptoError::NotSet(key_credential)),
        })
    }

    fn constant_time_equals(&mut self, a: Vec<u8>, b: Vec<u8>) -> wasmtime::Result<bool> {
        Ok(a.ct_eq(&b).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_test_vectors() {
        // RFC 4231 test case 2 and RFC 2202 test case 2.
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha256, b"Jefe", b"what do ya want for nothing?", Encoding::Hex),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha1, b"Jefe", b"what do ya want for nothing?", Encoding::Hex),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hmac_encoded(HmacAlgorithm::Sha1, b"Jefe", b"what do ya want for nothing?", Encoding::Base64),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }
}
