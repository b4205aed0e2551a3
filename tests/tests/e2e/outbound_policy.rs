//! Outbound policy on addresses, not names (API.md §2): manifests name DNS hosts only, a name
//! the manifest allows is connected only at a public address, a provider cannot set `Host` or
//! framing headers, every attempt spends the call's request budget, and a refused request is
//! logged once with its port and a bounded path. Only 127.0.0.1 is ever contacted.

use std::time::{Duration, Instant};

use e2e::host::{component, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::test_servers::{ConnectionCounter, OnConnect};

use super::install_refusals::{hostile_manifest, refused_upload};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A refusal comes back at once; generous for a loaded machine.
const FAST: Duration = Duration::from_secs(5);

async fn hostile(options: HostOptions) -> (TestHost, i64) {
    let host = TestHost::start(HostOptions { with_hostile: true, ..options }).await;
    let id = host.enabled_integration(ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain-key"})).await;
    (host, id)
}

/// Runs a hostile behaviour with the contact's fields as its parameters.
async fn behave(host: &TestHost, id: i64, behaviour: &str, contact: Value) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let (status, body) = send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
        "document_model": behaviour, "contact": contact,
    })))
    .await;
    (status, body, started.elapsed())
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

async fn assert_next_call_works(host: &TestHost, id: i64) {
    let (status, body, _) = behave(host, id, "normal", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The hostile guest with an endpoint override pointing at `server`.
async fn hostile_with_override(server: &ConnectionCounter) -> (TestHost, i64) {
    hostile(HostOptions { endpoints: vec![format!("test_hostile.api={}", server.url)], ..HostOptions::default() }).await
}

#[tokio::test]
async fn manifests_naming_addresses_or_local_names_are_refused_by_field() {
    let host = TestHost::start(HostOptions { bare: true, ..HostOptions::default() }).await;
    let hosts = [
        ("127.0.0.1", "is an IP address"),
        ("localhost", "is a loopback name"),
        ("169.254.169.254", "is an IP address"),
        ("10.0.0.1:8443", "is an IP address"),
        ("metadata.google.internal", "`.internal` names resolve only inside some network"),
        ("*.com", "covers every name under the public suffix `com`"),
        ("[::1]", "is an IP address"),
        ("intranet", "is a single-label name"),
    ];
    let endpoints = [
        ("https://127.0.0.1", "must name a DNS host"),
        ("https://[::1]:8443", "must name a DNS host"),
        ("https://localhost", "is a loopback name"),
        ("https://metadata.google.internal", "is not under a public suffix"),
    ];
    let fixture = hostile_manifest("1.0");
    let line = "  allowed_hosts: [api.hostile.example.com]";
    let cases = hosts
        .iter()
        .map(|(entry, reason)| {
            (fixture.replace(line, &format!("  allowed_hosts: ['{entry}']")), "runtime.allowed_hosts", *reason)
        })
        .chain(endpoints.iter().map(|(url, reason)| {
            let with_endpoint = format!("  endpoints:\n    api: {{ live: '{url}' }}\n{line}");
            (fixture.replace(line, &with_endpoint), "runtime.endpoints.api.live", *reason)
        }));
    for (manifest, field, reason) in cases {
        assert!(manifest != fixture);
        let (message, elapsed) = refused_upload(&host, &manifest, "test_hostile.wasm").await;
        assert!(message.contains(&format!("{field}: ")), "{field}: {message}");
        assert!(message.contains(reason), "{reason}: {message}");
        assert!(elapsed < FAST, "refused in {elapsed:?}");
    }
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(modules, json!([]), "nothing was installed");
    let (status, body) = host.upload_module(&fixture, component("test_hostile.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "the DNS name installs: {body}");
}

#[tokio::test]
async fn an_allowed_name_that_resolves_to_loopback_is_never_connected() {
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let pinned = vec![("api.hostile.example.com".to_string(), format!("127.0.0.1:{}", server.port()).parse().unwrap())];
    let (host, id) = hostile(HostOptions { pinned_names: pinned, ..HostOptions::default() }).await;
    for url in ["https://api.hostile.example.com/v1/steal", "https://API.hostile.example.com:443/"] {
        let (status, body, elapsed) = behave(&host, id, "forbidden-host", json!({"name": url})).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        assert!(message(&body).contains("Denied("), "{body}");
        assert!(message(&body).contains("resolves only to addresses that are not public"), "{body}");
        assert!(!message(&body).contains("127.0.0.1"), "the address is not told: {body}");
        assert!(elapsed < FAST, "took {elapsed:?}");
    }
    // The requests above have completed, so any connection they made was counted.
    assert_eq!(server.connections(), 0, "the host connected to a loopback address");
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn an_operator_override_may_point_at_loopback() {
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let (host, id) = hostile_with_override(&server).await;
    let (status, body, _) = behave(&host, id, "forbidden-host", json!({"name": format!("{}/ok", server.url)})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["redirect_url"], "https://hostile.example/reached/200");
    assert_eq!(server.connections(), 1);
    // Another port of the same address is not the override's origin.
    let other = format!("http://127.0.0.1:{}/", server.port().wrapping_add(1).max(1));
    let (status, body, _) = behave(&host, id, "forbidden-host", json!({"name": other})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(message(&body).contains("is not on the allowlist of test_hostile"), "{body}");
}

#[tokio::test]
async fn provider_set_host_and_framing_headers_are_refused_before_connecting() {
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let (host, id) = hostile_with_override(&server).await;
    let refused = [
        ("Host", "internal.admin"),
        ("content-length", "0"),
        ("Transfer-Encoding", "chunked"),
        ("CONNECTION", "close"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"),
        ("Proxy-Authorization", "Basic eDp5"),
        ("Proxy-Authenticate", "Basic"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Upgrade", "websocket"),
        ("Expect", "100-continue"),
    ];
    for (name, value) in refused {
        let contact = json!({"name": format!("{}/x", server.url), "email": name, "phone": value});
        let (status, body, elapsed) = behave(&host, id, "header", contact).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{name}: {body}");
        assert!(message(&body).contains("InvalidRequest("), "{name}: {body}");
        assert!(message(&body).contains(&format!("the `{name}` header is set by the host")), "{name}: {body}");
        assert!(elapsed < FAST, "took {elapsed:?}");
    }
    assert_eq!(server.connections(), 0, "no refused request reached the server");
    let contact = json!({"name": format!("{}/x", server.url), "email": "X-Request-Id", "phone": "42"});
    let (status, body, _) = behave(&host, id, "header", contact).await;
    assert_eq!(
        (status, body["redirect_url"].as_str()),
        (StatusCode::CREATED, Some("https://hostile.example/reached/200"))
    );
    assert_eq!(server.connections(), 1, "an ordinary header goes through");
}

#[tokio::test]
async fn denied_requests_spend_the_request_budget() {
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let (host, id) = hostile_with_override(&server).await;
    let contact = json!({"name": "https://not-allowed.example.com/probe", "email": format!("{}/allowed", server.url)});
    let (status, body, elapsed) = behave(&host, id, "budget", contact).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let expected =
        format!("outcomes: {},too-many-requests,too-many-requests,too-many-requests", ["denied"; 8].join(","));
    assert!(message(&body).contains(&expected), "{body}");
    assert!(elapsed < FAST, "took {elapsed:?}");
    assert_eq!(server.connections(), 0, "the allowed request after the budget was not sent");
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn a_refused_request_is_logged_once_with_its_port_and_a_bounded_path() {
    e2e::logs::capture();
    let (host, id) = hostile(HostOptions::default()).await;
    let marker = format!("denied-{}", std::process::id());
    let url = format!("https://evil.example.com:8443/{marker}/{}", "p".repeat(5_000));
    let (status, body, _) = behave(&host, id, "forbidden-host", json!({"name": url})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let huge_marker = format!("huge-{}", std::process::id());
    let huge = format!("https://evil.example.com/{huge_marker}/{}", "q".repeat(100 * 1024));
    let (status, body, _) = behave(&host, id, "forbidden-host", json!({"name": huge})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(message(&body).contains("over the host's limit of 8192"), "{body}");

    let logged = e2e::logs::text();
    let denied: Vec<&str> = logged.lines().filter(|line| line.contains(&marker)).collect();
    assert_eq!(denied.len(), 1, "logged once: {denied:#?}");
    assert!(denied[0].contains("outbound request denied"), "{}", denied[0]);
    assert!(denied[0].contains("https://evil.example.com:8443/"), "the port is shown: {}", denied[0]);
    assert!(denied[0].contains("bytes)"), "the cut is marked: {}", denied[0]);
    assert!(denied[0].len() < 1024, "the line is bounded: {} bytes", denied[0].len());
    let invalid: Vec<&str> = logged.lines().filter(|line| line.contains(&huge_marker)).collect();
    assert_eq!(invalid.len(), 1, "logged once: {} lines", invalid.len());
    assert!(invalid[0].contains("https://evil.example.com:443/"), "{}", &invalid[0][..200.min(invalid[0].len())]);
    assert!(invalid[0].len() < 1024, "the line is bounded: {} bytes", invalid[0].len());
}
