//! `application/x-www-form-urlencoded` bodies the way Stripe reads them: nested parameters
//! as bracketed keys (`line_items[0][price_data][currency]=usd`).

/// An ordered list of form parameters.
#[derive(Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    /// The encoded body. Brackets in keys stay readable (as Stripe's own libraries send
    /// them); everything else outside the unreserved set is percent-encoded.
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(key, value)| format!("{}={}", encode(key, true), encode(value, false)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes `text` for a form body or a query string.
pub fn encode(text: &str, keep_brackets: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b'[' | b']' if keep_brackets => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
