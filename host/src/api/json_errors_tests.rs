//! The safety net and the public-origin headers on a small router with the API's answer
//! rules: whatever a route or axum answers, an error leaves as the JSON error.

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;

use super::HtmlPage;
use crate::api::body_limit::BodyLimit;
use crate::api::extract::RawBody;
use crate::api::{answer_rules, ApiError};

async fn text_error() -> Response {
    (StatusCode::BAD_GATEWAY, "upstream said: secret-ish detail").into_response()
}

async fn html_page() -> Response {
    let mut response = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/html")], "<p>gone</p>").into_response();
    response.extensions_mut().insert(HtmlPage);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, "style-src 'self'".parse().unwrap());
    response
}

async fn json_error() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "own_code", "The handler's own message.")
}

async fn panics() -> &'static str {
    panic!("a bug")
}

async fn echo(RawBody(body): RawBody) -> Vec<u8> {
    body.to_vec()
}

fn app() -> Router {
    let routes = Router::new()
        .route("/text-error", get(text_error))
        .route("/page", get(html_page))
        .route("/json-error", get(json_error))
        .route("/panics", get(panics))
        .route("/plain", get(|| async { "fine" }))
        .route("/echo", BodyLimit(16).apply(axum::routing::post(echo)));
    answer_rules(routes)
}

async fn call(method: &str, path: &str, body: Body) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::builder().method(method).uri(path).body(body).unwrap();
    let response = app().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, to_bytes(body, usize::MAX).await.unwrap().to_vec())
}

/// Asserts the JSON error shape and the public-origin headers; returns the code and message.
fn json_error_of(headers: &axum::http::HeaderMap, body: &[u8]) -> (String, String) {
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'");
    let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    let error = value["error"].as_object().expect("an error object");
    assert_eq!(error.len(), 2, "{value}");
    (error["code"].as_str().unwrap().to_string(), error["message"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_plain_text_error_becomes_the_json_error_without_its_text() {
    let (status, headers, body) = call("GET", "/text-error", Body::empty()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (code, message) = json_error_of(&headers, &body);
    assert_eq!(code, "bad_gateway");
    assert!(!message.contains("secret-ish"), "{message}");
}

#[tokio::test]
async fn a_wrong_method_keeps_allow_and_says_so() {
    let (status, headers, body) = call("DELETE", "/plain", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "GET,HEAD");
    let (code, message) = json_error_of(&headers, &body);
    assert_eq!(code, "method_not_allowed");
    assert!(message.contains("DELETE"), "{message}");
}

#[tokio::test]
async fn an_unmatched_route_is_a_json_404() {
    let (status, headers, body) = call("GET", "/nowhere", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json_error_of(&headers, &body).0, "not_found");
}

#[tokio::test]
async fn a_panic_is_the_json_500() {
    let (status, headers, body) = call("GET", "/panics", Body::empty()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = json_error_of(&headers, &body);
    assert_eq!(code, "internal");
    assert!(!message.contains("a bug"));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_declared_or_streamed() {
    let (status, headers, body) = call("POST", "/echo", Body::from(vec![b'x'; 17])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, message) = json_error_of(&headers, &body);
    assert_eq!((code.as_str(), message.as_str()), ("too_large", "The request body is over the limit of 16 bytes."));

    // No length up front: the extractor stops reading at the limit.
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![b'x'; 10]), Ok(vec![b'x'; 10])]);
    let (status, headers, body) = call("POST", "/echo", Body::from_stream(chunks)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_error_of(&headers, &body).1, "The request body is over the limit of 16 bytes.");

    let (status, _, body) = call("POST", "/echo", Body::from(vec![b'x'; 16])).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 16));
}

#[tokio::test]
async fn json_errors_and_pages_are_left_as_they_are() {
    let (status, headers, body) = call("GET", "/json-error", Body::empty()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(json_error_of(&headers, &body), ("own_code".into(), "The handler's own message.".into()));

    let (status, headers, body) = call("GET", "/page", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, b"<p>gone</p>");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html");
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "style-src 'self'", "a page keeps its own policy");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let (status, headers, body) = call("GET", "/plain", Body::empty()).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, b"fine".as_slice()));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'");
}

#[test]
fn every_error_status_gets_a_snake_case_code() {
    for status in 400..600u16 {
        let Ok(status) = StatusCode::from_u16(status) else { continue };
        let error = super::for_status(status, &axum::http::Method::GET);
        assert_eq!(error.status, status);
        assert!(error.code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", error.code);
        assert!(error.message.ends_with('.'), "{}", error.message);
    }
}
