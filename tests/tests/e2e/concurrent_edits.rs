//! Edits of one integration racing each other (two requests, or two hosts on PostgreSQL):
//! each is saved over the revision it read, or read again and reapplied, so none silently
//! undoes another.

use e2e::host::{send, write_db};
use e2e::scenario::MyGatewayScenario;
use futures_util::future::join_all;
use integrations_host::store::integrations;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_patches_and_a_disable_all_land() {
    let s = MyGatewayScenario::start().await;
    let path = format!("/api/integrations/{}", s.integration_id);
    let names: Vec<String> = (0..8).map(|n| format!("name-{n}")).collect();
    let patches = names.iter().enumerate().map(|(n, name)| {
        let body = if n % 2 == 0 { json!({ "name": name }) } else { json!({ "payment_sequence": n }) };
        send(s.host.admin(Method::PATCH, &path).json(&body))
    });
    let disable = send(s.host.admin(Method::POST, &format!("{path}/disable")));
    let (answers, (disabled, body)) = tokio::join!(join_all(patches), disable);
    assert_eq!(disabled, StatusCode::OK, "{body}");
    for (status, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, after) = send(s.host.admin(Method::GET, &path)).await;
    assert_eq!(after["enabled"], false, "no patch wrote back the enabled state it read: {after}");
    assert!(names.iter().step_by(2).any(|name| after["name"] == name.as_str()), "{after}");
    assert!([1, 3, 5, 7].contains(&after["payment_sequence"].as_i64().unwrap()), "{after}");
}

#[tokio::test]
async fn an_edit_over_a_stale_read_is_not_saved() {
    let s = MyGatewayScenario::start().await;
    let read = || async { integrations::get(s.host.app.db.read(), s.integration_id).await.unwrap().unwrap() };
    let (mut first, mut stale) = (read().await, read().await);
    first.name = "first".into();
    assert!(write_db(&s.host.app.db, async |c| integrations::update(c, &first).await).await);
    stale.enabled = 0;
    assert!(!write_db(&s.host.app.db, async |c| integrations::update(c, &stale).await).await, "revision moved on");
    let revision = stale.revision;
    let touched = write_db(&s.host.app.db, async |c| integrations::touch(c, s.integration_id, revision).await).await;
    assert!(!touched, "credentials are not set over a stale read either");
    let now = read().await;
    assert_eq!((now.name.as_str(), now.enabled, now.revision), ("first", 1, first.revision + 1));
}

#[tokio::test]
async fn refused_credentials_leave_no_data_key_behind() {
    let s = MyGatewayScenario::start().await;
    let (status, body) = send(s.host.admin(Method::POST, "/api/integrations").json(&json!({
        "company_id": 3, "module": "payment_mygateway", "name": "third company",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = format!("/api/integrations/{}/credentials", body["id"]);
    let (status, body) = send(s.host.admin(Method::PUT, &path).json(&json!({ "no_such_credential": "x" }))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_credential"))
    );
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE scope = 'company:3'")
        .fetch_one(s.host.app.db.read())
        .await
        .unwrap();
    assert_eq!(keys, 0, "the refused call changed nothing");
    let (status, body) =
        send(s.host.admin(Method::PUT, &path).json(&json!({ "mygateway_api_key": e2e::scenario::API_KEY }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE scope = 'company:3'")
        .fetch_one(s.host.app.db.read())
        .await
        .unwrap();
    assert_eq!(keys, 1, "made with the first value stored");
}
