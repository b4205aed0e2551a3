//! Everything a provider hands back is bounded: an answer over a ceiling fails its own call
//! as `provider_failed`, fast, naming the ceiling; nothing it returned is stored, logged
//! whole or answered; the host stays up and another company is served at once with its data
//! unchanged.

use std::time::Duration;

use e2e::greedy::{assert_over_ceiling, GreedyScenario};
use reqwest::StatusCode;

/// Generous for a loaded machine; an unbounded copy or apply of these sizes takes far longer.
const FAST: Duration = Duration::from_secs(5);

#[tokio::test]
async fn oversized_session_answers_fail_and_leave_no_transaction() {
    let g = GreedyScenario::start().await;
    let company_one = g.company_one().await;
    for (behaviour, mib, ceiling) in [
        ("huge-redirect", 100, "session.action.redirect has 104857623 bytes, over the ceiling of 16384"),
        ("huge-error", 50, "provider-error.message has 52428800 bytes, over the ceiling of 2048"),
        ("huge-provider-data", 50, "session.provider-data has 52428800 bytes"),
        ("huge-reference", 1, "session.gateway-reference has 1048576 bytes, over the ceiling of 256"),
    ] {
        let (status, body, took) = g.session(behaviour, mib).await;
        assert_over_ceiling(status, &body, ceiling);
        assert!(took < FAST, "{behaviour} took {took:?}");
        assert_eq!(g.count("SELECT COUNT(*) FROM transactions WHERE company_id = 2").await, 0, "{behaviour}");
        let (status, body, _) = g.session("normal", 0).await;
        assert_eq!(status, StatusCode::CREATED, "the next call works: {body}");
        e2e::host::write_db(&g.other.host.app.db, async |c| {
            sqlx::query("DELETE FROM transactions WHERE company_id = 2").execute(c).await
        })
        .await;
    }
    assert_eq!(g.company_one().await, company_one);
    g.other_company_is_served().await;
}

#[tokio::test]
async fn a_log_flood_is_cut_at_the_call_budget() {
    e2e::logs::capture();
    let g = GreedyScenario::start().await;
    for (behaviour, what) in [("log-flood", "log output (log)"), ("print-flood", "log output (stdout/stderr)")] {
        let before = e2e::logs::text().len();
        let (status, body, took) = g.session(behaviour, 20_000).await;
        assert_over_ceiling(status, &body, &format!("{what} has"));
        assert!(body["error"]["message"].as_str().unwrap().contains("over the ceiling of 65536"), "{body}");
        assert!(took < FAST, "{behaviour} took {took:?}");
        let grown = e2e::logs::text().len() - before;
        // 64 KiB of the provider's text plus the host's few lines about the call (other tests
        // in this process may log beside it, which only makes this bound looser).
        assert!(grown < 200 * 1024, "{behaviour}: the log grew by {grown} bytes for 80 MB written");
    }
    let (status, body, took) = g.session("log-huge", 100).await;
    assert_over_ceiling(status, &body, "log message has 104857600 bytes, over the ceiling of 65536");
    assert!(took < FAST, "{took:?}");
    g.other_company_is_served().await;
}

#[tokio::test]
async fn a_forged_log_line_stays_one_escaped_line() {
    e2e::logs::capture();
    let g = GreedyScenario::start().await;
    let (status, body, _) = g.session("log-forge", 0).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let logged = e2e::logs::text();
    let line = logged.lines().find(|line| line.contains("innocent")).expect("the provider's message is logged");
    assert!(line.contains("module=test_greedy"), "{line}");
    assert!(line.contains("innocent\\n2026-12-01T00:00:00.000000Z  INFO module=payment_mygateway"), "{line}");
    assert!(!line.contains('\x1b'), "the terminal escape is spelled out: {line}");
    assert!(
        !logged.lines().any(|line| line.starts_with("2026-12-01T00:00:00.000000Z")),
        "no line of the log is the forged one"
    );
}

#[tokio::test]
async fn mapper_and_cache_writes_are_bounded() {
    let g = GreedyScenario::start().await;
    let (status, body, took) = g.session("mapper-huge", 16).await;
    assert_over_ceiling(status, &body, "mapper remote id has 16777216 bytes, over the ceiling of 256");
    assert!(took < FAST, "{took:?}");
    let (status, body, took) = g.session("mapper-many", 17_000).await;
    assert_over_ceiling(status, &body, "mapper writes in one call has 17 items, over the ceiling of 16");
    assert!(took < FAST, "{took:?}");
    let stored = g.count(&format!("SELECT COUNT(*) FROM mappings WHERE integration_id = {}", g.payment)).await;
    assert_eq!(stored, 16, "the writes before the ceiling stay (each is its own write); none after");
    let (status, body, _) = g.session("cache-huge", 1024).await;
    assert_over_ceiling(status, &body, "cache value has 1048576 bytes, over the ceiling of 65536");
    g.other_company_is_served().await;
}

#[tokio::test]
async fn an_integration_holds_a_bounded_number_of_mappings() {
    let g = GreedyScenario::start().await;
    let put = |local: String, quota: i64| put_mapping(&g.other.host.app.db, g.payment, local, quota);
    assert!(put("a".into(), 2).await);
    assert!(put("b".into(), 2).await);
    assert!(!put("c".into(), 2).await, "a third entry is refused");
    assert!(put("a".into(), 2).await, "replacing an entry is not a new one");
    assert_eq!(g.count(&format!("SELECT COUNT(*) FROM mappings WHERE integration_id = {}", g.payment)).await, 2);

    // Writers racing for the last places (on PostgreSQL each its own connection) never
    // overshoot the quota: the integration's row lock makes count-and-insert one at a time.
    let racing = (0..24).map(|n| put(format!("race-{n}"), 7));
    let stored = futures_util::future::join_all(racing).await.into_iter().filter(|stored| *stored).count();
    assert_eq!(stored, 5, "the two entries there and five more");
    assert_eq!(g.count(&format!("SELECT COUNT(*) FROM mappings WHERE integration_id = {}", g.payment)).await, 7);
}

/// The lock and statement the `mapper.put` import runs: a mapping stored within `quota`, under the integration's
/// lock, in a write transaction of its own.
async fn put_mapping(db: &integrations_host::store::Db, integration: i64, local: String, quota: i64) -> bool {
    let mut tx = db.tx().await.unwrap();
    tx.lock_integration(integration).await.unwrap();
    let stored =
        integrations_host::store::mappings::put_within(&mut *tx, integration, "m", &local, "r", quota).await.unwrap();
    tx.commit().await.unwrap();
    stored
}

#[tokio::test]
async fn oversized_payment_webhooks_change_nothing() {
    let g = GreedyScenario::start().await;
    let company_one = g.company_one().await;
    for (command, ceiling) in [
        ("updates 50000", "parsed-webhook.updates has 50000 items, over the ceiling of 100"),
        ("updates 101", "parsed-webhook.updates has 101 items"),
        ("event-type 8192", "parsed-webhook.event-type has 8388608 bytes, over the ceiling of 256"),
        ("status 16384", "gateway-update.gateway-status has 16777216 bytes"),
        ("rejection 16384", "verification.rejected has 16777216 bytes, over the ceiling of 2048"),
    ] {
        let failed = "SELECT COUNT(*) FROM webhook_log WHERE result = 'provider_failed' AND transaction_id IS NULL";
        let (log_before, failed_before) = (g.count("SELECT COUNT(*) FROM webhook_log").await, g.count(failed).await);
        let (status, body, took) = g.payment_webhook(command).await;
        assert_over_ceiling(status, &body, ceiling);
        assert!(took < FAST, "{command} took {took:?}");
        // Nothing of what it returned is stored; the attempt itself is, as a provider failure.
        assert_eq!(g.count("SELECT COUNT(*) FROM webhook_log").await, log_before + 1, "{command}: only the attempt");
        assert_eq!(g.count(failed).await, failed_before + 1, "{command}: recorded as provider_failed");
    }
    let (status, body, _) = g.payment_webhook("updates 100").await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(0)), "100 updates are within: {body}");
    assert_eq!(g.company_one().await, company_one);
    g.other_company_is_served().await;
}

#[tokio::test]
async fn oversized_messaging_webhooks_store_no_message() {
    let g = GreedyScenario::start().await;
    for (command, ceiling) in [
        ("inbound 10000", "parsed-webhook.inbound has 10000 items, over the ceiling of 100"),
        ("updates 10000", "parsed-webhook.updates has 10000 items, over the ceiling of 100"),
        ("body 64", "inbound-message.body has 65536 bytes, over the ceiling of 8192"),
        ("answer html", "webhook-response.content-type `text/html` is not one of"),
        ("answer crlf", "webhook-response.content-type holds control"),
        ("answer-big 65", "webhook-response.body has 66560 bytes, over the ceiling of 65536"),
    ] {
        let (status, body, took) = g.messaging_webhook(command).await;
        assert_over_ceiling(status, &body, ceiling);
        assert!(took < FAST, "{command} took {took:?}");
        assert_eq!(g.count("SELECT COUNT(*) FROM messages").await, 0, "{command}: no message stored");
    }
    let (status, body, _) = g.messaging_webhook("inbound 100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(g.count("SELECT COUNT(*) FROM messages WHERE company_id = 2").await, 100);
    g.other_company_is_served().await;
}

#[tokio::test]
async fn redirect_urls_are_parsed_and_answered_as_the_host_writes_them() {
    let g = GreedyScenario::start().await;
    for bad in [
        "redirect:https://greedy.example/pay\r\nSet-Cookie: session=stolen",
        "redirect:https://greedy.example/\tpay",
        "redirect:javascript:alert(1)",
        "redirect:/relative/path",
    ] {
        let (status, body, _) = g.session(bad, 0).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_GATEWAY, Some("gateway_error")),
            "{body}"
        );
        assert!(!body.to_string().contains("stolen"), "the raw URL is never answered: {body}");
    }
    let (status, body, _) = g.session("redirect:HTTPS://Greedy.Example/a/../pay?x=1", 0).await;
    assert_eq!((status, body["redirect_url"].as_str()), (StatusCode::CREATED, Some("https://greedy.example/pay?x=1")));
    let (status, body, _) = g.session("redirect:http://greedy.example/pay", 0).await;
    assert_eq!(status, StatusCode::CREATED, "plain http is allowed in Test mode: {body}");
    // A Live payer is never sent over plain http.
    let path = format!("/api/integrations/{}", g.payment);
    let (status, body) = e2e::host::send(
        g.other.host.admin(reqwest::Method::PATCH, &path).json(&serde_json::json!({"payment_state": "Live"})),
    )
    .await;
    assert_eq!((status, body["payment_state"].as_str()), (StatusCode::OK, Some("Live")), "{body}");
    let (status, body, _) = g.session("redirect:http://greedy.example/pay", 0).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")), "{body}");
    let (status, body, _) = g.session("redirect:https://greedy.example/pay", 0).await;
    assert_eq!(status, StatusCode::CREATED, "https is served in Live mode: {body}");
}

#[tokio::test]
async fn an_oversized_refund_reference_releases_the_reservation() {
    let g = GreedyScenario::start().await;
    let (status, body, _) = g.session("normal", 0).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["transaction_id"].as_i64().unwrap();
    let gateway_reference = g.other.host.transaction(id).await["gateway_reference"].as_str().unwrap().to_string();
    let (status, body, _) = g.payment_webhook(&format!("capture {gateway_reference}")).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");

    for attempt in 0..2 {
        let path = format!("/api/online_payment/transaction/{id}/refund");
        let (status, body) =
            e2e::host::send(g.other.host.admin(reqwest::Method::POST, &path).json(&serde_json::json!({}))).await;
        assert_over_ceiling(status, &body, "refund-result.refund-reference has 1048576 bytes, over the ceiling of 256");
        let transaction = g.other.host.transaction(id).await;
        assert_eq!(
            (transaction["state"].as_str(), transaction["refunded_amount"].as_str()),
            (Some("Captured"), Some("0.00"))
        );
        let reserved = g.count(&format!("SELECT COUNT(*) FROM refunds WHERE transaction_id = {id}")).await;
        assert_eq!(reserved, 0, "attempt {attempt}: the reservation is released, so the amount can be refunded again");
    }
}

#[tokio::test]
async fn a_provider_cannot_capture_another_companys_payment() {
    let g = GreedyScenario::start().await;
    let theirs = g.other.initiate(serde_json::json!("8.00"), "Redirect", 77).await["transaction_id"].as_i64().unwrap();
    let session = g.other.session_id(theirs).await;
    let company_one = g.company_one().await;
    let (status, body, _) = g.payment_webhook(&format!("capture {session}")).await;
    assert_eq!(
        (status, body["matched"].as_i64()),
        (StatusCode::OK, Some(0)),
        "only its own integration's payments match: {body}"
    );
    assert_eq!(g.other.host.transaction(theirs).await["state"], "Pending");
    assert!(g.other.host.payments("Invoice", 77).await.is_empty());
    assert_eq!(g.company_one().await, company_one);

    // Nor can another integration of the same company: matching is by integration, not company.
    let sibling = g.other.host.enabled_integration(e2e::host::ADMIN_KEY, 1, "test_greedy", serde_json::json!({})).await;
    let path = format!("/payment/webhook/{sibling}");
    let (status, body) =
        e2e::host::send(g.other.host.public(reqwest::Method::POST, &path).body(format!("capture {session}"))).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(0)), "{body}");
    assert_eq!(g.other.host.transaction(theirs).await["state"], "Pending");
    assert!(g.other.host.payments("Invoice", 77).await.is_empty());
}

#[tokio::test]
async fn an_oversized_message_id_leaves_the_message_failed() {
    let g = GreedyScenario::start().await;
    let (status, body) = e2e::host::send(g.other.host.admin(reqwest::Method::POST, "/api/messaging/send").json(
        &serde_json::json!({"company_id": 2, "integration_id": g.messaging, "to": "+14155550100", "body": "huge-id 1024"}),
    ))
    .await;
    assert_over_ceiling(status, &body, "send-result.remote-id has 1048576 bytes, over the ceiling of 256");
    let stored: (String, Option<String>) = sqlx::query_as("SELECT state, remote_id FROM messages WHERE company_id = 2")
        .fetch_one(g.other.host.app.db.read())
        .await
        .unwrap();
    assert_eq!(stored, ("Failed".to_string(), None), "kept as Failed, without an id");
}

#[tokio::test]
async fn a_client_config_over_its_ceiling_fails_as_provider_failed() {
    let g = GreedyScenario::start().await;
    let path = format!("/api/online_payment/integrations/{}/client_config", g.payment);
    let (status, body) = e2e::host::send(g.other.host.admin(reqwest::Method::GET, &path)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    assert!(body.to_string().len() < 4096, "the 1 MiB answer came back: {} bytes", body.to_string().len());
}
