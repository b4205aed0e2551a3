//! What the host checks in a provider's request before any connection, and how a request's
//! target is written to the log. Pure: no I/O.

use url::Url;

use super::request::{HeaderSource, OutboundError, OutboundHeader, OutboundRequest};

/// Longest URL a provider may send.
pub const MAX_URL_BYTES: usize = 8 * 1024;
/// Most headers in one request.
pub const MAX_HEADERS: usize = 64;
/// Longest header name.
pub const MAX_HEADER_NAME_BYTES: usize = 256;
/// Longest header value (after credentials are substituted).
pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;
/// Most bytes of a path written to the log.
pub const LOGGED_PATH_BYTES: usize = 256;
/// Most bytes of an error message written to the log.
pub const LOGGED_ERROR_BYTES: usize = 512;
/// Most bytes of a host name written to the log (DNS names have at most 253).
const LOGGED_HOST_BYTES: usize = 253;

/// Headers the host sets or that describe the connection: a provider setting them could
/// reach another virtual host behind an allowed address, or smuggle a second request.
const REFUSED_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Headers that would let a response carry a secret in a form the scrubber cannot see: a
/// compressed body, or an echo cut into ranges the provider puts back together.
const UNSCRUBBABLE_HEADERS: [&str; 3] = ["accept-encoding", "range", "if-range"];

/// Checks the request's size, URL and header names; answers the parsed URL.
pub fn check_request(request: &OutboundRequest, max_body_bytes: usize) -> Result<Url, OutboundError> {
    let invalid = |message: String| Err(OutboundError::InvalidRequest(message));
    if request.url.len() > MAX_URL_BYTES {
        return invalid(format!("the URL is {} bytes, over the host's limit of {MAX_URL_BYTES}", request.url.len()));
    }
    let url = match Url::parse(&request.url) {
        Ok(url) => url,
        Err(e) => return invalid(format!("the URL is not an absolute URL: {e}")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("credentials in URLs are refused; use a basic header".into());
    }
    if request.headers.len() > MAX_HEADERS {
        return invalid(format!("{} headers, over the host's limit of {MAX_HEADERS}", request.headers.len()));
    }
    for header in &request.headers {
        check_header_name(header)?;
    }
    if request.headers.iter().filter(|h| matches!(h.value, HeaderSource::OAuthClientCredentials(_))).count() > 1 {
        return invalid("at most one header of a request may carry oauth-client-credentials".into());
    }
    if request.body.as_ref().is_some_and(|body| body.len() > max_body_bytes) {
        return invalid(format!("request body over {max_body_bytes} bytes"));
    }
    Ok(url)
}

fn check_header_name(header: &OutboundHeader) -> Result<(), OutboundError> {
    let name = &header.name;
    if name.len() > MAX_HEADER_NAME_BYTES {
        return Err(OutboundError::InvalidRequest(format!(
            "a header name of {} bytes is over the host's limit of {MAX_HEADER_NAME_BYTES}",
            name.len()
        )));
    }
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(OutboundError::InvalidRequest(format!("`{}` is not a header name", name.escape_debug())));
    }
    if REFUSED_HEADERS.iter().any(|refused| refused.eq_ignore_ascii_case(name)) {
        return Err(OutboundError::InvalidRequest(format!(
            "the `{name}` header is set by the host; a provider cannot set it"
        )));
    }
    if UNSCRUBBABLE_HEADERS.iter().any(|refused| refused.eq_ignore_ascii_case(name)) {
        return Err(OutboundError::InvalidRequest(format!(
            "the `{name}` header is refused: the host must read every response whole to keep secrets out of it"
        )));
    }
    Ok(())
}

/// A response the host cannot scrub: its body is compressed (the host asks for none).
pub fn unscrubbable_response(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let coding = headers.get(reqwest::header::CONTENT_ENCODING)?;
    let coding = String::from_utf8_lossy(coding.as_bytes()).trim().to_ascii_lowercase();
    (coding != "identity").then(|| {
        format!(
            "the response is compressed (Content-Encoding `{}`), which the host does not pass on",
            bounded(&coding, 64)
        )
    })
}

/// A request's target as logged: scheme, host, port and at most [`LOGGED_PATH_BYTES`] of the
/// path, never the query, the fragment or credentials.
pub fn logged_target(url: &str) -> String {
    let Ok(url) = Url::parse(url) else {
        return "<not a URL>".into();
    };
    let host = bounded(url.host_str().unwrap_or(""), LOGGED_HOST_BYTES);
    let port = url.port_or_known_default().map(|port| format!(":{port}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme(), bounded(url.path(), LOGGED_PATH_BYTES))
}

/// `text` cut at `limit` bytes (on a character boundary), with a marker saying how much was cut.
pub fn bounded(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let end = text.floor_char_boundary(limit);
    format!("{}…(+{} bytes)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::http::request::{Method, OAuthClient};

    fn request(url: &str, headers: &[&str]) -> OutboundRequest {
        OutboundRequest {
            method: Method::Get,
            url: url.into(),
            headers: headers
                .iter()
                .map(|name| OutboundHeader { name: name.to_string(), value: HeaderSource::Text("v".into()) })
                .collect(),
            body: None,
        }
    }

    fn refusal(request: &OutboundRequest) -> String {
        match check_request(request, 1 << 20) {
            Err(OutboundError::InvalidRequest(message)) => message,
            other => panic!("expected invalid-request, got {other:?}"),
        }
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_refused_in_any_case() {
        for name in REFUSED_HEADERS.iter().map(|n| n.to_string()).chain(["HOST".into(), "Transfer-Encoding".into()]) {
            let message = refusal(&request("https://api.example.com/", &[&name]));
            assert!(message.contains(&format!("`{name}` header")), "{message}");
        }
        assert!(check_request(&request("https://api.example.com/", &["Idempotency-Key", "accept"]), 10).is_ok());
    }

    #[test]
    fn sizes_are_bounded() {
        let long = format!("https://api.example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(refusal(&request(&long, &[])).contains("over the host's limit of 8192"));
        let many: Vec<String> = (0..=MAX_HEADERS).map(|i| format!("x-{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(refusal(&request("https://api.example.com/", &many)).contains("65 headers"));
        let name = "x".repeat(MAX_HEADER_NAME_BYTES + 1);
        assert!(refusal(&request("https://api.example.com/", &[&name])).contains("header name of 257 bytes"));
        let mut body = request("https://api.example.com/", &[]);
        body.body = Some(vec![0; 11]);
        assert!(matches!(check_request(&body, 10), Err(OutboundError::InvalidRequest(_))));
        assert!(refusal(&request("https://user:pw@api.example.com/", &[])).contains("credentials in URLs"));
        assert!(refusal(&request("not a url", &[])).starts_with("the URL is not an absolute URL"));
    }

    #[test]
    fn one_oauth_header_per_request() {
        let oauth = || OutboundHeader {
            name: "authorization".into(),
            value: HeaderSource::OAuthClientCredentials(OAuthClient {
                token_url: "https://api.example.com/token".into(),
                client_id: "id".into(),
                client_secret: "secret".into(),
                scope: None,
            }),
        };
        let mut one = request("https://api.example.com/", &[]);
        one.headers.push(oauth());
        assert!(check_request(&one, 10).is_ok());
        one.headers.push(oauth());
        assert!(refusal(&one).contains("at most one header"));
    }

    #[test]
    fn logged_targets_show_the_port_and_a_bounded_path() {
        assert_eq!(logged_target("https://api.example.com/v1/x?secret=1#f"), "https://api.example.com:443/v1/x");
        assert_eq!(logged_target("http://127.0.0.1:9999/"), "http://127.0.0.1:9999/");
        assert_eq!(logged_target("https://u:p@api.example.com:8443/a"), "https://api.example.com:8443/a");
        let long = logged_target(&format!("https://api.example.com/{}", "é".repeat(50_000)));
        assert!(long.len() < 256 + 64, "{long}");
        assert!(long.ends_with(" bytes)"), "{long}");
        assert_eq!(logged_target("\nforged line"), "<not a URL>");
    }
}
