//! Every answer is the JSON error of API.md §3: the test walks every route of the router
//! (`integrations_host::api::routes()`, so a new route without a case here fails) with a
//! wrong method, a body just over the route's limit and garbage, and asks for unknown routes.
//! The payment link pages are the one exception: they answer HTML on purpose.

use std::collections::{BTreeMap, BTreeSet};

use e2e::host::{HostOptions, TestHost};
use integrations_host::api::{routes, BodyLimit, RouteInfo};
use reqwest::header::{ALLOW, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// What a route takes, and so what garbage it is sent.
#[derive(Debug, Clone, Copy)]
enum Input {
    /// An integer id in the path: sent `abc`.
    Id,
    /// A text parameter in the path (a module identifier): sent bytes that are not UTF-8.
    Text,
    /// The payment page's token: not UTF-8 is the page's 404.
    Token,
    /// A JSON body: sent malformed JSON, and a body of another content type.
    Json,
    /// The module upload: sent malformed multipart, multipart without a boundary, and JSON.
    Upload,
    /// A query string: sent this one, which the route refuses.
    Query(&'static str),
    /// The public payer routes need `?txn=`: sent without it.
    Txn,
    /// The payment page's form: sent without a payment method (the page says so).
    PayForm,
    /// Nothing but the API key: sent a key that is not one.
    Key,
    /// Nothing at all.
    Nothing,
}

use Input::*;

/// One case per route and method; `every_route_has_a_case` keeps this complete.
const CASES: &[(&str, &str, &[Input])] = &[
    ("GET", "/healthz", &[Nothing]),
    ("GET", "/readyz", &[Nothing]),
    ("GET", "/metrics", &[Nothing]),
    ("GET", "/api/openapi.json", &[Nothing]),
    ("POST", "/api/admin/api_keys", &[Json]),
    ("GET", "/api/events", &[Query("after=soon")]),
    ("POST", "/api/admin/event_endpoints", &[Json]),
    ("GET", "/api/admin/events/{id}", &[Id]),
    ("POST", "/api/admin/events/{id}/redeliver", &[Id]),
    ("GET", "/api/modules", &[Key]),
    ("GET", "/api/modules/{identifier}/versions", &[Text]),
    ("POST", "/api/admin/modules", &[Upload]),
    ("POST", "/api/admin/modules/{identifier}/activate", &[Text, Json]),
    ("DELETE", "/api/admin/modules/{identifier}", &[Text]),
    ("POST", "/api/integrations", &[Json]),
    ("GET", "/api/integrations", &[Query("company_id=one")]),
    ("GET", "/api/integrations/{id}", &[Id]),
    ("PATCH", "/api/integrations/{id}", &[Id, Json]),
    ("DELETE", "/api/integrations/{id}", &[Id]),
    ("PUT", "/api/integrations/{id}/credentials", &[Id, Json]),
    ("POST", "/api/integrations/{id}/enable", &[Id]),
    ("GET", "/api/integrations/{id}/mappings", &[Id]),
    ("GET", "/api/integrations/{id}/webhooks", &[Id, Query("outcome=lost&limit=x")]),
    ("POST", "/api/admin/integrations/{id}/sync", &[Id]),
    ("POST", "/api/integrations/{id}/disable", &[Id]),
    ("GET", "/api/online_payment/integrations", &[Query("company=1")]),
    ("GET", "/api/online_payment/integrations/{id}/client_config", &[Id]),
    ("POST", "/api/online_payment/initiate", &[Json]),
    ("GET", "/api/online_payment/transaction/{id}", &[Id]),
    ("POST", "/api/online_payment/transaction/{id}/refund", &[Id, Json]),
    ("POST", "/api/online_payment/transaction/{id}/sync", &[Id]),
    ("POST", "/api/online_payment/transaction/{id}/capture", &[Id, Json]),
    ("POST", "/api/online_payment/transaction/{id}/void", &[Id, Json]),
    ("GET", "/api/online_payment/payment_methods", &[Query("company_id=one")]),
    ("DELETE", "/api/online_payment/payment_methods/{id}", &[Id]),
    ("POST", "/api/online_payment/charge", &[Json]),
    ("GET", "/api/online_payment/payments", &[Query("document_id=x")]),
    ("POST", "/api/online_payment/links", &[Json]),
    ("GET", "/api/online_payment/links", &[Query("limit=many")]),
    ("GET", "/api/online_payment/links/{id}", &[Id]),
    ("POST", "/api/online_payment/links/{id}/revoke", &[Id]),
    ("GET", "/pay/{token}", &[Token]),
    ("POST", "/pay/{token}", &[Token, PayForm]),
    ("GET", "/api/online_payment/return", &[Txn]),
    ("GET", "/api/online_payment/cancel", &[Txn]),
    ("POST", "/payment/webhook/{integration_id}", &[Id]),
    ("POST", "/api/messaging/send", &[Json]),
    ("GET", "/api/messaging/messages", &[Query("direction=inbound&colour=red")]),
    ("GET", "/api/messaging/messages/{id}", &[Id]),
    ("POST", "/messaging/webhook/{integration_id}", &[Id]),
];

/// The route with its parameters filled in with well-formed values.
fn concrete(route: &str) -> String {
    fill(route, "1", "payment_mygateway", "no-such-token")
}

fn fill(route: &str, id: &str, identifier: &str, token: &str) -> String {
    route
        .replace("{id}", id)
        .replace("{integration_id}", id)
        .replace("{identifier}", identifier)
        .replace("{token}", token)
}

/// Every route the router serves, by path, with its methods and body limit.
fn by_path() -> BTreeMap<&'static str, (BTreeSet<String>, usize)> {
    let mut paths: BTreeMap<&str, (BTreeSet<String>, usize)> = BTreeMap::new();
    for RouteInfo { path, method, body_limit } in routes() {
        let entry = paths.entry(path).or_insert_with(|| (BTreeSet::new(), body_limit));
        entry.0.insert(method.to_string());
        entry.1 = entry.1.max(body_limit);
    }
    paths
}

/// Asserts the JSON error shape with the public-origin headers; returns the error object.
async fn assert_json_error(response: reqwest::Response, status: StatusCode, code: &str, what: &str) -> Value {
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers().clone();
    assert_eq!(headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap()), Some("application/json"), "{what}");
    assert_eq!(headers.get(X_CONTENT_TYPE_OPTIONS).map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(headers.get(CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap()), Some("default-src 'none'"));
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    let error = &body["error"];
    assert_eq!(error["code"].as_str(), Some(code), "{what}: {body}");
    let message = error["message"].as_str().unwrap_or_else(|| panic!("{what}: no message: {body}"));
    assert!(message.len() > 10 && message.ends_with('.'), "{what}: a sentence: {message}");
    error.clone()
}

/// Asserts one of the payment link's HTML pages.
async fn assert_page(response: reqwest::Response, status: StatusCode, what: &str) {
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8", "{what}");
    assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert!(headers[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("style-src 'unsafe-inline'"), "its own CSP");
    assert!(response.text().await.unwrap().starts_with("<!DOCTYPE html>"), "{what}");
}

fn request(host: &TestHost, method: &str, path: &str) -> RequestBuilder {
    host.admin(method.parse().unwrap(), path)
}

#[test]
fn every_route_has_a_case() {
    let served: BTreeSet<(String, &str)> = routes().into_iter().map(|r| (r.method.to_string(), r.path)).collect();
    let cased: BTreeSet<(String, &str)> = CASES.iter().map(|(method, path, _)| (method.to_string(), *path)).collect();
    assert_eq!(served.difference(&cased).collect::<Vec<_>>(), Vec::<&(String, &str)>::new(), "routes without a case");
    assert_eq!(cased.difference(&served).collect::<Vec<_>>(), Vec::<&(String, &str)>::new(), "cases without a route");
    assert_eq!(served.len(), CASES.len(), "one case per route and method");
}

#[tokio::test]
async fn a_wrong_method_on_every_route_is_a_json_405_naming_the_allowed_ones() {
    let host = TestHost::start(HostOptions::default()).await;
    for (path, (methods, _)) in by_path() {
        let wrong = ["DELETE", "PATCH", "PUT", "POST", "GET"].into_iter().find(|m| !methods.contains(*m)).unwrap();
        let what = format!("{wrong} {path}");
        let response = request(&host, wrong, &concrete(path)).send().await.unwrap();
        let allow = response.headers().get(ALLOW).map(|v| v.to_str().unwrap().to_string());
        let error = assert_json_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &what).await;
        assert!(error["message"].as_str().unwrap().contains(wrong), "{what}: {error}");
        let allowed: BTreeSet<String> =
            allow.expect("an Allow header").split(',').map(|m| m.trim().to_string()).collect();
        let mut expected = methods.clone();
        if methods.contains("GET") {
            expected.insert("HEAD".into());
        }
        assert_eq!(allowed, expected, "{what}");
    }
}

#[tokio::test]
async fn a_body_just_over_the_limit_on_every_route_is_a_json_413() {
    let host = TestHost::start(HostOptions::default()).await;
    for RouteInfo { path, method, body_limit } in routes() {
        let what = format!("{method} {path}");
        let content_type =
            if body_limit == BodyLimit::UPLOAD.0 { "multipart/form-data; boundary=x" } else { "application/json" };
        let response = request(&host, method.as_str(), &concrete(path))
            .header(CONTENT_TYPE, content_type)
            .body(vec![b' '; body_limit + 1])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let error = assert_json_error(response, StatusCode::PAYLOAD_TOO_LARGE, "too_large", &what).await;
        let limit = BodyLimit(body_limit).describe();
        assert_eq!(error["message"], format!("The request body is over the limit of {limit}."), "{what}");
    }
}

#[tokio::test]
async fn garbage_on_every_route_is_a_json_4xx_naming_the_problem() {
    let host = TestHost::start(HostOptions::default()).await;
    let bad = StatusCode::BAD_REQUEST;
    for (method, path, inputs) in CASES {
        let at = concrete(path);
        for input in *inputs {
            let what = format!("{method} {path} with {input:?}");
            let send = |builder: RequestBuilder| async { builder.send().await.unwrap() };
            match input {
                Id => {
                    let response = send(request(&host, method, &fill(path, "abc", "x", "x"))).await;
                    assert_json_error(response, bad, "invalid_id", &what).await;
                }
                Text => {
                    let response = send(request(&host, method, &fill(path, "1", "%FF", "x"))).await;
                    assert_json_error(response, bad, "invalid_path", &what).await;
                }
                Token => {
                    let response = send(request(&host, method, &fill(path, "1", "x", "%FF"))).await;
                    assert_page(response, StatusCode::NOT_FOUND, &what).await;
                }
                Json => {
                    let response =
                        send(request(&host, method, &at).header(CONTENT_TYPE, "application/json").body("{not json"))
                            .await;
                    assert_json_error(response, bad, "malformed_json", &what).await;
                    let response =
                        send(request(&host, method, &at).header(CONTENT_TYPE, "text/plain").body("name=x")).await;
                    assert_json_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &what)
                        .await;
                }
                Upload => {
                    for (content_type, status, code) in [
                        ("multipart/form-data; boundary=XYZ", bad, "invalid_upload"),
                        ("multipart/form-data", bad, "invalid_upload"),
                        ("application/json", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
                    ] {
                        let garbage = request(&host, method, &at).header(CONTENT_TYPE, content_type).body("garbage");
                        assert_json_error(send(garbage).await, status, code, &format!("{what}: {content_type}")).await;
                    }
                }
                Query(query) => {
                    let response = send(request(&host, method, &format!("{at}?{query}"))).await;
                    assert_json_error(response, bad, "invalid_query", &what).await;
                }
                Txn => {
                    let response = send(host.public(method.parse().unwrap(), &at)).await;
                    assert_json_error(response, bad, "missing_txn", &what).await;
                }
                PayForm => {
                    let form = host
                        .public(Method::POST, &at)
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body("integration_id=abc");
                    assert_page(send(form).await, StatusCode::UNPROCESSABLE_ENTITY, &what).await;
                }
                Key => {
                    let response = send(host.as_key("not-a-key", method.parse().unwrap(), &at)).await;
                    assert_json_error(response, StatusCode::UNAUTHORIZED, "invalid_api_key", &what).await;
                }
                Nothing => {}
            }
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_a_json_404() {
    let host = TestHost::start(HostOptions::default()).await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/nope"),
        (Method::POST, "/api"),
        (Method::GET, "/api/integrations/1/nope"),
        (Method::DELETE, "/pay"),
        (Method::GET, "/pay/token/extra"),
    ] {
        let response = host.public(method.clone(), path).send().await.unwrap();
        assert_json_error(response, StatusCode::NOT_FOUND, "not_found", &format!("{method} {path}")).await;
    }
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_a_json_413_too() {
    // No Content-Length: the limit is found while reading, by the upload's multipart reader
    // and by the JSON routes' body reader.
    let host = TestHost::start(HostOptions::default()).await;
    let head = b"--x\r\nContent-Disposition: form-data; name=\"component\"; filename=\"m.wasm\"\r\n\r\n".to_vec();
    for (path, content_type, limit, first) in [
        ("/api/admin/modules", "multipart/form-data; boundary=x", BodyLimit::UPLOAD, head),
        ("/api/online_payment/initiate", "application/json", BodyLimit::DEFAULT, b"\"".to_vec()),
    ] {
        let chunks = [first, vec![b'a'; limit.0 / 2], vec![b'a'; limit.0 / 2]];
        let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>));
        let response = host
            .admin(Method::POST, path)
            .header(CONTENT_TYPE, content_type)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        let error = assert_json_error(response, StatusCode::PAYLOAD_TOO_LARGE, "too_large", path).await;
        assert_eq!(error["message"], format!("The request body is over the limit of {}.", limit.describe()));
    }
}
