//! Request body limits, one per route. A body whose `Content-Length` is over its route's limit
//! is refused before any handler runs, on every route (whether or not it reads a body); a
//! streamed body that grows past the limit is refused by the extractor that reads it
//! ([`super::extract::RawBody`], the upload's multipart reader), which finds the limit here.

use std::convert::Infallible;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use super::ApiError;
use crate::registry::MAX_COMPONENT_BYTES;

/// Largest request body accepted (webhooks included).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The most a route reads from a request body, in bytes. It travels in the request's
/// extensions so rejections can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// Every route but the module upload.
    pub const DEFAULT: Self = Self(MAX_BODY_BYTES);
    /// A module upload: the largest component plus room for the manifest and the multipart framing.
    pub const UPLOAD: Self = Self(MAX_COMPONENT_BYTES + MAX_BODY_BYTES);

    /// 413 `too_large`, naming the limit.
    pub fn exceeded(self) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The request body is over the limit of {}.", self.describe()),
        )
    }

    /// "1 MiB", "33 MiB", or bytes when the limit is not a whole number of MiB.
    pub fn describe(self) -> String {
        match self.0 {
            bytes if bytes > 0 && bytes % (1 << 20) == 0 => format!("{} MiB", bytes >> 20),
            bytes => format!("{bytes} bytes"),
        }
    }

    /// The limit of the request being handled (the default when no route set one).
    pub fn of(request: &Request) -> Self {
        request.extensions().get::<Self>().copied().unwrap_or(Self::DEFAULT)
    }

    /// Applies this limit to one route: the declared-length check, and the ceiling axum's
    /// body extractors enforce while reading.
    pub fn apply<S: Clone + Send + Sync + 'static>(self, route: MethodRouter<S>) -> MethodRouter<S> {
        route
            .layer::<_, Infallible>(middleware::from_fn_with_state(self, enforce))
            .layer::<_, Infallible>(DefaultBodyLimit::max(self.0))
    }
}

impl Default for BodyLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

async fn enforce(State(limit): State<BodyLimit>, mut request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit.0 as u64) {
        return limit.exceeded().into_response();
    }
    request.extensions_mut().insert(limit);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_described_for_people() {
        assert_eq!(BodyLimit::DEFAULT.describe(), "1 MiB");
        assert_eq!(BodyLimit::UPLOAD.describe(), "33 MiB");
        assert_eq!(BodyLimit(1000).describe(), "1000 bytes");
        assert_eq!(BodyLimit::DEFAULT.exceeded().message, "The request body is over the limit of 1 MiB.");
    }
}
