//! Several hosts on one PostgreSQL database (API.md §3 "Several hosts, one database"). Each
//! test returns at once on SQLite, whose file has one host.

use std::time::{Duration, Instant};

use e2e::database::on_postgres;
use e2e::host::{component, manifest, HostOptions, TestHost};
use e2e::scenario::MyGatewayScenario;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A second host on the database of `s`'s host: its own folder naming the same database, the
/// same master key, no modules of its own.
pub(crate) async fn second_host(s: &MyGatewayScenario) -> TestHost {
    second_host_with(s, HostOptions::default()).await
}

async fn second_host_with(s: &MyGatewayScenario, options: HostOptions) -> TestHost {
    let dir = sharing_the_database_of(&s.host.dir);
    TestHost::start(HostOptions { dir: Some(dir), bare: true, endpoints: vec![s.fake.endpoint_flag()], ..options })
        .await
}

/// A new host folder naming the database of the host in `dir`, with the same master key.
fn sharing_the_database_of(dir: &std::path::Path) -> std::path::PathBuf {
    let shared_dir = tempfile::tempdir().unwrap().keep();
    e2e::database::share(dir, &shared_dir);
    shared_dir
}

/// An event endpoint for every event type, signed with `e2e::event_receiver::ENDPOINT_SECRET`.
async fn add_event_endpoint(host: &TestHost, url: &str) {
    let (status, body) = e2e::host::send(
        host.admin(Method::POST, "/api/admin/event_endpoints")
            .json(&json!({ "url": url, "secret": e2e::event_receiver::ENDPOINT_SECRET })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The module version that served an initiate on `host`, from `Integrations-Module`.
async fn served_by(host: &TestHost, integration_id: i64) -> String {
    let response = host
        .admin(Method::POST, "/api/online_payment/initiate")
        .json(&json!({"integration_id": integration_id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.headers()["integrations-module"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_upgraded_through_one_host_serves_the_next_call_on_another_within_2_s() {
    if !on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let b = second_host(&s).await;
    assert_eq!(served_by(&b, s.integration_id).await, "payment_mygateway@1.0", "B restored A's module at start");

    let (status, body) =
        s.host.upload_module(&manifest("payment_mygateway", "1.5"), component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let upgraded = Instant::now();
    loop {
        let served = served_by(&b, s.integration_id).await;
        if served == "payment_mygateway@1.5" {
            break;
        }
        assert!(upgraded.elapsed() < Duration::from_secs(2), "B still serves {served} after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Uninstalled through A: B refuses its payments too, within 2 s.
    let (status, _) = e2e::host::send(s.host.admin(Method::DELETE, "/api/admin/modules/payment_mygateway")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let uninstalled = Instant::now();
    loop {
        let (status, body) = e2e::host::send(b.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": s.integration_id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
        })))
        .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(body["error"]["message"].as_str().unwrap().contains("is not installed"), "{body}");
            break;
        }
        assert!(
            uninstalled.elapsed() < Duration::from_secs(2),
            "B still serves the uninstalled module: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Scheduled sync with both hosts ticking every 50 ms: each integration is claimed by one host
/// per interval, so the gateway is asked about a due transaction once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_sync_asks_the_gateway_once_with_two_hosts_running() {
    use integrations_host::services::scheduled_sync::SyncPolicy;
    if !on_postgres() {
        return;
    }
    let fast = || Some(SyncPolicy { tick: Duration::from_millis(50), grace: Duration::ZERO, ..SyncPolicy::default() });
    let s = MyGatewayScenario::start_with(HostOptions { sync: fast(), ..HostOptions::default() }).await;
    let b = second_host_with(&s, HostOptions { sync: fast(), ..HostOptions::default() }).await;
    // The new integration's first sync (by either host) has found nothing yet.
    let pool = s.host.app.db.read();
    let deadline = Instant::now() + Duration::from_secs(20);
    let last_synced = || async {
        integrations_host::store::integrations::get(pool, s.integration_id).await.unwrap().unwrap().last_synced_date
    };
    while last_synced().await.is_none() {
        assert!(Instant::now() < deadline, "never synced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = s.initiate(json!("7.00"), "Redirect", 70).await["transaction_id"].as_i64().unwrap();
    let session = s.session_id(id).await;
    s.fake.set_status(&session, "completed");
    // Due for both hosts at once: its last sync an interval (900 s) ago.
    let long_ago =
        (chrono::Utc::now() - chrono::Duration::seconds(901)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    e2e::host::write_db(&s.host.app.db, async |c| {
        integrations_host::store::integrations::set_last_synced(c, s.integration_id, &long_ago).await
    })
    .await;
    while s.host.transaction(id).await["state"] != "Captured" {
        assert!(Instant::now() < deadline, "the scheduler never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both hosts kept ticking for a while after the capture.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = s.fake.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with(&session)).count();
    assert_eq!(asked, 1, "one host asked, once");
    assert_eq!(s.host.payments("Invoice", 70).await.len(), 1);
    drop(b);
}

/// Both hosts deliver events to one ERP endpoint: each delivery is leased by one host, so
/// every event arrives once, signed, and in order per subject, whichever host took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_delivered_once_with_two_hosts_delivering() {
    use e2e::event_receiver::EventReceiver;
    if !on_postgres() {
        return;
    }
    let receiver = EventReceiver::start(0).await;
    let s = MyGatewayScenario::start().await;
    let b = second_host(&s).await;
    add_event_endpoint(&s.host, &receiver.url).await;
    // Six payments, started and captured through either host in turn.
    for document in 0..6 {
        let host = if document % 2 == 0 { &s.host } else { &b };
        let (status, started) =
            e2e::host::send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
                "integration_id": s.integration_id, "amount": "3.00", "currency": "USD",
                "return_url": "https://erp.example/r", "document_model": "Invoice", "document_id": 100 + document,
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{started}");
        let session = s.session_id(started["transaction_id"].as_i64().unwrap()).await;
        let body = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
        let signature = e2e::hmac_sha256_hex(e2e::scenario::WEBHOOK_SECRET, body.as_bytes());
        let other = if document % 2 == 0 { &b } else { &s.host };
        let (status, _) = e2e::host::send(
            other
                .public(Method::POST, &format!("/payment/webhook/{}", s.integration_id))
                .header("X-MyGateway-Signature", signature)
                .body(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, page) = e2e::host::send(s.host.admin(Method::GET, "/api/events?limit=1000")).await;
    let events: Vec<i64> = page["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(events.len() >= 12, "{page}");
    let delivered = receiver.wait_for_delivered(events.len()).await;
    let requests = receiver.requests();
    assert!(requests.iter().all(|(_, valid, _)| *valid), "every delivery signed");
    let mut ids: Vec<i64> = delivered.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(requests.len(), events.len(), "no event delivered twice: {ids:?}");
    // In order per subject: each subject's events arrive by increasing id.
    let mut last_by_subject = std::collections::HashMap::new();
    for event in &delivered {
        let subject = event["data"]["transaction_id"].to_string();
        let id = event["id"].as_i64().unwrap();
        if let Some(previous) = last_by_subject.insert(subject.clone(), id) {
            assert!(previous < id, "subject {subject}: {previous} arrived before {id}");
        }
    }
    ids.sort();
    let mut expected = events.clone();
    expected.sort();
    assert_eq!(ids, expected);
}

/// Concurrent partial refunds spread across both hosts never exceed the capture, and the
/// gateway made exactly the refunds the hosts booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_across_both_hosts_never_exceed_the_capture() {
    if !on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let b = second_host(&s).await;
    let (id, session) = s.captured("30.00", 80).await;
    let refund = |host: &TestHost| {
        e2e::host::send(
            host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
                .json(&json!({"amount": "4.00"})),
        )
    };
    // Ten refunds of 4.00 against 30.00: seven fit.
    let answers = futures_util::future::join_all((0..10).map(|n| refund(if n % 2 == 0 { &s.host } else { &b }))).await;
    let made = answers.iter().filter(|(status, body)| *status == StatusCode::OK && body["success"] == true).count();
    assert_eq!(made, 7, "{answers:?}");
    assert_eq!(s.fake.refunds(), vec![(session, 400); 7], "the gateway made exactly the booked refunds");
    for host in [&s.host, &b] {
        let transaction = host.transaction(id).await;
        assert_eq!(
            (transaction["refunded_minor"].as_i64(), transaction["state"].as_str()),
            (Some(2800), Some("Captured"))
        );
    }
}

/// A refund in doubt, reconciled by both hosts' passes at once: one host settles it, the
/// other leaves it (here the gateway never received it, so it is released, once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_in_doubt_is_settled_by_one_host_when_both_reconcile() {
    if !on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let b = second_host(&s).await;
    let (id, _) = s.captured("12.00", 90).await;
    s.fake.set_outage(Some((503, "maintenance")));
    let (status, body) = e2e::host::send(
        s.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .json(&json!({"amount": "5.00"})),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")), "{body}");
    s.fake.set_outage(None);

    let (first, second) = tokio::join!(s.host.app.reconcile_refunds(), b.app.reconcile_refunds());
    let (first, second) = (first.unwrap(), second.unwrap());
    let acted = |r: &integrations_host::services::refund_reconciliation::ReconcileReport| {
        r.booked + r.refused + r.released + r.in_doubt
    };
    assert_eq!((acted(&first) + acted(&second), first.skipped + second.skipped), (1, 1), "{first:?} {second:?}");
    assert_eq!(first.released + second.released, 1, "the gateway never received it");
    assert_eq!(s.fake.requests_to("POST", "/v1/refunds").len(), 1, "never repeated");
    assert!(s.fake.refunds().is_empty());
    let (status, body) = e2e::host::send(
        b.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .json(&json!({"amount": "12.00"})),
    )
    .await;
    assert_eq!(
        (status, body["success"].as_bool()),
        (StatusCode::OK, Some(true)),
        "released, so all of it is left: {body}"
    );
}

/// The host process of the kill -9 test (see `e2e::child_host`).
#[tokio::test]
async fn child_host_process() {
    e2e::child_host::serve_if_child().await;
}

const CHILD_TEST: &str = "several_hosts::child_host_process";

/// Two host processes on one database, a storm of duplicated signed webhooks spread across
/// both, one killed with SIGKILL mid-storm and restarted: every transaction Captured, one
/// Payment and one `payment.created` each, every event delivered, in order per subject, and an
/// event seen twice only if the killed host was delivering it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_storm_across_two_processes_survives_a_kill_9() {
    use e2e::child_host::{ChildHost, DELIVERY_TIMEOUT_VAR};
    use e2e::event_receiver::EventReceiver;
    if !on_postgres() {
        return;
    }
    const PAYMENTS: i64 = 8;
    const COPIES: usize = 6;
    let receiver = EventReceiver::start(0).await;
    // Set up through an in-process host: the module, the integration, the endpoint, the payments.
    let s = MyGatewayScenario::start().await;
    add_event_endpoint(&s.host, &receiver.url).await;
    let mut sessions = Vec::new();
    for document in 0..PAYMENTS {
        let id = s.initiate(json!("2.50"), "Redirect", 200 + document).await["transaction_id"].as_i64().unwrap();
        sessions.push((id, s.session_id(id).await));
    }
    let integration_id = s.integration_id;
    let MyGatewayScenario { host, fake, .. } = s;
    let dir_a = host.dir.clone();
    let _kept = host.stop().await;
    let dir_b = sharing_the_database_of(&dir_a);
    let env = [(DELIVERY_TIMEOUT_VAR, "1000".to_string())];
    let endpoints = [fake.endpoint_flag()];
    let mut a = ChildHost::start_with(CHILD_TEST, &dir_a, &endpoints, &env).await;
    let b = ChildHost::start_with(CHILD_TEST, &dir_b, &endpoints, &env).await;
    let client = reqwest::Client::new();
    let storm = |urls: Vec<String>, batch: &[(i64, String)]| {
        let requests = batch.iter().flat_map(|(_, session)| {
            let body = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
            let signature = e2e::hmac_sha256_hex(e2e::scenario::WEBHOOK_SECRET, body.as_bytes());
            (0..COPIES).map(move |copy| (copy, body.clone(), signature.clone()))
        });
        let sends: Vec<_> = requests
            .map(|(copy, body, signature)| {
                let url = format!("{}/payment/webhook/{integration_id}", urls[copy % urls.len()]);
                client.post(url).header("X-MyGateway-Signature", signature).body(body).send()
            })
            .collect();
        futures_util::future::join_all(sends)
    };
    let (first_half, second_half) = sessions.split_at(sessions.len() / 2);
    let answers = storm(vec![a.url.clone(), b.url.clone()], first_half).await;
    assert!(answers.iter().all(|answer| answer.as_ref().is_ok_and(|r| r.status() == StatusCode::OK)));
    // Host A dies while the second half is being sent to both.
    let sending = storm(vec![a.url.clone(), b.url.clone()], second_half);
    let (answers, ()) = tokio::join!(sending, async {
        a.kill_now();
    });
    // What reached A before it died may be lost in flight; B answered its own share.
    let lost = answers.iter().filter(|answer| !answer.as_ref().is_ok_and(|r| r.status() == StatusCode::OK)).count();
    assert!(lost <= second_half.len() * COPIES / 2 + 1, "only A's share can be lost: {lost}");
    a = ChildHost::start_with(CHILD_TEST, &dir_a, &endpoints, &env).await;
    // The gateway repeats what was not acknowledged, to either host.
    let answers = storm(vec![a.url.clone(), b.url.clone()], second_half).await;
    assert!(answers.iter().all(|answer| answer.as_ref().is_ok_and(|r| r.status() == StatusCode::OK)));

    let admin = |url: &str| client.get(url).bearer_auth(e2e::host::ADMIN_KEY);
    for (id, _) in &sessions {
        let transaction: serde_json::Value = admin(&format!("{}/api/online_payment/transaction/{id}", b.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(transaction["state"], "Captured", "{transaction}");
    }
    let page: serde_json::Value =
        admin(&format!("{}/api/events?limit=1000", a.url)).send().await.unwrap().json().await.unwrap();
    let events = page["events"].as_array().unwrap();
    for (id, _) in &sessions {
        let created =
            events.iter().filter(|e| e["type"] == "payment.created" && e["data"]["transaction_id"] == *id).count();
        assert_eq!(created, 1, "one payment.created for transaction {id}");
    }
    let delivered = receiver.wait_for_each_delivered(events.len()).await;
    let mut seen = std::collections::HashMap::new();
    for event in &delivered {
        *seen.entry(event["id"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), events.len(), "every event delivered");
    let twice = seen.values().filter(|count| **count > 1).count();
    assert!(twice <= 1, "only the delivery A held when it died may come twice: {seen:?}");
    let mut last_by_subject = std::collections::HashMap::new();
    for event in &delivered {
        let subject = event["data"]["transaction_id"].to_string();
        let id = event["id"].as_i64().unwrap();
        let previous = last_by_subject.insert(subject.clone(), id).unwrap_or(0);
        assert!(previous <= id, "subject {subject}: {previous} arrived before {id}");
    }
    drop(b);
}

/// Group commit under SIGKILL (SQLite): a storm of duplicated signed webhooks whose writes
/// share COMMITs, the host killed mid-storm. Every webhook answered 200 before the kill is
/// stored after the restart, and the gateway's repeats then leave every transaction Captured
/// with one `payment.created` each. (The kill rarely meets an open batch, so that an answer
/// waits for its COMMIT is pinned by `store::sqlite::batch`'s unit tests, not here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_answered_before_a_kill_9_are_stored_when_their_commit_was_shared() {
    use e2e::child_host::ChildHost;
    if on_postgres() {
        return;
    }
    const PAYMENTS: i64 = 16;
    const COPIES: usize = 4;
    let s = MyGatewayScenario::start().await;
    let mut sessions = Vec::new();
    for document in 0..PAYMENTS {
        let id = s.initiate(json!("3.10"), "Redirect", 300 + document).await["transaction_id"].as_i64().unwrap();
        sessions.push((id, s.session_id(id).await));
    }
    let integration_id = s.integration_id;
    let MyGatewayScenario { host, fake, .. } = s;
    let dir = host.dir.clone();
    let _kept = host.stop().await;
    let endpoints = [fake.endpoint_flag()];
    let mut child = ChildHost::start_with(CHILD_TEST, &dir, &endpoints, &[]).await;
    let client = reqwest::Client::new();
    let storm = |url: String| {
        let sends: Vec<_> = sessions
            .iter()
            .flat_map(|(id, session)| {
                let body = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
                let signature = e2e::hmac_sha256_hex(e2e::scenario::WEBHOOK_SECRET, body.as_bytes());
                let url = format!("{url}/payment/webhook/{integration_id}");
                let client = client.clone();
                (0..COPIES).map(move |_| {
                    let send = client
                        .post(url.clone())
                        .header("X-MyGateway-Signature", signature.clone())
                        .body(body.clone())
                        .send();
                    async move { (*id, send.await.is_ok_and(|r| r.status() == StatusCode::OK)) }
                })
            })
            .collect::<Vec<_>>();
        sends
    };
    // Killed once a quarter of the webhooks are answered, while the rest are in flight.
    let mut sending: futures_util::stream::FuturesUnordered<_> = storm(child.url.clone()).into_iter().collect();
    let mut acknowledged = std::collections::BTreeSet::new();
    let mut answered = 0;
    while let Some((id, ok)) = futures_util::StreamExt::next(&mut sending).await {
        answered += 1;
        if ok {
            acknowledged.insert(id);
        }
        if answered == sessions.len() * COPIES / 4 {
            child.kill_now();
        }
    }
    assert!(!acknowledged.is_empty(), "some webhooks were answered before the kill");

    let child = ChildHost::start_with(CHILD_TEST, &dir, &endpoints, &[]).await;
    let admin = |path: String| client.get(format!("{}{path}", child.url)).bearer_auth(e2e::host::ADMIN_KEY);
    for id in &acknowledged {
        let transaction: serde_json::Value =
            admin(format!("/api/online_payment/transaction/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(transaction["state"], "Captured", "answered 200 before the kill: {transaction}");
    }
    let answers = futures_util::future::join_all(storm(child.url.clone())).await;
    assert!(answers.iter().all(|(_, ok)| *ok), "every repeat is answered 200");
    let page: serde_json::Value = admin("/api/events?limit=1000".into()).send().await.unwrap().json().await.unwrap();
    let events = page["events"].as_array().unwrap();
    for (id, _) in &sessions {
        let transaction: serde_json::Value =
            admin(format!("/api/online_payment/transaction/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(transaction["state"], "Captured", "{transaction}");
        let created =
            events.iter().filter(|e| e["type"] == "payment.created" && e["data"]["transaction_id"] == *id).count();
        assert_eq!(created, 1, "one payment.created for transaction {id}");
    }
}

/// Opens the keyring of `key_file` on `db` (as a host's start does) and wraps a data key with
/// it; the master key's fingerprint when both worked.
async fn open_and_wrap(db: &integrations_host::store::Db, key_file: &std::path::Path, company: i64) -> Option<String> {
    use integrations_host::secrets::{Keyring, Scope};
    let keyring = Keyring::open(db, Some(key_file)).await.ok()?;
    keyring.data_key(Scope::Company(company)).await.ok()?;
    Some(keyring.master_key().id().0.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_starting_on_an_empty_database_with_different_keys_never_mix_them() {
    if !on_postgres() {
        return;
    }
    for round in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let url = e2e::database::url_for(dir.path()).await;
        let a = integrations_host::store::Db::connect(&url).await.unwrap();
        let b = integrations_host::store::Db::connect(&url).await.unwrap();
        let (a_key, b_key) = (dir.path().join("a.key"), dir.path().join("b.key"));
        let (a_wrapped, b_wrapped) = tokio::join!(open_and_wrap(&a, &a_key, 1), open_and_wrap(&b, &b_key, 2));
        let recorded: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'master_key_id'")
            .fetch_one(a.read())
            .await
            .unwrap();
        let wrappers: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT master_key_id FROM data_keys").fetch_all(a.read()).await.unwrap();
        // Whichever host lost, every data key is under the one key the database records, and
        // the host whose key that is could wrap.
        assert_eq!(wrappers.len(), 1, "round {round}: data keys under {wrappers:?}");
        assert_eq!(recorded.as_ref(), Some(&wrappers[0]), "round {round}");
        assert!(
            [&a_wrapped, &b_wrapped].iter().any(|wrapped| wrapped.as_ref() == recorded.as_ref()),
            "round {round}: {a_wrapped:?} {b_wrapped:?} {recorded:?}"
        );
        assert!(a_wrapped.is_none() || b_wrapped.is_none(), "round {round}: two keys cannot both wrap");
        a.close().await;
        b.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_asked_for_on_one_host_is_refused_on_the_other_while_it_runs() {
    if !on_postgres() {
        return;
    }
    use integrations_host::services::scheduled_sync::SyncPolicy;
    // Asked about at once (no grace), once the schedulers' first sync (at start) has ended.
    let now = || Some(SyncPolicy { grace: Duration::ZERO, ..SyncPolicy::default() });
    let s = MyGatewayScenario::start_with(HostOptions { sync: now(), ..HostOptions::default() }).await;
    let b = second_host_with(&s, HostOptions { sync: now(), ..HostOptions::default() }).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let first_sync_done =
        "SELECT COUNT(*) FROM integrations WHERE last_synced_date IS NOT NULL AND sync_claimed_until IS NULL";
    while sqlx::query_scalar::<_, i64>(first_sync_done).fetch_one(s.host.app.db.read()).await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "the first scheduled sync never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = s.initiate(json!("6.00"), "Redirect", 71).await["transaction_id"].as_i64().unwrap();
    s.fake.set_status(&s.session_id(id).await, "completed");
    let sync_on = |host: &TestHost| {
        e2e::host::send(host.admin(Method::POST, &format!("/api/admin/integrations/{}/sync", s.integration_id)))
    };
    s.fake.status_hold.hold();
    let held = tokio::spawn(sync_on(&s.host));
    s.fake.status_hold.arrived(1).await;
    let (status, body) = sync_on(&b).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("sync_in_progress")), "{body}");
    s.fake.status_hold.release();
    let (status, report) = held.await.unwrap();
    assert_eq!((status, report["changed"].as_i64()), (StatusCode::OK, Some(1)), "{report}");
    // Released when it ended: the other host may sync now.
    let (status, report) = sync_on(&b).await;
    assert_eq!((status, report["checked"].as_i64()), (StatusCode::OK, Some(0)), "{report}");
}

#[tokio::test]
async fn a_module_change_is_announced_to_listening_hosts_when_it_commits() {
    if !on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let mut changes = s.host.app.db.module_state_changes().await.expect("PostgreSQL").unwrap();
    let (status, body) =
        s.host.upload_module(&manifest("payment_mygateway", "1.6"), component("payment_mygateway.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let heard = tokio::time::timeout(Duration::from_secs(2), changes.next()).await;
    assert_eq!(heard.expect("announced within 2 s").unwrap(), "payment_mygateway");
}
