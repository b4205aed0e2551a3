//! Scheduled sync: a lost webhook is healed by asking the gateway (as Hyperswitch's PSync
//! does), on demand and on the manifest's schedule.

use std::time::Duration;

use e2e::host::{send, HostOptions};
use e2e::scenario::MyGatewayScenario;
use integrations_host::services::scheduled_sync::SyncPolicy;
use integrations_host::store::integrations;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn policy(tick: Duration) -> Option<SyncPolicy> {
    Some(SyncPolicy { tick, grace: Duration::ZERO, ..SyncPolicy::default() })
}

#[tokio::test]
async fn a_lost_webhook_is_healed_by_sync() {
    let s = MyGatewayScenario::start_with(HostOptions {
        sync: policy(Duration::from_secs(3600)),
        ..HostOptions::default()
    })
    .await;
    let paid = s.initiate(json!("15.00"), "Redirect", 60).await["transaction_id"].as_i64().unwrap();
    let open = s.initiate(json!("16.00"), "Redirect", 61).await["transaction_id"].as_i64().unwrap();
    s.fake.set_status(&s.session_id(paid).await, "completed");

    let (status, report) =
        send(s.host.admin(Method::POST, &format!("/api/admin/integrations/{}/sync", s.integration_id))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["checked"].as_i64(), report["changed"].as_i64(), report["failed"].as_i64()),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(s.host.transaction(paid).await["state"], "Captured");
    assert_eq!(s.host.transaction(open).await["state"], "Pending");
    assert_eq!(s.host.payments("Invoice", 60).await.len(), 1);
    let (_, events) = send(s.host.admin(Method::GET, "/api/events")).await;
    let payments = events["events"].as_array().unwrap().iter().filter(|e| e["type"] == "payment.created").count();
    assert_eq!(payments, 1);
    let (_, integration) = send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await;
    assert!(integration["last_synced_date"].is_string());

    let key = s.host.company_key(1).await;
    let (status, _) =
        send(s.host.as_key(&key, Method::POST, &format!("/api/admin/integrations/{}/sync", s.integration_id))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_scheduler_syncs_integrations_whose_manifest_asks() {
    let s = MyGatewayScenario::start_with(HostOptions {
        sync: policy(Duration::from_millis(50)),
        ..HostOptions::default()
    })
    .await;
    let id = s.initiate(json!("9.00"), "Redirect", 62).await["transaction_id"].as_i64().unwrap();
    s.fake.set_status(&s.session_id(id).await, "completed");
    // MyGateway's manifest sets sync_interval_s: 900. The scheduler may already have synced the
    // new integration before the payment existed; keep its last sync 15 minutes old, so a tick
    // is due and captures the payment without any call from here.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.host.transaction(id).await["state"] != "Captured" {
        assert!(std::time::Instant::now() < deadline, "the scheduler never synced: {}", s.host.transaction(id).await);
        let long_ago =
            (chrono::Utc::now() - chrono::Duration::seconds(901)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        e2e::host::write_db(&s.host.app.db, async |c| {
            integrations::set_last_synced(c, s.integration_id, &long_ago).await
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.host.payments("Invoice", 62).await.len(), 1);
}

/// Whether one tick syncs the scenario's integration, synced `recent_minutes` ago, while a
/// second integration of the module, synced `due_minutes` ago, is synced: both have a paid
/// payment the gateway knows of. Waits for the due one's payment to be Captured; returns how
/// often the gateway was asked about the recent one's payment, and that payment's state.
async fn recent_beside_due(policy: SyncPolicy, recent_minutes: i64, due_minutes: i64) -> (usize, String) {
    let s = MyGatewayScenario::start_with(HostOptions { sync: Some(policy), ..HostOptions::default() }).await;
    let minutes_ago = |minutes: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    // The first sync (the new integration is due at once) has finished before the payment
    // exists, so none in flight can ask about it; then its last sync is set `recent_minutes` ago.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while integrations::get(s.host.app.db.read(), s.integration_id).await.unwrap().unwrap().last_synced_date.is_none() {
        assert!(std::time::Instant::now() < deadline, "the scheduler never synced the new integration");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    e2e::host::write_db(&s.host.app.db, async |c| {
        integrations::set_last_synced(c, s.integration_id, &minutes_ago(recent_minutes)).await
    })
    .await;
    let credentials = json!({
        "mygateway_api_key": e2e::scenario::API_KEY, "mygateway_secret_key": e2e::scenario::SECRET_KEY,
    });
    let due = s.host.enabled_integration(e2e::host::ADMIN_KEY, 1, "payment_mygateway", credentials).await;
    let recent_payment = s.initiate(json!("9.00"), "Redirect", 63).await["transaction_id"].as_i64().unwrap();
    let (status, due_payment) = send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": due, "amount": "8.00", "currency": "USD", "return_url": "https://erp.example/r",
        "document_model": "Invoice", "document_id": 64,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{due_payment}");
    let due_payment = due_payment["transaction_id"].as_i64().unwrap();
    let recent_session = s.session_id(recent_payment).await;
    s.fake.set_status(&recent_session, "completed");
    s.fake.set_status(&s.session_id(due_payment).await, "completed");

    // Kept that old until it is synced: a sync that began at the integration's creation (before
    // its payment) may record its own time after this write.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.host.transaction(due_payment).await["state"] != "Captured" {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler never synced the due integration: {}",
            s.host.transaction(due_payment).await
        );
        e2e::host::write_db(&s.host.app.db, async |c| {
            integrations::set_last_synced(c, due, &minutes_ago(due_minutes)).await
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The tick that synced the due integration passed over the recent one, or not.
    let asked = s.fake.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with(&recent_session)).count();
    (asked, s.host.transaction(recent_payment).await["state"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn the_scheduler_leaves_an_integration_synced_within_its_interval() {
    // MyGateway's interval is 900 s: synced a minute ago is not due, 16 minutes ago is.
    let policy = policy(Duration::from_millis(50)).unwrap();
    let (asked, state) = recent_beside_due(policy, 1, 16).await;
    assert_eq!(asked, 0, "an integration synced within its interval was synced again");
    assert_eq!(state, "Pending", "though the gateway would have said it is paid");
}

/// The operator's floor (`--sync-min-interval-s`) holds back an integration its manifest's
/// 900 s would have made due: synced 20 minutes ago, under a 2 h floor, it is passed over while
/// one synced 3 hours ago is synced.
#[tokio::test]
async fn the_operators_floor_on_the_interval_wins_over_the_manifest() {
    let floor = SyncPolicy { min_interval: Duration::from_secs(7200), ..policy(Duration::from_millis(50)).unwrap() };
    let (asked, state) = recent_beside_due(floor, 20, 180).await;
    assert_eq!(asked, 0, "an integration within the operator's floor was synced");
    assert_eq!(state, "Pending");
}

#[tokio::test]
async fn a_retryable_gateway_error_is_asked_again_once_and_a_refusal_is_not() {
    let s = MyGatewayScenario::start_with(HostOptions {
        sync: policy(Duration::from_secs(3600)),
        ..HostOptions::default()
    })
    .await;
    let id = s.initiate(json!("15.00"), "Redirect", 62).await["transaction_id"].as_i64().unwrap();
    let session = s.session_id(id).await;
    s.fake.set_status(&session, "completed");
    let asked = || s.fake.requests_to("GET", &format!("/v1/sessions/{session}")).len();
    let sync = || send(s.host.admin(Method::POST, &format!("/api/admin/integrations/{}/sync", s.integration_id)));

    // MyGateway rate-limits the first ask (429: retryable): the second finds the payment.
    s.fake.fail_next(1, 429, "Too many requests.");
    let (status, report) = sync().await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["changed"].as_i64(), report["failed"].as_i64()), (Some(1), Some(0)), "{report}");
    assert_eq!(asked(), 2, "asked once more after the retryable error");
    assert_eq!(s.host.transaction(id).await["state"], "Captured");

    // Down twice in a row: one retry only, then counted as failed for this pass.
    let other = s.initiate(json!("16.00"), "Redirect", 63).await["transaction_id"].as_i64().unwrap();
    let other_session = s.session_id(other).await;
    s.fake.fail_next(2, 503, "MyGateway is down.");
    let (_, report) = sync().await;
    assert_eq!((report["checked"].as_i64(), report["failed"].as_i64()), (Some(1), Some(1)), "{report}");
    assert_eq!(s.fake.requests_to("GET", &format!("/v1/sessions/{other_session}")).len(), 2);

    // A refusal (401: not retryable) is not asked again.
    s.fake.fail_next(1, 401, "Invalid API key provided.");
    let (_, report) = sync().await;
    assert_eq!(report["failed"].as_i64(), Some(1), "{report}");
    assert_eq!(s.fake.requests_to("GET", &format!("/v1/sessions/{other_session}")).len(), 3, "a refusal was retried");
    assert_eq!(s.host.transaction(other).await["state"], "Pending");
}
