//! Every request gets an id, answered as `X-Request-Id` and carried by every log line of the
//! request (a `request` span with the id, the method and a bounded path). A caller's own id is
//! kept when it is 1 to 64 characters of `A-Z a-z 0-9 . _ -` (so a log never holds a caller's
//! free text under that name); otherwise the host makes one.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The most of a path a log line shows.
const LOGGED_PATH_CHARS: usize = 128;

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub async fn request_id(request: Request, next: Next) -> Response {
    let given = request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| acceptable(id));
    let id = given.map(str::to_string).unwrap_or_else(|| crate::services::random_token(12));
    let path: String = request.uri().path().chars().take(LOGGED_PATH_CHARS).collect();
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %path);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(acceptable("req-2026.12.01_abc"));
        for refused in ["", "has space", "new\nline", "ä", &"x".repeat(65), "a,b", "a=b"] {
            assert!(!acceptable(refused), "{refused:?}");
        }
    }
}
