//! Payment links, part two (API.md §3): listing, reading and revoking them, one payment per
//! link however many payers race for it, and the bound on sessions a link may start.

use e2e::host::{send, TestHost, ADMIN_KEY};
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn credentials() -> Value {
    json!({
        "mygateway_api_key": API_KEY,
        "mygateway_secret_key": SECRET_KEY,
        "mygateway_webhook_secret": WEBHOOK_SECRET,
    })
}

async fn create_link(s: &MyGatewayScenario, company_id: i64, document_id: i64) -> Value {
    let body = json!({
        "company_id": company_id, "document_model": "Invoice", "document_id": document_id, "amount": "19.99",
        "currency": "USD", "description": format!("Invoice {document_id}"),
    });
    let (status, link) = send(s.host.admin(Method::POST, "/api/online_payment/links").json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    link
}

/// Submits the page's form for `integration_id`; the response is not followed.
async fn choose(s: &MyGatewayScenario, token: &str, integration_id: i64) -> (StatusCode, Option<String>, String) {
    choose_on(&s.host, token, integration_id).await
}

async fn choose_on(host: &TestHost, token: &str, integration_id: i64) -> (StatusCode, Option<String>, String) {
    let response = host
        .public(Method::POST, &format!("/pay/{token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("integration_id={integration_id}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location, response.text().await.unwrap())
}

async fn link(s: &MyGatewayScenario, key: &str, id: i64) -> (StatusCode, Value) {
    send(s.host.as_key(key, Method::GET, &format!("/api/online_payment/links/{id}"))).await
}

async fn page_status(s: &MyGatewayScenario, token: &str) -> (StatusCode, String) {
    let response = s.host.public(Method::GET, &format!("/pay/{token}")).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn links_are_listed_and_read_with_their_status_within_the_keys_company() {
    let s = MyGatewayScenario::start().await;
    let first = create_link(&s, 1, 1).await;
    let second = create_link(&s, 1, 2).await;
    let other = create_link(&s, 2, 3).await;
    assert_eq!((first["status"].as_str(), first["transactions"].as_array().map(Vec::len)), (Some("open"), Some(0)));

    // Newest first, one company's; pages by `before`.
    let (status, listed) = send(s.host.admin(Method::GET, "/api/online_payment/links?company_id=1")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [second["id"].as_i64().unwrap(), first["id"].as_i64().unwrap()]);
    let path = format!("/api/online_payment/links?company_id=1&limit=1&before={}", second["id"]);
    let (_, page) = send(s.host.admin(Method::GET, &path)).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], first["id"]);
    for limit in ["0", "1001"] {
        let (status, refused) =
            send(s.host.admin(Method::GET, &format!("/api/online_payment/links?limit={limit}"))).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit"))
        );
    }

    // A company key sees its own company's only: the list, one link, a revoke.
    let key = s.host.company_key(1).await;
    let (_, own) = send(s.host.as_key(&key, Method::GET, "/api/online_payment/links")).await;
    assert!(own.as_array().unwrap().iter().all(|l| l["company_id"] == 1), "{own}");
    assert_eq!(own.as_array().unwrap().len(), 2);
    let (status, _) = send(s.host.as_key(&key, Method::GET, "/api/online_payment/links?company_id=2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other_id = other["id"].as_i64().unwrap();
    assert_eq!(link(&s, &key, other_id).await.0, StatusCode::NOT_FOUND);
    let revoke_other = format!("/api/online_payment/links/{other_id}/revoke");
    assert_eq!(send(s.host.as_key(&key, Method::POST, &revoke_other)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(link(&s, ADMIN_KEY, other_id).await.1["status"], "open", "another company's key revoked it");

    // Its transactions show once a payer started one.
    let token = first["token"].as_str().unwrap();
    let (status, _, _) = choose(&s, token, s.integration_id).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, read) = link(&s, &key, first["id"].as_i64().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let transactions = read["transactions"].as_array().unwrap();
    assert_eq!(transactions.len(), 1, "{read}");
    assert_eq!(transactions[0]["state"], "Pending");
    assert_eq!(transactions[0]["reference"].as_str(), Some(s.fake.session("sess_1").reference.as_str()));
    assert_eq!(read["status"], "open");
    s.deliver("payment.completed", "sess_1", Some(WEBHOOK_SECRET)).await;
    assert_eq!(link(&s, &key, first["id"].as_i64().unwrap()).await.1["status"], "paid");
}

#[tokio::test]
async fn a_revoked_link_answers_410_and_starts_nothing_and_a_paid_link_cannot_be_revoked() {
    let s = MyGatewayScenario::start().await;
    let open = create_link(&s, 1, 1).await;
    let id = open["id"].as_i64().unwrap();
    let token = open["token"].as_str().unwrap();
    let revoke = format!("/api/online_payment/links/{id}/revoke");
    let (status, revoked) = send(s.host.admin(Method::POST, &revoke)).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let revoked_at = revoked["revoked_at"].as_str().expect("revoked_at").to_string();
    // Again: the same link, revoked when it first was.
    let (status, again) = send(s.host.admin(Method::POST, &revoke)).await;
    assert_eq!((status, again["revoked_at"].as_str()), (StatusCode::OK, Some(revoked_at.as_str())));

    let (status, html) = page_status(&s, token).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("<h1>Withdrawn</h1>") && !html.contains("<form"), "{html}");
    let (status, location, _) = choose(&s, token, s.integration_id).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(format!("/pay/{token}").as_str())));
    assert_eq!(s.fake.session_count(), 0, "a revoked link started a payment");

    // A paid link stays paid: revoking it is refused and changes nothing.
    let paid = create_link(&s, 1, 2).await;
    let (status, _, _) = choose(&s, paid["token"].as_str().unwrap(), s.integration_id).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    s.deliver("payment.completed", "sess_1", Some(WEBHOOK_SECRET)).await;
    let revoke_paid = format!("/api/online_payment/links/{}/revoke", paid["id"]);
    let (status, refused) = send(s.host.admin(Method::POST, &revoke_paid)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("link_paid")), "{refused}");
    let (_, read) = link(&s, ADMIN_KEY, paid["id"].as_i64().unwrap()).await;
    assert_eq!((read["status"].as_str(), read["revoked_at"].as_str()), (Some("paid"), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_racing_payers_start_one_session_and_make_one_payment() {
    let s = MyGatewayScenario::start().await;
    let wallet = s.host.enabled_integration(ADMIN_KEY, 1, "payment_mygateway", credentials()).await;
    let created = create_link(&s, 1, 7).await;
    let token = created["token"].as_str().unwrap().to_string();

    // Both payers choose while the gateway holds every session request: the one who won the
    // link waits there, so the one answered first is the other, refused before any gateway.
    s.fake.sessions_hold.hold();
    let payers = futures_util::future::select(
        Box::pin(choose(&s, &token, s.integration_id)),
        Box::pin(choose(&s, &token, s.integration_id)),
    );
    let first_answered = tokio::time::timeout(std::time::Duration::from_secs(20), payers)
        .await
        .unwrap_or_else(|_| panic!("both payers reached the gateway"));
    let (refused, winner) = first_answered.factor_first();
    s.fake.sessions_hold.arrived(1).await;
    s.fake.sessions_hold.release();
    let started = winner.await;
    assert_eq!(refused.0, StatusCode::CONFLICT, "{refused:?}");
    assert!(refused.2.contains("payment_in_progress") && refused.2.contains("reload this page"), "{}", refused.2);
    assert_eq!(started.0, StatusCode::SEE_OTHER, "{started:?}");
    assert_eq!(started.1.as_deref(), Some("https://checkout.mygateway.com/session/sess_1"));
    assert_eq!(s.fake.session_count(), 1, "two sessions for one link");

    // A payer choosing the same method now continues that one session; another method is
    // told to finish it, with a way to continue it. Neither starts a session.
    let (status, location, _) = choose(&s, &token, s.integration_id).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("https://checkout.mygateway.com/session/sess_1"))
    );
    let (status, _, html) = choose(&s, &token, wallet).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("href=\"https://checkout.mygateway.com/session/sess_1\""), "{html}");
    assert_eq!(s.fake.session_count(), 1);

    // Paid through that session (twice delivered): one Payment, the link paid.
    for _ in 0..2 {
        let (status, body) = s.deliver("payment.completed", "sess_1", Some(WEBHOOK_SECRET)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(s.host.payments("Invoice", 7).await.len(), 1);
    let (_, read) = link(&s, ADMIN_KEY, created["id"].as_i64().unwrap()).await;
    assert_eq!(read["status"], "paid");
    assert_eq!(read["transactions"].as_array().unwrap().len(), 1, "{read}");
    let (status, location, _) = choose(&s, &token, wallet).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(format!("/pay/{token}").as_str())));
    assert_eq!(s.fake.session_count(), 1);
}

#[tokio::test]
async fn a_link_starts_at_most_five_sessions_in_ten_minutes() {
    let s = MyGatewayScenario::start().await;
    let created = create_link(&s, 1, 8).await;
    let token = created["token"].as_str().unwrap();
    // Each attempt is started and cancelled by its payer, which lets the next one start.
    for attempt in 1..=integrations_host::services::payment_links::LINK_STARTS_PER_WINDOW {
        let (status, location, _) = choose(&s, token, s.integration_id).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "attempt {attempt}");
        assert_eq!(location, Some(format!("https://checkout.mygateway.com/session/sess_{attempt}")));
        let reference = s.fake.session(&format!("sess_{attempt}")).reference;
        let cancel = format!("/api/online_payment/cancel?txn={reference}");
        assert_eq!(s.host.public(Method::GET, &cancel).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    }
    let (status, _, html) = choose(&s, token, s.integration_id).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("too_many_attempts"), "{html}");
    assert_eq!(s.fake.session_count(), 5, "the sixth start reached the gateway");
    // Another link of the same company is not held back.
    let other = create_link(&s, 1, 9).await;
    let (status, _, _) = choose(&s, other["token"].as_str().unwrap(), s.integration_id).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_link_starts_at_most_a_hundred_sessions_in_its_life() {
    use integrations_host::services::payment_links::{LINK_STARTS_EVER, LINK_STARTS_PER_WINDOW};
    let s = MyGatewayScenario::start().await;
    let created = create_link(&s, 1, 10).await;
    let token = created["token"].as_str().unwrap();
    for attempt in 1..=LINK_STARTS_EVER {
        let (status, _, html) = choose(&s, token, s.integration_id).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "attempt {attempt}: {html}");
        let reference = s.fake.session(&format!("sess_{attempt}")).reference;
        let cancel = format!("/api/online_payment/cancel?txn={reference}");
        assert_eq!(s.host.public(Method::GET, &cancel).send().await.unwrap().status(), StatusCode::SEE_OTHER);
        if attempt % LINK_STARTS_PER_WINDOW == 0 {
            // The ten-minute window passes (the attempts are dated an hour back).
            e2e::host::write_db(&s.host.app.db, async |c| {
                sqlx::query("UPDATE transactions SET created_at = '2026-01-01T00:00:00.000Z'").execute(c).await
            })
            .await;
        }
    }
    let (status, _, html) = choose(&s, token, s.integration_id).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("too_many_attempts") && html.contains("new payment link"), "{html}");
    assert_eq!(s.fake.session_count(), LINK_STARTS_EVER);
}

#[tokio::test]
async fn the_page_offers_only_methods_whose_capabilities_take_the_link() {
    let s = MyGatewayScenario::start().await;
    let (status, body) = s
        .host
        .upload_module(
            &e2e::host::manifest("payment_mygateway", "1.1").replace(
                "  sync_interval_s: 900",
                "  sync_interval_s: 900\n  capabilities: { currencies: [USD], amount_limits: { USD: { max: '10.00' } } }",
            ),
            e2e::host::component("payment_mygateway.wasm"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let method = format!("value=\"{}\"", s.integration_id);
    // A link the module takes lists the method (the control for the refusal below).
    let (status, small) = send(s.host.admin(Method::POST, "/api/online_payment/links").json(&json!({
        "company_id": 1, "document_model": "Invoice", "document_id": 12, "amount": "9.99", "currency": "USD",
        "description": "Invoice 12",
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{small}");
    let (_, html) = page_status(&s, small["token"].as_str().unwrap()).await;
    assert!(html.contains(&method), "{html}");
    let created = create_link(&s, 1, 11).await; // 19.99 USD: over the module's maximum
    let token = created["token"].as_str().unwrap();
    let (status, html) = page_status(&s, token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&method), "a method that cannot take it is offered: {html}");
    let (status, _, html) = choose(&s, token, s.integration_id).await;
    assert_ne!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(s.fake.session_count(), 0, "nothing reached the gateway");
}

// Several worker threads, so that payers' requests really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_payers_racing_on_several_links_start_one_session_per_link() {
    let s = MyGatewayScenario::start().await;
    payers_race(&s, &[&s.host]).await;
}

// On PostgreSQL: the payers' requests alternate between two hosts on one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payers_racing_through_two_hosts_start_one_session_per_link() {
    if !e2e::database::on_postgres() {
        return;
    }
    let s = MyGatewayScenario::start().await;
    let b = super::several_hosts::second_host(&s).await;
    payers_race(&s, &[&s.host, &b]).await;
}

/// Several links, many payers each at once, their requests spread over `hosts`: one session
/// per link reaches the gateway, every other payer is refused before it.
async fn payers_race(s: &MyGatewayScenario, hosts: &[&TestHost]) {
    const LINKS: usize = 4;
    const PAYERS_PER_LINK: usize = 12;
    let mut tokens = Vec::new();
    for document_id in 0..LINKS {
        tokens.push(create_link(s, 1, 100 + document_id as i64).await["token"].as_str().unwrap().to_string());
    }
    // Every payer at once, the gateway holding each session request: those who won a link
    // wait there, every other payer must be answered without reaching it.
    s.fake.sessions_hold.hold();
    let mut payers: futures_util::stream::FuturesUnordered<_> =
        tokens
            .iter()
            .flat_map(|token| std::iter::repeat_n(token, PAYERS_PER_LINK))
            .enumerate()
            .map(|(i, token)| async move {
                (token.clone(), choose_on(hosts[i % hosts.len()], token, s.integration_id).await)
            })
            .collect();
    let mut answers = Vec::new();
    let losers = LINKS * (PAYERS_PER_LINK - 1);
    let refused_in_time = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while answers.len() < losers {
            answers.push(futures_util::StreamExt::next(&mut payers).await.expect("a payer"));
        }
    })
    .await;
    assert!(refused_in_time.is_ok(), "only {} of {losers} payers were refused before the gateway", answers.len());
    assert!(answers.iter().all(|(_, (status, _, _))| *status == StatusCode::CONFLICT), "{answers:?}");
    s.fake.sessions_hold.arrived(LINKS).await;
    s.fake.sessions_hold.release();
    let winners: Vec<_> = futures_util::StreamExt::collect(payers).await;
    assert_eq!(winners.len(), LINKS);
    assert!(winners.iter().all(|(_, (status, _, _))| *status == StatusCode::SEE_OTHER), "{winners:?}");
    let mut won: Vec<&String> = winners.iter().map(|(token, _)| token).collect();
    won.sort();
    won.dedup();
    assert_eq!(won.len(), LINKS, "a link was won twice: {winners:?}");
    assert_eq!(s.fake.session_count(), LINKS, "more sessions than links");
}

/// Moves a transaction's creation `age` into the past, as time would.
async fn age_transaction(s: &MyGatewayScenario, reference: &str, age: chrono::Duration) {
    let at = (chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    e2e::host::write_db(&s.host.app.db, async |c| {
        sqlx::query("UPDATE transactions SET created_at = $1 WHERE reference = $2")
            .bind(&at)
            .bind(reference)
            .execute(c)
            .await
    })
    .await;
}

#[tokio::test]
async fn a_payment_in_progress_stops_holding_the_link_once_no_payer_can_pay_it() {
    let s = MyGatewayScenario::start().await;
    let created = create_link(&s, 1, 11).await;
    let token = created["token"].as_str().unwrap();
    let session = |n: usize| format!("https://checkout.mygateway.com/session/sess_{n}");
    assert_eq!(choose(&s, token, s.integration_id).await.1, Some(session(1)));
    assert_eq!(choose(&s, token, s.integration_id).await.1, Some(session(1)), "continued");

    // Its payer was sent to the gateway a day ago: no gateway keeps a session payable that
    // long, so the link starts a new one.
    age_transaction(&s, &s.fake.session("sess_1").reference, chrono::Duration::hours(25)).await;
    assert_eq!(choose(&s, token, s.integration_id).await.1, Some(session(2)));

    // One whose payer never got its URL (a host died while starting it) holds the link only
    // while a start could still be under way.
    let reference = s.fake.session("sess_2").reference;
    e2e::host::write_db(&s.host.app.db, async |c| {
        sqlx::query("UPDATE payment_link_transactions SET redirect_url = NULL").execute(c).await
    })
    .await;
    let (status, _, html) = choose(&s, token, s.integration_id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("reload this page"), "{html}");
    age_transaction(&s, &reference, chrono::Duration::minutes(6)).await;
    assert_eq!(choose(&s, token, s.integration_id).await.1, Some(session(3)));
    assert_eq!(s.fake.session_count(), 3);
}
