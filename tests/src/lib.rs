//! Support for the end-to-end tests: a real host on 127.0.0.1 with the real built
//! components, and fake gateways that speak the gateways' wire formats.

pub mod child_host;
pub mod chromium;
pub mod database;
pub mod event_receiver;
pub mod fake_gateway;
pub mod fake_mygateway;
pub mod fake_oauth;
pub mod fake_paypal;
pub mod fake_stripe;
pub mod fake_twilio;
pub mod greedy;
pub mod hold;
pub mod host;
pub mod logs;
pub mod metrics_page;
pub mod openapi_check;
pub mod paypal_scenario;
pub mod scenario;
pub mod stripe_scenario;
pub mod test_servers;
pub mod twilio_scenario;

/// Where the build script put the built components.
pub const WASM_DIR: &str = env!("PROVIDER_WASM_DIR");

/// Lower-case hex HMAC-SHA256, computed here independently of the host and providers.
pub fn hmac_sha256_hex(key: &str, message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Twilio's request signature, computed here from Twilio's documentation: base64
/// HMAC-SHA1 keyed with the auth token over the URL followed by each POST parameter's name
/// and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
