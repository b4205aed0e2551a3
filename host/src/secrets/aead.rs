//! Sealing bytes with XChaCha20-Poly1305: a random 192-bit nonce per value (never reused in
//! practice, so no counter to keep), the row's identity as associated data, and a format byte
//! in front so a later scheme can sit beside this one.
//!
//! Sealed form: `1 || nonce (24 bytes) || ciphertext || tag (16 bytes)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A 256-bit key; the cipher built from it zeroizes its copy on drop, and so does this.
pub(crate) struct SymmetricKey {
    cipher: XChaCha20Poly1305,
}

/// The sealed bytes did not open: wrong key, wrong row (associated data) or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DoesNotOpen;

impl SymmetricKey {
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(bytes.into()) }
    }

    /// A fresh random key.
    pub(crate) fn random_bytes() -> Zeroizing<[u8; 32]> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut bytes[..]);
        bytes
    }

    pub(crate) fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: associated })
            .expect("XChaCha20-Poly1305 seals any length this host stores");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub(crate) fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, DoesNotOpen> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
            return Err(DoesNotOpen);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: associated })
            .map(Zeroizing::new)
            .map_err(|_| DoesNotOpen)
    }

    /// Opens a sealed UTF-8 value.
    pub(crate) fn open_text(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<String>, DoesNotOpen> {
        let mut bytes = self.open(associated, sealed)?;
        let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| {
            // The bytes authenticated, so this is not reachable without the key; wipe anyway.
            let mut bytes = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut bytes);
            DoesNotOpen
        })?;
        Ok(Zeroizing::new(text))
    }
}

/// Associated data naming one row: a label, then fixed-width integers, then at most one
/// variable-length field last, so two different rows can never produce the same bytes.
pub(crate) fn row_identity(label: &str, numbers: &[Option<i64>], last: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + 1 + numbers.len() * 9 + last.len());
    out.extend_from_slice(label.as_bytes());
    out.push(0);
    for number in numbers {
        match number {
            Some(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_be_bytes());
            }
            None => out.extend_from_slice(&[0; 9]),
        }
    }
    out.extend_from_slice(last.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_row() {
        let key = SymmetricKey::new(&SymmetricKey::random_bytes());
        let other = SymmetricKey::new(&SymmetricKey::random_bytes());
        let row = row_identity("credential", &[Some(1), Some(2)], "api_key");
        let sealed = key.seal(&row, b"sk_live_value");
        assert!(!sealed.windows(13).any(|w| w == b"sk_live_value"));
        assert_eq!(key.open_text(&row, &sealed).unwrap().as_str(), "sk_live_value");
        assert_eq!(other.open(&row, &sealed), Err(DoesNotOpen));
        let moved = row_identity("credential", &[Some(1), Some(2)], "secret_key");
        assert_eq!(key.open(&moved, &sealed), Err(DoesNotOpen));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&row, &damaged), Err(DoesNotOpen));
        assert_eq!(key.open(&row, &sealed[..10]), Err(DoesNotOpen));
        // Random nonces: the same value seals differently each time.
        assert_ne!(key.seal(&row, b"x"), key.seal(&row, b"x"));
    }

    #[test]
    fn row_identities_never_collide_across_fields() {
        assert_ne!(row_identity("a", &[Some(1), None], "x"), row_identity("a", &[None, Some(1)], "x"));
        assert_ne!(row_identity("a", &[Some(12)], "3"), row_identity("a", &[Some(1)], "23"));
        assert_ne!(row_identity("ab", &[], ""), row_identity("a", &[], "b"));
    }
}
