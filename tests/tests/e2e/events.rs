//! Events to the ERP: written with the change, signed, delivered at least once and in order,
//! retried with backoff, kept across a restart, pulled by ERPs that cannot receive webhooks.

use std::time::Duration;

use axum::http::StatusCode;
use e2e::event_receiver::{EventReceiver, ENDPOINT_SECRET};
use e2e::host::{send, HostOptions, TestHost};
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use integrations_host::services::event_delivery::DeliveryPolicy;
use reqwest::Method;
use serde_json::{json, Value};

fn fast_retries() -> Option<DeliveryPolicy> {
    Some(DeliveryPolicy {
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_millis(400),
        give_up_after: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
    })
}

async fn add_endpoint(host: &TestHost, url: &str, types: Value) -> i64 {
    let (status, body) = send(
        host.admin(Method::POST, "/api/admin/event_endpoints")
            .json(&json!({ "url": url, "secret": ENDPOINT_SECRET, "types": types })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("secret").is_none(), "the secret is not echoed");
    body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_capture_reaches_the_erp_once_in_order_across_failures_and_a_restart() {
    // The receiver refuses everything until the restart, however many retries the first host
    // makes before it stops; then once more, then it takes the events.
    let receiver = EventReceiver::start(usize::MAX).await;
    let s = MyGatewayScenario::start_with(HostOptions { delivery: fast_retries(), ..HostOptions::default() }).await;
    add_endpoint(&s.host, &receiver.url, Value::Null).await;
    let id = s.initiate(json!("42.00"), "Redirect", 7).await["transaction_id"].as_i64().unwrap();
    let session_id = s.session_id(id).await;
    // Wait for the first failed attempt, then restart the host.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while receiver.requests().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no delivery attempt");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (dir, fake, integration_id) = (s.host.dir.clone(), s.fake.clone(), s.integration_id);
    let _kept = s.host.stop().await;
    // Every attempt the first host made was answered before it stopped (an attempt in flight
    // at the stop finishes and is recorded).
    let before_restart = receiver.requests();
    assert!(!before_restart.is_empty() && before_restart.iter().all(|(_, _, status)| *status == 500));
    receiver.fail_next(1);
    let host = TestHost::start(HostOptions {
        dir: Some(dir),
        endpoints: vec![fake.endpoint_flag()],
        delivery: fast_retries(),
        ..HostOptions::default()
    })
    .await;

    let body = json!({ "type": "payment.completed", "data": { "payment_id": session_id } }).to_string();
    let signature = e2e::hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes());
    for _ in 0..3 {
        let (status, _) = send(
            host.public(Method::POST, &format!("/payment/webhook/{integration_id}"))
                .header("X-MyGateway-Signature", &signature)
                .body(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    let delivered = receiver.wait_for_delivered(3).await;
    let kinds: Vec<&str> = delivered.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["transaction.state_changed", "transaction.state_changed", "payment.created"]);
    assert_eq!(
        (delivered[0]["data"]["from"].as_str(), delivered[0]["data"]["to"].as_str()),
        (Some("Draft"), Some("Pending"))
    );
    assert_eq!(
        (delivered[1]["data"]["from"].as_str(), delivered[1]["data"]["to"].as_str()),
        (Some("Pending"), Some("Captured"))
    );
    let ids: Vec<i64> = delivered.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "in order: {ids:?}");

    let payment = &delivered[2];
    assert_eq!(payment["company_id"], 1);
    assert_eq!(
        (
            payment["data"]["document_model"].as_str(),
            payment["data"]["document_id"].as_i64(),
            payment["data"]["amount"].as_str(),
            payment["data"]["currency"].as_str()
        ),
        (Some("Invoice"), Some(7), Some("42.00"), Some("USD"))
    );
    assert_eq!(payment["data"]["pending_action_data"]["signature_data"]["signed_by"], "Ada");

    // The first event: refused before the restart (as often as the first host tried), once
    // after it, then delivered; the host's attempt history holds every one of them.
    let requests = receiver.requests();
    let first = delivered[0]["id"].clone();
    let statuses: Vec<u16> =
        requests.iter().filter(|(e, _, _)| e["id"] == first).map(|(_, _, status)| *status).collect();
    let mut expected: Vec<u16> = before_restart.iter().map(|(_, _, status)| *status).collect();
    expected.extend([500, 200]);
    assert!(before_restart.iter().all(|(e, _, _)| e["id"] == first), "only the first event existed then");
    assert_eq!(statuses, expected);
    assert!(requests.iter().all(|(_, valid, _)| *valid), "every signature checks out");
    assert_eq!(
        requests.iter().filter(|(e, _, _)| e["type"] == "payment.created").count(),
        1,
        "one payment.created for three webhooks"
    );

    let (_, shown) = send(host.admin(Method::GET, &format!("/api/admin/events/{first}"))).await;
    let attempts: Vec<i64> =
        shown["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(attempts.iter().map(|&s| s as u16).collect::<Vec<_>>(), expected, "no attempt lost from the history");
    assert_eq!(shown["deliveries"][0]["state"], "delivered");
}

#[tokio::test]
async fn events_can_be_pulled_and_redelivered() {
    let receiver = EventReceiver::start(0).await;
    let s = MyGatewayScenario::start_with(HostOptions { delivery: fast_retries(), ..HostOptions::default() }).await;
    add_endpoint(&s.host, &receiver.url, json!(["payment.created"])).await;
    let id = s.initiate(json!("5.00"), "Redirect", 8).await["transaction_id"].as_i64().unwrap();
    s.deliver("payment.completed", &s.session_id(id).await, Some(WEBHOOK_SECRET)).await;
    let delivered = receiver.wait_for_delivered(1).await;
    assert_eq!(delivered[0]["type"], "payment.created", "only the types asked for");

    let (status, page) = send(s.host.admin(Method::GET, "/api/events?after=0&limit=2")).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["transaction.state_changed", "transaction.state_changed"]);
    let (_, rest) = send(s.host.admin(Method::GET, &format!("/api/events?after={}", page["next_after"]))).await;
    assert_eq!(rest["events"][0]["type"], "payment.created");

    let other = s.host.company_key(2).await;
    let (_, theirs) = send(s.host.as_key(&other, Method::GET, "/api/events")).await;
    assert_eq!(theirs["events"], json!([]), "another company sees none of these");

    let event_id = delivered[0]["id"].as_i64().unwrap();
    let (status, _) = send(s.host.admin(Method::POST, &format!("/api/admin/events/{event_id}/redeliver"))).await;
    assert_eq!(status, StatusCode::OK);
    let again = receiver.wait_for_delivered(2).await;
    assert_eq!(again[1]["id"].as_i64(), Some(event_id));
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_marked_failed() {
    let receiver = EventReceiver::start(usize::MAX).await;
    let policy = DeliveryPolicy { give_up_after: Duration::from_millis(300), ..fast_retries().unwrap() };
    let s = MyGatewayScenario::start_with(HostOptions { delivery: Some(policy), ..HostOptions::default() }).await;
    add_endpoint(&s.host, &receiver.url, Value::Null).await;
    s.initiate(json!("1.00"), "Redirect", 9).await;
    let (_, page) = send(s.host.admin(Method::GET, "/api/events")).await;
    let event_id = page["events"][0]["id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, shown) = send(s.host.admin(Method::GET, &format!("/api/admin/events/{event_id}"))).await;
        if shown["deliveries"][0]["state"] == "failed" {
            assert!(shown["attempts"].as_array().unwrap().len() >= 2, "{shown}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never marked failed: {shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The operator sees it: one delivery failed for good, the attempts that led there, none
    // pending (the initiate's event was the only one).
    let (_, shown) = send(s.host.admin(Method::GET, &format!("/api/admin/events/{event_id}"))).await;
    let attempts = shown["attempts"].as_array().unwrap().len() as f64;
    let page = e2e::metrics_page::MetricsPage::of(&s.host).await;
    let counted = "integrations_event_delivery_attempts_total";
    assert_eq!(page.value("integrations_events_failed", &[]), 1.0, "{}", page.text);
    assert_eq!(page.value("integrations_events_pending", &[]), 0.0);
    assert_eq!(page.value(counted, &[("outcome", "gave_up")]), 1.0);
    assert_eq!(page.value(counted, &[("outcome", "failed")]), attempts - 1.0);
    assert_eq!(page.value(counted, &[("outcome", "delivered")]), 0.0);
}

#[tokio::test]
async fn an_endpoint_secret_needs_sixteen_characters_not_bytes() {
    let host = TestHost::start(HostOptions { bare: true, ..HostOptions::default() }).await;
    let add = |secret: &str| {
        host.admin(Method::POST, "/api/admin/event_endpoints")
            .json(&json!({ "url": "https://erp.example/events", "secret": secret }))
    };
    // Fifteen characters in thirty bytes.
    let (status, body) = send(add(&"é".repeat(15))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_secret")),
        "{body}"
    );
    let (status, body) = send(add(&"é".repeat(16))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// PostgreSQL hands out event ids at insert, not at commit. While a transaction holding a
/// lower id is still open, a higher id committed beside it is not pulled: the page waits for
/// the lower one, so a reader following `next_after` never steps past an event for good.
/// (SQLite's one writer commits ids in order.)
#[tokio::test]
async fn the_pull_api_never_steps_past_an_event_still_being_written() {
    use integrations_host::store::events;
    if !e2e::database::on_postgres() {
        return;
    }
    let host = TestHost::start(HostOptions::default()).await;
    let db = &host.app.db;
    let (_, before) = send(host.admin(Method::GET, "/api/events")).await;
    let start = before["next_after"].as_i64().unwrap();

    let mut slow = db.tx().await.unwrap();
    let lower =
        events::record(&mut slow, "payment.created", 1, "transaction:900001", &json!({"n": 1})).await.unwrap().id;
    let mut quick = db.tx().await.unwrap();
    let higher =
        events::record(&mut quick, "payment.created", 1, "transaction:900002", &json!({"n": 2})).await.unwrap().id;
    quick.commit().await.unwrap();
    assert!(lower < higher);

    let pull = tokio::spawn({
        let request = host.admin(Method::GET, &format!("/api/events?after={start}"));
        async move { send(request).await }
    });
    // The pull is waiting for the open transaction (its lock request not granted yet).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                .fetch_one(db.read())
                .await
                .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(!pull.is_finished(), "the pull answered while an earlier event was still being written");
        assert!(std::time::Instant::now() < deadline, "the pull never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    slow.commit().await.unwrap();
    let (status, page) = pull.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<i64> = page["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [lower, higher], "both, in order");
}
