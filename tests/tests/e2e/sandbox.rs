//! The sandbox: a guest that loops, hoards memory, panics, calls a host off its allowlist or
//! reaches for a secret fails its own call, quickly, and the next call works. Outbound policy
//! in depth is in `outbound_policy.rs`.

use std::time::{Duration, Instant};

use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use e2e::test_servers::{ConnectionCounter, OnConnect};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SECRET: &str = "TOPSECRET-sandbox-4711";

async fn hostile_host() -> (TestHost, i64) {
    let host = TestHost::start(HostOptions { with_hostile: true, ..HostOptions::default() }).await;
    let id = host
        .enabled_integration(ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain-key", "secret_key": SECRET}))
        .await;
    (host, id)
}

async fn create_session(host: &TestHost, integration: i64, behaviour: &str, contact_name: &str) -> (StatusCode, Value) {
    send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": integration, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
        "document_model": behaviour, "contact": {"name": contact_name},
    })))
    .await
}

async fn assert_next_call_works(host: &TestHost, integration: i64) {
    let (status, body) = create_session(host, integration, "normal", "").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["redirect_url"].as_str().unwrap().starts_with("https://hostile.example/pay/TXN-"));
}

/// Generous: the manifest's deadline is 500 ms; without interruption the call never returns.
const STOPPED_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_endless_loop_is_stopped_at_its_deadline_without_blocking_others() {
    let (host, id) = hostile_host().await;
    let started = Instant::now();
    let (looping, normal) = tokio::join!(
        async {
            let answer = create_session(&host, id, "loop", "").await;
            (answer, started.elapsed())
        },
        async {
            let answer = create_session(&host, id, "normal", "").await;
            (answer, started.elapsed())
        }
    );
    let elapsed = started.elapsed();
    let ((status, body), loop_took) = looping;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("time limit"), "{body}");
    assert!(elapsed < STOPPED_WITHIN, "took {elapsed:?}");
    let ((status, _), normal_took) = normal;
    assert_eq!(status, StatusCode::CREATED, "a call beside the loop is served");
    // On this one-threaded test runtime, a loop that held the thread would hold the other call too.
    assert!(normal_took < loop_took, "the call beside the loop took {normal_took:?}, the loop {loop_took:?}");
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_cap() {
    let (host, id) = hostile_host().await;
    let (status, body) = create_session(&host, id, "alloc", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("out of memory"), "{body}");
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn a_panic_fails_only_its_call() {
    let (host, id) = hostile_host().await;
    let (status, body) = create_session(&host, id, "panic", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("crashed"), "{body}");
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn hosts_off_the_allowlist_are_never_contacted() {
    let (host, id) = hostile_host().await;
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let target = format!("{}/steal", server.url);
    let (status, body) = create_session(&host, id, "forbidden-host", &target).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("is not on the allowlist of test_hostile"), "{body}");
    // The host refused before connecting: the request above has completed, so any
    // connection it made would already have been counted.
    assert_eq!(server.connections(), 0);
    assert_next_call_works(&host, id).await;
}

/// A call never sees what an earlier call left in the sandbox memory it reuses, whichever
/// company it serves: neither in the part of a freed slot that is reset in place nor in
/// memory grown again past it, which an allocator trusts to be zero; nor after a call that
/// filled its memory to the cap and was stopped there.
#[tokio::test]
async fn a_call_never_sees_what_an_earlier_call_left_in_memory() {
    let (host, id) = hostile_host().await;
    let other_company = host
        .enabled_integration(ADMIN_KEY, 2, "test_hostile", json!({"api_key": "other-key", "secret_key": "other"}))
        .await;
    let last_number =
        |body: &Value| -> usize { body["redirect_url"].as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap() };
    let (status, left) = create_session(&host, id, "leave-behind", "").await;
    assert_eq!(status, StatusCode::CREATED, "{left}");
    assert!(last_number(&left) >= (6 << 20) / 4096, "the scan finds the marks its own call left: {left}");
    let reference = left["reference"].as_str().unwrap();
    let find_nothing = async |integration: i64| {
        let (status, found) = create_session(&host, integration, "find-leftovers", reference).await;
        assert_eq!(status, StatusCode::CREATED, "{found}");
        let url = found["redirect_url"].as_str().unwrap().to_string();
        assert!(url.ends_with("/found/0/nonzero/0"), "an earlier call's memory showed through: {url}");
    };
    // One at a time: the pool hands the module's freed slot to its next instance.
    find_nothing(other_company).await;
    find_nothing(id).await;
    // A call that fills its memory with ones up to the 16 MiB cap fails there...
    let (status, body) = create_session(&host, id, "alloc", "").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    // ...and the next, for another company, starts on zeroes.
    find_nothing(other_company).await;
}

#[tokio::test]
async fn secret_credentials_cannot_be_read() {
    let (host, id) = hostile_host().await;
    let (status, body) = create_session(&host, id, "read-secret", "").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("secret not readable"), "{body}");
    assert!(!body.to_string().contains(SECRET));
    assert_next_call_works(&host, id).await;
}

#[tokio::test]
async fn a_flood_of_output_fails_its_call_at_the_log_budget() {
    e2e::logs::capture();
    let (host, id) = hostile_host().await;
    let (status, body) = create_session(&host, id, "print-flood", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("log output (stdout/stderr)"), "{body}");
    // The guest wrote 512 KiB; the log kept what fit the 64 KiB budget of the call.
    let logged = e2e::logs::text();
    let line = logged
        .lines()
        .find(|line| line.contains("provider output") && line.contains("module=test_hostile") && line.contains("xxxx"))
        .expect("the output within the budget reached the log");
    assert!(line.len() < 70 * 1024, "the kept output is capped: {} bytes", line.len());
    assert_next_call_works(&host, id).await;
}

/// Files and sockets are refused before a component runs (`install_refusals.rs`: a component
/// importing `wasi:filesystem` or `wasi:sockets` never installs); what runs sees no
/// environment and no arguments.
#[tokio::test]
async fn no_environment_no_arguments() {
    let (host, id) = hostile_host().await;
    let (status, body) = create_session(&host, id, "probe", "").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["redirect_url"], "https://hostile.example/probe?env=0&args=0");
    assert_next_call_works(&host, id).await;
}
