//! The safety net under every route: a 4xx or 5xx answer that is not already the JSON error
//! of API.md §3 (axum's own rejections, a layer's refusal, a route added later that forgot)
//! is rewritten into it, keeping its status and headers (`Allow`, `Retry-After`). The only
//! exception is a deliberate page ([`HtmlPage`]: the payment link pages). A handler that
//! panics answers the JSON 500 instead of dropping the connection.

use std::any::Any;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Marks a response as a page meant for people (HTML), which keeps its own body and status.
#[derive(Debug, Clone, Copy)]
pub struct HtmlPage;

/// Code and message for each status the host or axum can produce without a handler's say.
const BY_STATUS: &[(u16, &str, &str)] = &[
    (400, "bad_request", "The request is malformed; check its path, query, headers and body."),
    (401, "unauthorized", "Send `Authorization: Bearer <API key>`."),
    (403, "forbidden", "This API key may not do this."),
    (404, "not_found", "No such route."),
    (408, "request_timeout", "The request did not arrive in time; send it again."),
    (409, "conflict", "The request conflicts with the current state; read it again and retry."),
    (411, "length_required", "Send the body with a Content-Length."),
    (413, "too_large", "The request body is over this route's limit."),
    (414, "uri_too_long", "The address is too long."),
    (415, "unsupported_media_type", "The body's Content-Type is not one this route takes."),
    (422, "invalid", "The request is well-formed but its values are not valid."),
    (429, "too_many_requests", "Too many requests; wait as long as Retry-After says, then try again."),
    (431, "headers_too_large", "The request headers are too large."),
    (502, "bad_gateway", "An answer from upstream could not be used; try again shortly."),
    (503, "unavailable", "The host cannot take this request right now; try again shortly."),
    (504, "gateway_timeout", "An upstream did not answer in time; try again shortly."),
];

/// The JSON error for a status that came without one.
pub fn for_status(status: StatusCode, method: &Method) -> ApiError {
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return method_not_allowed(method);
    }
    match BY_STATUS.iter().find(|(code, _, _)| *code == status.as_u16()) {
        Some((_, code, message)) => ApiError::new(status, code, *message),
        None if status.is_client_error() => ApiError::new(
            status,
            "client_error",
            format!("The request was refused ({}).", status.canonical_reason().unwrap_or("client error")),
        ),
        None => internal(status),
    }
}

/// 405 `method_not_allowed`; axum adds the `Allow` header.
pub fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("This route does not take {method}; its Allow header lists the methods it takes."),
    )
}

fn internal(status: StatusCode) -> ApiError {
    ApiError::new(status, "internal", "The host could not complete the request; it has been logged.")
}

/// Middleware: rewrites a non-JSON error answer into the JSON error.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let response = next.run(request).await;
    if !needs_rewrite(&response) {
        return response;
    }
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), %method, path, "an error answer without the JSON shape was rewritten");
    }
    let (mut parts, _) = response.into_parts();
    let replacement = for_status(status, &method).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in replacement.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, replacement.into_body())
}

fn needs_rewrite(response: &Response) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.extensions().get::<HtmlPage>().is_some() {
        return false;
    }
    let media = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    media.split(';').next().unwrap_or_default().trim() != "application/json"
}

/// For `CatchPanicLayer`: logs the panic and answers the JSON 500.
pub fn panic_answer(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = ?detail, "a request handler panicked");
    internal(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

#[cfg(test)]
#[path = "json_errors_tests.rs"]
mod tests;
