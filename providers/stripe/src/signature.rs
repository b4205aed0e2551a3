//! The `Stripe-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`.
//! Only `v1` (HMAC-SHA256) signatures count; other schemes are ignored.

/// A parsed header.
#[derive(Debug)]
pub struct SignatureHeader {
    /// The timestamp exactly as sent, for the signed payload `"{t}.{body}"`.
    pub timestamp_text: String,
    pub timestamp: u64,
    /// Every `v1` value, lower-cased.
    pub v1: Vec<String>,
}

/// Parses the header, or says why it is malformed.
pub fn parse(header: &str) -> Result<SignatureHeader, &'static str> {
    let mut timestamp: Option<(String, u64)> = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err("an element is not `key=value`");
        };
        match key.trim() {
            "t" => {
                let value = value.trim();
                if timestamp.is_some() {
                    return Err("more than one timestamp");
                }
                if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("the timestamp is not a number of seconds");
                }
                let seconds = value.parse().map_err(|_| "the timestamp is not a number of seconds")?;
                timestamp = Some((value.to_string(), seconds));
            }
            "v1" => v1.push(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let (timestamp_text, timestamp) = timestamp.ok_or("no timestamp")?;
    if v1.is_empty() {
        return Err("no v1 signature");
    }
    Ok(SignatureHeader { timestamp_text, timestamp, v1 })
}
