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
    Some(SyncPolicy { tick, grace: Duration::ZERO })
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
        assert!(std::time::Instant::now() < deadline, "the scheduler never synced");
        let long_ago =
            (chrono::Utc::now() - chrono::Duration::seconds(901)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        integrations::set_last_synced(s.host.app.db.pool(), s.integration_id, &long_ago).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.host.payments("Invoice", 62).await.len(), 1);
}
