//! `GET /metrics` for what goes wrong: calls waiting for a sandbox and refused by the module's
//! share or a full host, each way a provider call fails (timeout, out of memory, over a
//! ceiling), a webhook whose provider failed; and the store's and the compile cache's side: a
//! compile and a cache hit, a connection in use, the age of the oldest pending event.

use std::time::{Duration, Instant};

use e2e::event_receiver::EventReceiver;
use e2e::greedy::GreedyScenario;
use e2e::host::{send, HostOptions, ADMIN_KEY};
use e2e::metrics_page::MetricsPage;
use e2e::scenario::MyGatewayScenario;
use integrations_host::runtime::HostLimits;
use integrations_host::services::event_delivery::DeliveryPolicy;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_slot_waits_refusals_and_each_way_a_call_fails() {
    // Two sandboxes, each module and company may hold both; a refused call waits 2 s first.
    let limits = HostLimits {
        max_instances: 2,
        module_share: Some(2),
        company_share: Some(2),
        slot_wait: Duration::from_secs(2),
        ..HostLimits::default()
    };
    let options = HostOptions { limits: Some(limits), with_hostile: true, ..HostOptions::default() };
    let g = std::sync::Arc::new(GreedyScenario::start_with(options).await);
    let (host, fake) = (&g.other.host, &g.other.fake);
    let hostile = host.enabled_integration(ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain-key"})).await;

    // Two MyGateway sessions held at the gateway fill both sandboxes (the hold counts the
    // scenario's own sessions too).
    let seeded = fake.requests_to("POST", "/v1/sessions").len();
    fake.sessions_hold.hold();
    let holders: Vec<_> = (0..2)
        .map(|n| {
            let g = g.clone();
            tokio::spawn(async move { g.other.initiate(json!("1.00"), "Redirect", 300 + n).await })
        })
        .collect();
    fake.sessions_hold.arrived(seeded + 2).await;
    // A third MyGateway call finds its module's share taken; a greedy one finds the host full.
    let third = tokio::spawn({
        let g = g.clone();
        async move {
            let request = g.other.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
                "integration_id": g.other.integration_id, "amount": "1.00", "currency": "USD",
                "return_url": "https://erp.example/r",
            }));
            send(request).await
        }
    });
    let greedy = tokio::spawn({
        let g = g.clone();
        async move { g.session("plain", 0).await }
    });
    let slots = host.app.runtime.slots();
    let deadline = Instant::now() + Duration::from_secs(20);
    while slots.occupancy() != (2, 2) {
        assert!(Instant::now() < deadline, "the two calls never waited: {:?}", slots.occupancy());
        tokio::task::yield_now().await;
    }
    let waiting = MetricsPage::of(host).await;
    assert_eq!(waiting.value("integrations_sandbox_slots_waiting", &[]), 2.0, "{}", waiting.text);
    assert_eq!(waiting.value("integrations_sandbox_slots_in_use", &[]), 2.0);

    for (status, body) in [third.await.unwrap(), {
        let (status, body, _) = greedy.await.unwrap();
        (status, body)
    }] {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("overloaded")),
            "{body}"
        );
    }
    fake.sessions_hold.release();
    for holder in holders {
        assert!(holder.await.unwrap()["transaction_id"].is_i64());
    }

    // A provider that spins past its deadline, one that grows past its memory cap, one that
    // hands back a reference over its ceiling, and a webhook whose verification times out.
    let initiate = |behaviour: &str| {
        send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": hostile, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
            "document_model": behaviour,
        })))
    };
    for behaviour in ["loop", "alloc"] {
        let (status, body) = initiate(behaviour).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_GATEWAY, Some("provider_failed")),
            "{body}"
        );
    }
    let (status, body, _) = g.session("huge-reference", 1).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    let (status, body, _) = g.payment_webhook("slow").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");

    let m = MetricsPage::of(host).await;
    let text = &m.text;
    let (mygateway, greedy, hostile) =
        (("module", "payment_mygateway"), ("module", "test_greedy"), ("module", "test_hostile"));
    let refusals = "integrations_sandbox_refusals_total";
    assert_eq!(m.value(refusals, &[mygateway, ("reason", "module_share")]), 1.0, "{text}");
    assert_eq!(m.value(refusals, &[greedy, ("reason", "overload")]), 1.0);
    assert_eq!(m.value(refusals, &[("reason", "company_share")]), 0.0);
    assert_eq!(m.value(refusals, &[]), 2.0, "no other refusal");
    assert_eq!(m.value("integrations_sandbox_slots_waiting", &[]), 0.0, "{text}");
    assert_eq!(m.value("integrations_sandbox_slots_in_use", &[]), 0.0);

    let calls = "integrations_provider_calls_total";
    let session = ("export", "create-session");
    assert_eq!(m.value(calls, &[hostile, session, ("outcome", "timeout")]), 1.0, "{text}");
    assert_eq!(m.value(calls, &[hostile, session, ("outcome", "out_of_memory")]), 1.0);
    assert_eq!(m.value(calls, &[greedy, session, ("outcome", "over_ceiling")]), 1.0);
    assert_eq!(m.value(calls, &[greedy, ("export", "verify-webhook"), ("outcome", "timeout")]), 1.0);
    // The refused calls never ran: no call is counted for them.
    assert_eq!(m.value(calls, &[greedy, session]), 1.0, "only the over-ceiling session ran");
    let webhooks = "integrations_webhooks_total";
    assert_eq!(m.value(webhooks, &[("category", "payment"), greedy, ("outcome", "failed")]), 1.0, "{text}");
    assert_eq!(m.value(webhooks, &[greedy]), 1.0);
}

#[tokio::test]
async fn metrics_count_compiles_cache_hits_connections_and_the_oldest_pending_event() {
    // A compile cache of this test's own, empty at first.
    let cache = tempfile::tempdir().unwrap();
    let limits = HostLimits { compile_cache: Some(cache.path().to_path_buf()), ..HostLimits::default() };
    let first =
        MyGatewayScenario::start_with(HostOptions { limits: Some(limits.clone()), ..HostOptions::default() }).await;
    let m = MetricsPage::of(&first.host).await;
    let lookups = "integrations_compile_cache_lookups_total";
    assert_eq!(m.value(lookups, &[("result", "miss")]), 1.0, "{}", m.text);
    assert_eq!(m.value(lookups, &[("result", "hit")]), 0.0);
    assert_eq!(m.observations("integrations_module_compile_duration_seconds", &[]), 1.0);
    drop(first.host.stop().await);

    // A second host with the same cache compiles nothing. Its event endpoint refuses every
    // delivery and is retried only in an hour, so the payment's event stays pending.
    let receiver = EventReceiver::start(usize::MAX).await;
    let delivery = DeliveryPolicy {
        first_retry: Duration::from_secs(3600),
        max_retry: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(7200),
        timeout: Duration::from_secs(5),
    };
    let options = HostOptions { limits: Some(limits), delivery: Some(delivery), ..HostOptions::default() };
    let s = MyGatewayScenario::start_with(options).await;
    let (status, body) = send(s.host.admin(Method::POST, "/api/admin/event_endpoints").json(
        &json!({"url": receiver.url, "secret": e2e::event_receiver::ENDPOINT_SECRET, "types": ["payment.created"]}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.captured("3.00", 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.requests().is_empty() {
        assert!(Instant::now() < deadline, "the event was never attempted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The writer, held by the test, is a connection in use.
    let db = &s.host.app.db;
    let held = db.tx().await.unwrap();
    let queued: String = sqlx::query_scalar("SELECT MIN(created_at) FROM event_deliveries WHERE state = 'pending'")
        .fetch_one(db.read())
        .await
        .unwrap();
    let queued = chrono::DateTime::parse_from_rfc3339(&queued).unwrap().to_utc();
    let before = chrono::Utc::now();
    let m = MetricsPage::of(&s.host).await;
    let after = chrono::Utc::now();
    let text = &m.text;
    assert_eq!(m.value(lookups, &[("result", "hit")]), 1.0, "{text}");
    assert_eq!(m.value(lookups, &[("result", "miss")]), 0.0);
    assert_eq!(m.observations("integrations_module_compile_duration_seconds", &[]), 0.0, "a cache hit is no compile");

    assert_eq!(m.value("integrations_events_pending", &[]), 1.0, "{text}");
    let age = m.value("integrations_events_oldest_pending_age_seconds", &[]);
    let seconds = |at: chrono::DateTime<chrono::Utc>| (at - queued).num_milliseconds() as f64 / 1000.0;
    assert!(age >= seconds(before) - 0.001 && age <= seconds(after) + 0.001, "{age} s, queued at {queued}: {text}");
    assert!(age > 0.0);

    let in_use = m.value("integrations_db_connections_in_use", &[("pool", "writer")]);
    let open = m.value("integrations_db_connections_open", &[("pool", "writer")]);
    assert!(in_use >= 1.0 && in_use <= open, "{in_use} of {open} writer connections in use: {text}");
    held.rollback().await.unwrap();
    // Let go, the one SQLite writer is idle again (the host's own loops may take it a moment).
    if db.backend() == integrations_host::store::Backend::Sqlite {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let m = MetricsPage::of(&s.host).await;
            if m.value("integrations_db_connections_in_use", &[("pool", "writer")]) == 0.0 {
                break;
            }
            assert!(Instant::now() < deadline, "the writer stays in use: {}", m.text);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
