//! Support for the end-to-end tests: a real host on 127.0.0.1 with the real built
//! components, and fake gateways that speak the gateways' wire formats.

pub mod fake_mygateway;
pub mod fake_paypal;
pub mod host;
pub mod logs;
pub mod scenario;

/// Where the build script put the built components.
pub const WASM_DIR: &str = env!("PROVIDER_WASM_DIR");

/// Lower-case hex HMAC-SHA256, computed here independently of the host and providers.
pub fn hmac_sha256_hex(key: &str, message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}
