//! Storage faults (issue 11, points 3 and 4): real SQLite faults switched on under a running
//! host (a full disk, a read-only database, failing commits; `Db::set_storage_fault`) answer
//! 503 `storage_unavailable` (5xx for a failed commit), change nothing half-way, never call a
//! gateway for a transaction that is not stored, and the host serves fully again the moment
//! the fault goes, without a restart. `/readyz` follows the fault.

use std::time::Duration;

use e2e::host::{send, HostOptions};
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use integrations_host::services::scheduled_sync::SyncPolicy;
use integrations_host::store::{transactions, StorageFault};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn fault(s: &MyGatewayScenario, fault: Option<StorageFault>) {
    s.host.app.db.set_storage_fault(fault).await.expect("the fault switches");
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn ready(s: &MyGatewayScenario) -> (StatusCode, Value) {
    send(s.host.public(Method::GET, "/readyz")).await
}

async fn initiate(s: &MyGatewayScenario, document_id: i64, pending_action_data: Value) -> (StatusCode, Value) {
    send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "12.00", "currency": "USD",
        "document_model": "Invoice", "document_id": document_id,
        "return_url": "https://erp.example/invoice", "pending_action_data": pending_action_data,
    })))
    .await
}

async fn refund(s: &MyGatewayScenario, id: i64) -> (StatusCode, Value) {
    send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&json!({}))).await
}

async fn event_count(s: &MyGatewayScenario) -> usize {
    let (status, body) = send(s.host.admin(Method::GET, "/api/events?limit=1000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().len()
}

async fn count(s: &MyGatewayScenario, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(s.host.app.db.read()).await.unwrap()
}

fn session_posts(s: &MyGatewayScenario) -> usize {
    s.fake.requests().iter().filter(|r| r.method == "POST" && r.path == "/v1/sessions").count()
}

/// A Captured transaction (to refund) and a Pending one (for a webhook); returns their ids
/// and the Pending one's session.
async fn captured_and_pending(s: &MyGatewayScenario, pending_action_data: Value) -> (i64, i64, String) {
    let captured = s.initiate(json!("30.00"), "Redirect", 1).await["transaction_id"].as_i64().unwrap();
    let session = s.session_id(captured).await;
    s.fake.set_status(&session, "completed");
    let (status, body) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = initiate(s, 2, pending_action_data).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pending = body["transaction_id"].as_i64().unwrap();
    (captured, pending, s.session_id(pending).await)
}

#[tokio::test]
async fn a_read_only_database_answers_503_changes_nothing_and_recovers_without_restart() {
    if e2e::database::on_postgres() {
        return; // Real SQLite faults on the one writer connection (`Db::set_storage_fault`).
    }
    let s = MyGatewayScenario::start().await;
    let (captured, pending, session) = captured_and_pending(&s, json!({"note": "small"})).await;
    let (status, body) = ready(&s).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")), "{body}");
    let (events, sessions) = (event_count(&s).await, session_posts(&s));

    fault(&s, Some(StorageFault::ReadOnly)).await;
    let (status, body) = ready(&s).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    let (status, body) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    let (status, body) = refund(&s, captured).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    let (status, body) = initiate(&s, 3, json!(null)).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().ends_with('.'), "{body}");

    // Reads still answer, and show that nothing was written half-way.
    let transaction = s.host.transaction(pending).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["webhook_log"].as_array().map(Vec::len)),
        (Some("Pending"), Some(0))
    );
    assert_eq!(s.host.transaction(captured).await["refunded_minor"], 0);
    assert!(s.host.payments("Invoice", 2).await.is_empty());
    assert_eq!((event_count(&s).await, session_posts(&s)), (events, sessions), "no event, no gateway session");
    assert!(s.fake.refunds().is_empty(), "no refund reached the gateway");
    assert_eq!(count(&s, "refunds").await, 0, "no reservation left behind");

    fault(&s, None).await;
    let (status, body) = ready(&s).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.host.transaction(pending).await["state"], "Captured");
    assert_eq!(s.host.payments("Invoice", 2).await.len(), 1);
    let (status, body) = refund(&s, captured).await;
    assert_eq!(
        (status, body["success"].as_bool(), body["state"].as_str()),
        (StatusCode::OK, Some(true), Some("Refunded")),
        "{body}"
    );
    let (status, body) = initiate(&s, 3, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_full_disk_rolls_back_the_webhook_and_the_next_write_succeeds_without_restart() {
    if e2e::database::on_postgres() {
        return; // Real SQLite faults on the one writer connection (`Db::set_storage_fault`).
    }
    let s = MyGatewayScenario::start().await;
    // The Payment's event carries this, so capturing needs pages a full disk does not have.
    let bulky = json!({ "signature_data": { "signature": "A".repeat(64 * 1024), "signed_by": "Ada" } });
    let (captured, pending, session) = captured_and_pending(&s, bulky).await;
    let events = event_count(&s).await;

    fault(&s, Some(StorageFault::Full)).await;
    // SQLite answers SQLITE_FULL inside the write transaction and rolls it back itself; the
    // connection sqlx still counts inside it is replaced, not left refusing every BEGIN.
    for _ in 0..2 {
        let (status, body) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
        assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    }
    assert_eq!(s.host.transaction(pending).await["state"], "Pending");
    assert!(s.host.payments("Invoice", 2).await.is_empty());
    assert_eq!(event_count(&s).await, events);

    fault(&s, None).await;
    let (status, body) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let transaction = s.host.transaction(pending).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["webhook_log"].as_array().map(Vec::len)),
        (Some("Captured"), Some(1))
    );
    assert_eq!(s.host.payments("Invoice", 2).await.len(), 1);
    let (status, body) = refund(&s, captured).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (status, body) = ready(&s).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_failed_commit_during_initiate_calls_no_gateway_and_stores_nothing() {
    if e2e::database::on_postgres() {
        return; // Real SQLite faults on the one writer connection (`Db::set_storage_fault`).
    }
    let s = MyGatewayScenario::start().await;
    let captured = s.initiate(json!("30.00"), "Redirect", 1).await["transaction_id"].as_i64().unwrap();
    let session = s.session_id(captured).await;
    s.fake.set_status(&session, "completed");
    let (status, _) = s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let (transactions_before, sessions) = (count(&s, "transactions").await, session_posts(&s));

    // Every COMMIT fails, also the one that ends the Draft's INSERT … RETURNING.
    fault(&s, Some(StorageFault::FailingCommits)).await;
    let (status, body) = initiate(&s, 5, json!(null)).await;
    assert!(status.is_server_error(), "{status} {body}");
    assert_eq!(session_posts(&s), sessions, "no gateway session for a transaction that is not stored");
    assert_eq!(count(&s, "transactions").await, transactions_before);
    let (status, body) = refund(&s, captured).await;
    assert!(status.is_server_error(), "{status} {body}");
    assert!(s.fake.refunds().is_empty(), "the reservation was not stored, so the gateway was not asked");
    assert_eq!(count(&s, "refunds").await, 0);

    fault(&s, None).await;
    let (status, body) = initiate(&s, 5, json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(session_posts(&s), sessions + 1);
}

#[tokio::test]
async fn an_initiate_whose_gateway_answer_cannot_be_stored_is_left_for_sync() {
    if e2e::database::on_postgres() {
        return; // Real SQLite faults on the one writer connection (`Db::set_storage_fault`).
    }
    let policy = SyncPolicy { tick: Duration::from_secs(3600), grace: Duration::ZERO, ..SyncPolicy::default() };
    let s = MyGatewayScenario::start_with(HostOptions { sync: Some(policy), ..HostOptions::default() }).await;
    s.fake.sessions_hold.hold();
    let started = tokio::spawn({
        let request = s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": s.integration_id, "amount": "9.00", "currency": "USD",
            "return_url": "https://erp.example/invoice",
        }));
        async move { send(request).await }
    });
    // The Draft is stored and the gateway is creating the session; then storage fails.
    s.fake.sessions_hold.arrived(1).await;
    fault(&s, Some(StorageFault::ReadOnly)).await;
    s.fake.sessions_hold.release();
    let (status, body) = started.await.unwrap();
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")), "{body}");
    fault(&s, None).await;

    // The gateway knows the session by our reference; the Draft is still there under it.
    assert_eq!(s.fake.session_count(), 1);
    let reference = s.fake.session("sess_1").reference;
    let draft = transactions::by_reference(s.host.app.db.read(), &reference).await.unwrap().expect("the Draft stays");
    assert_eq!((draft.state.as_str(), draft.gateway_reference.as_deref()), ("Draft", None));

    // A Draft this young may be an initiate still under way: sync leaves it alone.
    let sync = || send(s.host.admin(Method::POST, &format!("/api/admin/integrations/{}/sync", s.integration_id)));
    let (status, report) = sync().await;
    assert_eq!((status, report["checked"].as_i64()), (StatusCode::OK, Some(0)), "{report}");
    // Once no initiate can still be running for it (its deadline and the sandbox wait are
    // past), it is asked about.
    e2e::host::write_db(&s.host.app.db, async |c| {
        sqlx::query("UPDATE transactions SET created_at = '2026-01-01T00:00:00.000Z' WHERE id = $1")
            .bind(draft.id)
            .execute(c)
            .await
    })
    .await;
    let (status, report) = sync().await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["checked"].as_i64(), report["changed"].as_i64()), (Some(1), Some(1)), "{report}");
    let transaction = s.host.transaction(draft.id).await;
    assert_eq!(transaction["state"], "Failed", "{transaction}");
    let message = transaction["error_message"].as_str().unwrap();
    assert!(message.contains("could not store the gateway's answer"), "{message}");
}
