//! The webhook path's cache of integrations and their credentials
//! (`services/integration_cache.rs`): a webhook is verified with the integration as its last
//! edit left it, on the host that made the edit at once and on another host sharing the
//! PostgreSQL database within the follower's interval.

use std::time::{Duration, Instant};

use e2e::database::on_postgres;
use e2e::hmac_sha256_hex;
use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use e2e::metrics_page::MetricsPage;
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NEW_SECRET: &str = "whsec_rotated_after_a_leak";

/// A MyGateway `payment.completed` for `session` to `host`, signed with `secret`.
async fn deliver(host: &TestHost, integration_id: i64, session: &str, secret: &str) -> (StatusCode, Value) {
    let body = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
    send(
        host.public(Method::POST, &format!("/payment/webhook/{integration_id}"))
            .header("content-type", "application/json")
            .header("X-MyGateway-Signature", hmac_sha256_hex(secret, body.as_bytes()))
            .body(body),
    )
    .await
}

async fn set_webhook_secret(host: &TestHost, integration_id: i64, secret: &str) {
    let (status, body) = send(
        host.admin(Method::PUT, &format!("/api/integrations/{integration_id}/credentials"))
            .json(&json!({ "mygateway_webhook_secret": secret })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn lookups(host: &TestHost, result: &str) -> f64 {
    MetricsPage::of(host).await.value("integrations_integration_cache_lookups_total", &[("result", result)])
}

#[tokio::test]
async fn a_webhook_is_verified_with_the_integration_as_its_last_edit_left_it() {
    let s = MyGatewayScenario::start().await;
    let (_, session) = s.captured("5.00", 1).await;
    let (status, body) = deliver(&s.host, s.integration_id, &session, WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::OK, "the repeat: {body}");
    if !on_postgres() {
        // On PostgreSQL the follower may forget between the two (it forgets at its first
        // comparison and whenever any integration was edited); one host owns a SQLite file.
        assert_eq!((lookups(&s.host, "miss").await, lookups(&s.host, "hit").await), (1.0, 1.0));
    }

    // The webhook secret rotated: the old one is refused from the next webhook on.
    set_webhook_secret(&s.host, s.integration_id, NEW_SECRET).await;
    let (status, body) = deliver(&s.host, s.integration_id, &session, WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old secret still verifies: {body}");
    let (status, body) = deliver(&s.host, s.integration_id, &session, NEW_SECRET).await;
    assert_eq!(status, StatusCode::OK, "the new secret: {body}");

    // Any edit forgets the cached integration; the next webhook keeps the edited one.
    let (status, body) = send(
        s.host
            .admin(Method::PATCH, &format!("/api/integrations/{}", s.integration_id))
            .json(&json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cached_name = || s.host.app.integration_cache.get(s.integration_id).map(|entry| entry.row.name.clone());
    assert_eq!(cached_name(), None, "the edit forgot the cached integration");
    let (status, _) = deliver(&s.host, s.integration_id, &session, NEW_SECRET).await;
    assert_eq!(status, StatusCode::OK);
    assert!(on_postgres() || cached_name().as_deref() == Some("Renamed"), "{:?}", cached_name());

    // Deleted: its webhook URL is gone at once.
    let other = s.host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials(WEBHOOK_SECRET)).await;
    let (status, body) = deliver(&s.host, other, "pay_none", WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::OK, "an unmatched event is answered: {body}");
    let (status, body) = send(s.host.admin(Method::DELETE, &format!("/api/integrations/{other}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = deliver(&s.host, other, "pay_none", WEBHOOK_SECRET).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
}

fn credentials(webhook_secret: &str) -> Value {
    json!({
        "mygateway_api_key": e2e::scenario::API_KEY,
        "mygateway_secret_key": e2e::scenario::SECRET_KEY,
        "mygateway_webhook_secret": webhook_secret,
    })
}

/// Host B caches the integration from its own webhooks; the secret is rotated through host
/// A. B verifies with the new secret within a second (its follower compares the count of
/// committed edits every 250 ms) and refuses the old one from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_through_one_host_reaches_the_webhooks_of_another_within_a_second() {
    if !on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let (_, session) = s.captured("5.00", 1).await;
    let shared = tempfile::tempdir().unwrap().keep();
    e2e::database::share(&s.host.dir, &shared);
    let b = TestHost::start(HostOptions {
        dir: Some(shared),
        bare: true,
        endpoints: vec![s.fake.endpoint_flag()],
        ..HostOptions::default()
    })
    .await;
    // B serves the integration from its cache (a hit), bounded in count.
    for attempt in 0.. {
        let (status, body) = deliver(&b, s.integration_id, &session, WEBHOOK_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if lookups(&b, "hit").await >= 1.0 {
            break;
        }
        assert!(attempt < 50, "B never served a webhook from its cache");
    }

    set_webhook_secret(&s.host, s.integration_id, NEW_SECRET).await;
    let rotated = Instant::now();
    loop {
        let (status, body) = deliver(&b, s.integration_id, &session, NEW_SECRET).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(rotated.elapsed() < Duration::from_secs(1), "B still verifies with the old secret after 1 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = deliver(&b, s.integration_id, &session, WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "B still takes the old secret: {body}");
}

/// A webhook secret of 900 KiB (a PUT body may hold 1 MiB): set, it verifies webhooks, but the
/// integration is never kept in memory (each webhook reads it again) and the old secret is
/// refused.
#[tokio::test]
async fn a_huge_credential_verifies_webhooks_but_is_never_kept() {
    let s = MyGatewayScenario::start().await;
    let (_, session) = s.captured("5.00", 1).await;
    let huge = "w".repeat(900 * 1024);
    set_webhook_secret(&s.host, s.integration_id, &huge).await;
    let misses_before = lookups(&s.host, "miss").await;
    for attempt in 0..2 {
        let (status, body) = deliver(&s.host, s.integration_id, &session, &huge).await;
        assert_eq!(status, StatusCode::OK, "attempt {attempt}: {body}");
        assert!(!body.to_string().contains("wwwwwwww"), "{body}");
        assert!(s.host.app.integration_cache.get(s.integration_id).is_none(), "a 900 KiB integration was kept");
    }
    assert_eq!(lookups(&s.host, "miss").await - misses_before, 2.0, "each webhook read it again");
    let (status, _) = deliver(&s.host, s.integration_id, &session, WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let app = &s.host.app;
    let stored = integrations_host::store::credentials::all(app.db.read(), &app.keys, s.integration_id).await.unwrap();
    assert_eq!(stored["mygateway_webhook_secret"].value.as_str(), huge, "stored whole");
}
