//! No refund is ever sent twice (issue 11, point 2): a refund whose answer never came is in
//! doubt, keeps counting, and is resolved with its own refund id — by the ERP's retry with
//! the same Idempotency-Key and by the host's reconciliation — after a gateway timeout and
//! after the host was killed with SIGKILL while the gateway held the refund. Test hosts
//! reconcile at start and when a test asks (`host::on_demand_refunds`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::child_host::{serve_if_child, ChildHost};
use e2e::fake_mygateway::{FakeMyGateway, HeldRefund, HoldAt};
use e2e::host::{component, manifest, send, HostOptions, TestHost, ADMIN_KEY};
use e2e::scenario::MyGatewayScenario;
use integrations_host::services::refund_reconciliation::ReconcileReport;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The child process of the kill tests: serves a host until killed (nothing in a normal run).
#[tokio::test]
async fn child_host_process() {
    serve_if_child().await;
}

const CHILD_TEST: &str = "refunds_in_doubt::child_host_process";

fn refund_request(host_url: &str, id: i64, key: Option<&str>, body: Value) -> reqwest::RequestBuilder {
    let request = reqwest::Client::new()
        .post(format!("{host_url}/api/online_payment/transaction/{id}/refund"))
        .bearer_auth(ADMIN_KEY)
        .json(&body);
    match key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    }
}

async fn refund(host: &TestHost, id: i64, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    send(refund_request(&host.url, id, key, body)).await
}

async fn count(host: &TestHost, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(host.app.db.read()).await.unwrap()
}

async fn refund_states(host: &TestHost, transaction_id: i64) -> Vec<String> {
    sqlx::query_scalar::<_, String>("SELECT state FROM refunds WHERE transaction_id = $1 ORDER BY id")
        .bind(transaction_id)
        .fetch_all(host.app.db.read())
        .await
        .unwrap()
}

fn gateway_total(fake: &FakeMyGateway, session: &str) -> i64 {
    fake.refunds_of(session).iter().map(|r| r.amount).sum()
}

/// Waits (up to 30 s) until `done` holds for the transaction.
async fn transaction_until(host: &TestHost, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let transaction = host.transaction(id).await;
        if done(&transaction) {
            return transaction;
        }
        assert!(Instant::now() < deadline, "the transaction never got there: {transaction}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// MyGateway with a 2 s call deadline, so a held refund times out (at 1.5 s) within the call.
async fn with_short_deadline(host: &TestHost) {
    let text = manifest("payment_mygateway", "1.1").replace("call_timeout_ms: 10000", "call_timeout_ms: 2000");
    let (status, body) = host.upload_module(&text, component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Asks for a refund MyGateway makes but whose answer it holds past the call's deadline: 502
/// `refund_in_doubt`. The hold lasts until released.
async fn refund_timing_out(
    s: &MyGatewayScenario,
    id: i64,
    session: &str,
    key: Option<&str>,
    amount: &str,
) -> Arc<HeldRefund> {
    let held = s.fake.hold_next_refund(session, HoldAt::AfterRecording);
    let (status, body) = refund(&s.host, id, key, json!({ "amount": amount })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")), "{body}");
    assert_eq!(body["error"]["transaction_id"], id);
    held
}

/// The folder of a scenario's host, kept after the host stops.
struct Stopped {
    dir: PathBuf,
    _kept: Option<tempfile::TempDir>,
    fake: FakeMyGateway,
}

async fn stop(s: MyGatewayScenario) -> Stopped {
    let MyGatewayScenario { host, fake, .. } = s;
    let dir = host.dir.clone();
    Stopped { dir, _kept: host.stop().await, fake }
}

async fn restart(dir: &Path, fake: &FakeMyGateway, takeover: Duration) -> TestHost {
    TestHost::start(HostOptions {
        dir: Some(dir.to_path_buf()),
        endpoints: vec![fake.endpoint_flag()],
        idempotency_takeover: Some(takeover),
        ..HostOptions::default()
    })
    .await
}

/// Ages every Idempotency-Key claim past `takeover`, then retries refund `key` of `amount` on
/// transaction `id` (MyGateway session `session`): it answers the refund's outcome, exactly
/// one refund exists at the gateway, the host's refunded amount equals the gateway's, and both
/// refund POSTs (the first attempt and its one repeat) carried the same refund id.
async fn retry_after_takeover(
    host: &TestHost,
    fake: &FakeMyGateway,
    (id, session): (i64, &str),
    (key, amount): (&str, &str),
    takeover: Duration,
) {
    let old = (chrono::Utc::now() - chrono::Duration::from_std(takeover).unwrap() - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    e2e::host::write_db(&host.app.db, async |c| {
        sqlx::query("UPDATE idempotency_keys SET created_at = $1").bind(&old).execute(c).await
    })
    .await;
    let (status, body) = refund(host, id, Some(key), json!({ "amount": amount })).await;
    assert_eq!(
        (status, body["success"].as_bool(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some(true), Some(amount)),
        "{body}"
    );
    let made = fake.refunds_of(session);
    assert_eq!(made.len(), 1, "exactly one refund at the gateway: {made:?}");
    assert_eq!(body["refund_reference"], made[0].id.as_str());
    assert_eq!(host.transaction(id).await["refunded_minor"].as_i64(), Some(gateway_total(fake, session)));
    let keys: Vec<_> =
        fake.requests_to("POST", "/v1/refunds").into_iter().map(|r| r.idempotency_key().map(str::to_string)).collect();
    assert_eq!(keys.len(), 2, "the first attempt and its one repeat: {keys:?}");
    assert!(keys[0].is_some() && keys[0] == keys[1], "one refund id for both: {keys:?}");
}

#[tokio::test]
async fn a_refund_held_by_the_gateway_when_the_host_is_killed_is_made_once() {
    let s = MyGatewayScenario::start().await;
    let (id, session) = s.captured("100.00", 70).await;
    let stopped = stop(s).await;
    let fake = &stopped.fake;

    // The real server in its own process; MyGateway makes the refund and holds the answer.
    let child = ChildHost::start(CHILD_TEST, &stopped.dir, &[fake.endpoint_flag()]).await;
    let held = fake.hold_next_refund(&session, HoldAt::AfterRecording);
    let request = refund_request(&child.url, id, Some("erp-refund-70"), json!({"amount": "30.00"}));
    let in_flight = tokio::spawn(request.send());
    held.arrived().await;
    child.kill();
    assert!(in_flight.await.unwrap().is_err(), "the ERP never got an answer");
    assert_eq!(gateway_total(fake, &session), 3000, "MyGateway refunded 30.00");

    // Restarted: the claim is young, so the same key is still in progress.
    let takeover = Duration::from_secs(30);
    let host = restart(&stopped.dir, fake, takeover).await;
    let (status, body) = refund(&host, id, Some("erp-refund-70"), json!({"amount": "30.00"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_in_progress")));

    // Reconciliation at start repeats it with the same refund id: MyGateway answers the refund
    // it made, and the host books it.
    let transaction = transaction_until(&host, id, |t| t["refunded_minor"] == 3000).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Captured"), Some("30.00"))
    );
    assert_eq!(refund_states(&host, id).await, ["succeeded"]);

    // Once the claim is older than the takeover time (its clock moved back by more than that),
    // the retry answers the refund's outcome and reserves nothing new.
    retry_after_takeover(&host, fake, (id, &session), ("erp-refund-70", "30.00"), takeover).await;
    assert_eq!(count(&host, &format!("SELECT COUNT(*) FROM refunds WHERE transaction_id = {id}")).await, 1);
    held.release();
}

/// The ERP's retry after the takeover time, while the refund is still in doubt (reconciliation
/// leaves it alone: it is younger than its settle time): the retry itself repeats the refund
/// with its own refund id, books what MyGateway answers, and reserves nothing new.
#[tokio::test]
async fn a_retry_taking_over_a_claim_still_in_doubt_repeats_the_refund_with_its_own_id() {
    let s = MyGatewayScenario::start().await;
    let (id, session) = s.captured("100.00", 73).await;
    let stopped = stop(s).await;
    let fake = &stopped.fake;

    let child = ChildHost::start(CHILD_TEST, &stopped.dir, &[fake.endpoint_flag()]).await;
    let held = fake.hold_next_refund(&session, HoldAt::AfterRecording);
    let in_flight =
        tokio::spawn(refund_request(&child.url, id, Some("erp-refund-73"), json!({"amount": "40.00"})).send());
    held.arrived().await;
    child.kill();
    assert!(in_flight.await.unwrap().is_err(), "the ERP never got an answer");
    held.release();

    let takeover = Duration::from_secs(30);
    let host = TestHost::start(HostOptions {
        dir: Some(stopped.dir.clone()),
        endpoints: vec![fake.endpoint_flag()],
        idempotency_takeover: Some(takeover),
        // Reconciliation at start leaves the refund alone: it may still be under way.
        refunds: Some(integrations_host::services::refund_reconciliation::RefundPolicy {
            reconcile_every: Duration::from_secs(3600),
            settle: Duration::from_secs(3600),
            ..Default::default()
        }),
        ..HostOptions::default()
    })
    .await;
    assert_eq!(host.app.reconcile_refunds().await.unwrap(), ReconcileReport::default(), "too young to repeat");
    // Reserved and sent, its answer never stored: unresolved, not released.
    assert_eq!(refund_states(&host, id).await, ["pending"]);
    assert_eq!(host.transaction(id).await["refunded_minor"], 0, "nothing booked yet");

    retry_after_takeover(&host, fake, (id, &session), ("erp-refund-73", "40.00"), takeover).await;
    assert_eq!(refund_states(&host, id).await, ["succeeded"]);
}

#[tokio::test]
async fn reconciliation_at_start_books_a_lost_answer_and_releases_a_refund_never_received() {
    let s = MyGatewayScenario::start().await;
    let (made_id, made_session) = s.captured("50.00", 71).await;
    let (lost_id, lost_session) = s.captured("20.00", 72).await;
    let stopped = stop(s).await;
    let fake = &stopped.fake;

    let child = ChildHost::start(CHILD_TEST, &stopped.dir, &[fake.endpoint_flag()]).await;
    // MyGateway makes the first refund but its answer outlives the host; the second request
    // never gets past MyGateway's door.
    let made = fake.hold_next_refund(&made_session, HoldAt::AfterRecording);
    let lost = fake.hold_next_refund(&lost_session, HoldAt::BeforeRecording);
    let first = tokio::spawn(refund_request(&child.url, made_id, Some("erp-71"), json!({"amount": "50.00"})).send());
    let second = tokio::spawn(refund_request(&child.url, lost_id, None, json!({})).send());
    made.arrived().await;
    lost.arrived().await;
    child.kill();
    assert!(first.await.unwrap().is_err() && second.await.unwrap().is_err());

    let host = restart(&stopped.dir, fake, Duration::from_secs(300)).await;
    let booked = transaction_until(&host, made_id, |t| t["state"] == "Refunded").await;
    assert_eq!(booked["refunded_amount"], "50.00");
    assert_eq!(fake.refunds_of(&made_session).len(), 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !refund_states(&host, lost_id).await.is_empty() {
        assert!(Instant::now() < deadline, "the refund MyGateway never received was not released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let untouched = host.transaction(lost_id).await;
    assert_eq!((untouched["state"].as_str(), untouched["refunded_amount"].as_str()), (Some("Captured"), Some("0.00")));
    assert!(fake.refunds_of(&lost_session).is_empty(), "reconciliation did not make it on its own");

    // Released, its amount can be refunded again, once.
    let (status, body) = refund(&host, lost_id, None, json!({})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("20.00")), "{body}");
    assert_eq!(gateway_total(fake, &lost_session), 2000);
    made.release();
    lost.release();
}

#[tokio::test]
async fn a_gateway_timeout_leaves_the_refund_in_doubt_until_reconciliation_books_it() {
    let s = MyGatewayScenario::start().await;
    with_short_deadline(&s.host).await;
    let (id, session) = s.captured("100.00", 73).await;

    let held = refund_timing_out(&s, id, &session, None, "30.00").await;
    assert_eq!(refund_states(&s.host, id).await, ["in_doubt"]);
    let transaction = s.host.transaction(id).await;
    assert_eq!(transaction["refunded_amount"], "0.00");
    // The transaction shows it as pending: the host will ask again.
    let shown = &transaction["refunds"];
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{transaction}");
    assert_eq!((shown[0]["state"].as_str(), shown[0]["amount"].as_str()), (Some("pending"), Some("30.00")));
    assert_eq!(shown[0]["refund_reference"], Value::Null);

    // The refund in doubt still counts: all that is left is 70.00, and then nothing.
    let (status, body) = refund(&s.host, id, None, json!({})).await;
    assert_eq!((status, body["refunded_amount"].as_str()), (StatusCode::OK, Some("70.00")), "{body}");
    let (status, body) = refund(&s.host, id, None, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("refund_exceeds_remaining")),
        "{body}"
    );
    assert_eq!(gateway_total(&s.fake, &session), 10000, "MyGateway made both");

    // First tried more than 23 h ago, MyGateway may have forgotten its key: it is not repeated.
    let set_created = |at: String| {
        e2e::host::write_db(&s.host.app.db, async |c| {
            sqlx::query("UPDATE refunds SET created_at = $1 WHERE state = 'in_doubt'").bind(at).execute(c).await
        })
    };
    let long_ago =
        (chrono::Utc::now() - chrono::Duration::hours(24)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    set_created(long_ago).await;
    let report = s.host.app.reconcile_refunds().await.unwrap();
    assert_eq!(report, ReconcileReport { skipped: 1, ..ReconcileReport::default() });
    assert_eq!(s.fake.requests_to("POST", "/v1/refunds").len(), 2, "not repeated");
    assert_eq!(refund_states(&s.host, id).await, ["in_doubt", "succeeded"]);

    set_created(integrations_host::store::now()).await;
    let report = s.host.app.reconcile_refunds().await.unwrap();
    assert_eq!(report, ReconcileReport { booked: 1, ..ReconcileReport::default() });
    let transaction = s.host.transaction(id).await;
    assert_eq!(
        (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
        (Some("Refunded"), Some("100.00"))
    );
    assert_eq!(s.fake.refunds_of(&session).len(), 2, "the repeat made nothing new");
    assert_eq!(transaction["refunded_minor"].as_i64(), Some(gateway_total(&s.fake, &session)));
    let shown: Vec<(&str, &str, bool)> = transaction["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["state"].as_str().unwrap(), r["amount"].as_str().unwrap(), r["refund_reference"].is_string()))
        .collect();
    assert_eq!(shown, [("succeeded", "30.00", true), ("succeeded", "70.00", true)], "{transaction}");
    assert_eq!(s.host.app.reconcile_refunds().await.unwrap(), ReconcileReport::default(), "nothing left in doubt");
    held.release();
}

#[tokio::test]
async fn a_retry_with_the_same_key_resolves_a_refund_in_doubt_at_once() {
    let s = MyGatewayScenario::start().await;
    with_short_deadline(&s.host).await;
    let (id, session) = s.captured("40.00", 74).await;

    let held = refund_timing_out(&s, id, &session, Some("erp-74"), "15.00").await;
    // The key names that refund: another amount under it is refused, nothing is reserved.
    let (status, body) = refund(&s.host, id, Some("erp-74"), json!({"amount": "16.00"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_reused")),
        "{body}"
    );
    assert_eq!(refund_states(&s.host, id).await, ["in_doubt"]);

    let (status, body) = refund(&s.host, id, Some("erp-74"), json!({"amount": "15.00"})).await;
    assert_eq!(
        (status, body["success"].as_bool(), body["refunded_amount"].as_str()),
        (StatusCode::OK, Some(true), Some("15.00")),
        "{body}"
    );
    let made = s.fake.refunds_of(&session);
    assert_eq!((made.len(), body["refund_reference"].as_str()), (1, Some(made[0].id.as_str())));
    let response = refund_request(&s.host.url, id, Some("erp-74"), json!({"amount": "15.00"})).send().await.unwrap();
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    assert_eq!(s.fake.refunds_of(&session).len(), 1);
    assert_eq!(s.host.app.reconcile_refunds().await.unwrap(), ReconcileReport::default());
    held.release();
}

#[tokio::test]
async fn mygateway_gets_the_reference_and_the_refund_id_as_idempotency_keys() {
    let s = MyGatewayScenario::start().await;
    let (id, session) = s.captured("25.00", 75).await;
    let reference = s.host.transaction(id).await["reference"].as_str().unwrap().to_string();
    let sessions = s.fake.requests_to("POST", "/v1/sessions");
    assert_eq!(sessions[0].idempotency_key(), Some(reference.as_str()));

    let (status, _) = refund(&s.host, id, None, json!({"amount": "5.00"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = refund(&s.host, id, None, json!({"amount": "5.00"})).await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<String> = s
        .fake
        .requests_to("POST", "/v1/refunds")
        .into_iter()
        .map(|r| r.idempotency_key().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.starts_with(&format!("{reference}-R"))), "{keys:?}");
    assert_ne!(keys[0], keys[1], "two refunds, two refund ids");
    assert_eq!(gateway_total(&s.fake, &session), 1000);

    // The fake deduplicates as MyGateway does: the same key answers the first answer.
    let client = reqwest::Client::new();
    let again = || {
        client
            .post(format!("{}/v1/refunds", s.fake.url))
            .bearer_auth(e2e::scenario::SECRET_KEY)
            .header("Idempotency-Key", &keys[0])
            .json(&json!({"payment_id": session, "amount": 500}))
    };
    let (status, body) = send(again()).await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some(s.fake.refunds_of(&session)[0].id.as_str())));
    assert_eq!(gateway_total(&s.fake, &session), 1000, "nothing made twice");
    let listed = send(
        client.get(format!("{}/v1/refunds?payment_id={session}", s.fake.url)).bearer_auth(e2e::scenario::SECRET_KEY),
    )
    .await;
    assert_eq!(listed.1["data"].as_array().map(Vec::len), Some(2), "{}", listed.1);
}
