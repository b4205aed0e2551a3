//! A token endpoint's answer (RFC 6749 §5.1, §5.2), read without letting anything secret
//! out: the token only into a zeroizing string, an error only as its status, OAuth error
//! code and a bounded description with the client's credential values removed.

use serde::Deserialize;
use zeroize::Zeroizing;

use super::checks::MAX_HEADER_VALUE_BYTES;
use crate::capabilities::SCRUB_MARKER;

/// Longest error description quoted to the provider.
const DESCRIPTION_BYTES: usize = 256;
/// Longest OAuth error code quoted.
const CODE_BYTES: usize = 64;

pub enum TokenAnswer {
    Token {
        token: Zeroizing<String>,
        expires_in: Option<u64>,
    },
    /// The endpoint is unavailable (5xx, 429): worth trying again later.
    Unavailable(String),
    /// The endpoint refused the client or answered no usable token.
    Refused(String),
}

#[derive(Deserialize)]
struct Success {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Failure {
    error: Option<String>,
    error_description: Option<String>,
}

/// Reads a token endpoint's answer. `hidden`: credential values never quoted.
pub fn read(status: u16, body: &[u8], hidden: &[&str]) -> TokenAnswer {
    if status == 429 || status >= 500 {
        return TokenAnswer::Unavailable(format!("the OAuth token endpoint answered {status}"));
    }
    if !(200..300).contains(&status) {
        let failure = serde_json::from_slice::<Failure>(body).ok();
        let code = failure.as_ref().and_then(|f| f.error.as_deref()).map(|code| quoted(code, CODE_BYTES, hidden));
        let description =
            failure.as_ref().and_then(|f| f.error_description.as_deref()).map(|d| quoted(d, DESCRIPTION_BYTES, hidden));
        return TokenAnswer::Refused(match (code, description) {
            (Some(code), Some(description)) => format!("{status} {code}: {description}"),
            (Some(code), None) => format!("{status} {code}"),
            _ => format!("{status}"),
        });
    }
    let unusable = |why: &str| TokenAnswer::Refused(format!("{status} but {why}"));
    let Ok(success) = serde_json::from_slice::<Success>(body) else {
        return unusable("the answer is not a JSON token response");
    };
    let token = success.access_token.map(Zeroizing::new);
    if success.token_type.as_deref().is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer")) {
        return unusable("the token is not a bearer token");
    }
    let Some(token) = token else {
        return unusable("the answer has no access_token");
    };
    // RFC 6750's b64token, within a header value.
    let shaped = token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if token.is_empty() || !shaped || token.len() + "Bearer ".len() > MAX_HEADER_VALUE_BYTES {
        return unusable("the access_token cannot be sent as a bearer token");
    }
    let expires_in = match success.expires_in {
        Some(serde_json::Value::Number(n)) => Some(n.as_u64().unwrap_or(0)),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    TokenAnswer::Token { token, expires_in }
}

/// `text` as it may be quoted: printable, bounded, without any hidden value.
fn quoted(text: &str, limit: usize, hidden: &[&str]) -> String {
    let mut text: String = text.chars().filter(|c| !c.is_control()).collect();
    for value in hidden.iter().filter(|value| !value.is_empty()) {
        text = text.replace(value, SCRUB_MARKER);
    }
    super::checks::bounded(&text, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, body: &str) -> String {
        match read(status, body.as_bytes(), &["s3cret-value"]) {
            TokenAnswer::Refused(why) => why,
            _ => panic!("expected a refusal"),
        }
    }

    #[test]
    fn a_bearer_token_is_read_with_its_lifetime() {
        for (expires_in, expected) in
            [("32400", Some(32_400)), ("\"3600\"", Some(3600)), ("null", None), ("-5", Some(0))]
        {
            let body = format!(r#"{{"access_token":"A21AA.x-y_z~","token_type":"Bearer","expires_in":{expires_in}}}"#);
            match read(200, body.as_bytes(), &[]) {
                TokenAnswer::Token { token, expires_in } => {
                    assert_eq!((token.as_str(), expires_in), ("A21AA.x-y_z~", expected))
                }
                _ => panic!("expected a token for {body}"),
            }
        }
    }

    #[test]
    fn refusals_quote_status_and_code_but_never_a_secret() {
        let body =
            r#"{"error":"invalid_client","error_description":"Client Authentication failed for s3cret-value\n"}"#;
        assert_eq!(refused(401, body), "401 invalid_client: Client Authentication failed for [REDACTED]");
        assert_eq!(refused(400, r#"{"error":"invalid_scope"}"#), "400 invalid_scope");
        assert_eq!(refused(403, "<html>no</html>"), "403");
        assert_eq!(
            refused(200, r#"{"access_token":"t","token_type":"mac"}"#),
            "200 but the token is not a bearer token"
        );
        assert_eq!(refused(200, r#"{"token_type":"Bearer"}"#), "200 but the answer has no access_token");
        assert_eq!(
            refused(200, r#"{"access_token":"a b"}"#),
            "200 but the access_token cannot be sent as a bearer token"
        );
        assert_eq!(refused(200, "not json"), "200 but the answer is not a JSON token response");
        let long = format!(r#"{{"error":"x","error_description":"{}"}}"#, "d".repeat(5000));
        assert!(refused(401, &long).len() < 400);
    }

    #[test]
    fn outages_are_unavailable() {
        for status in [429, 500, 503] {
            assert!(
                matches!(read(status, b"{}", &[]), TokenAnswer::Unavailable(why) if why.ends_with(&status.to_string()))
            );
        }
    }
}
