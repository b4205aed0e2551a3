//! Fair share: one company's provider, flooded through its public webhook URL with calls that
//! wait out their deadline, holds at most its share of the sandboxes; another company's
//! payments and webhooks meanwhile never see a 503 and never wait for a slot, and the
//! flood's spinning guests get no more than the company's share of processor time.

use std::time::{Duration, Instant};

use e2e::greedy::GreedyScenario;
use e2e::host::HostOptions;
use integrations_host::runtime::HostLimits;
use integrations_host::services::webhook_gate::WebhookLimits;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Flooding clients and requests each; every loop is bounded.
const FLOODERS: usize = 24;
const REQUESTS_EACH: usize = 3;

/// Two workers, as the host runs on this two-core machine kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_webhook_url_never_delays_another_company() {
    e2e::logs::capture();
    // One core's worth of processor time per company, whatever this machine has.
    let limits = HostLimits {
        max_instances: 8,
        slot_wait: Duration::from_secs(2),
        cpu_cores_per_company: Some(1),
        ..HostLimits::default()
    };
    // A small webhook bound, so the flood meets both the bound and the company's share.
    let webhooks = WebhookLimits { concurrent: 8, unverified: 4 };
    let options = HostOptions { limits: Some(limits), webhooks: Some(webhooks), ..HostOptions::default() };
    // Its own greedy company: the log lines checked below cannot be another test's.
    let g = GreedyScenario::start_for(3, options).await;
    let host = &g.other.host;
    let policy = host.app.runtime.slots().policy();
    assert_eq!((policy.module_share, policy.company_share), (4, 2), "the default shares of 8 sandboxes");

    let url = format!("{}/payment/webhook/{}", host.url, g.payment);
    let flood = (0..FLOODERS).map(|_| {
        let (client, url) = (host.client.clone(), url.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..REQUESTS_EACH {
                let response = client.post(&url).body("slow").send().await.unwrap();
                let retry_after = response.headers().get("retry-after").is_some();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                answers.push((status, body["error"]["code"].as_str().unwrap_or_default().to_string(), retry_after));
            }
            answers
        })
    });
    let flood: Vec<_> = flood.collect();
    // Company 1 starts once the flood holds company 2's whole share.
    while host.app.runtime.slots().in_use("test_greedy", g.company).2 < policy.company_share {
        tokio::task::yield_now().await;
    }

    // While the flood runs, company 1 pays five times: initiate, signed webhook, Payment.
    let mut slowest = Duration::ZERO;
    for document in 0..5 {
        let started = Instant::now();
        let answer = g.other.initiate(json!("3.00"), "Redirect", 100 + document).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let session = g.other.session_id(id).await;
        let (status, body) = g.other.deliver("payment.completed", &session, Some(e2e::scenario::WEBHOOK_SECRET)).await;
        assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
        slowest = slowest.max(started.elapsed());
        let (_, by_module, by_company) = host.app.runtime.slots().in_use("test_greedy", g.company);
        assert!(by_company <= policy.company_share && by_module <= policy.module_share);
    }
    let mut answers = Vec::new();
    for task in flood {
        answers.extend(task.await.unwrap());
    }

    let slots = host.app.runtime.slots();
    assert_eq!(slots.waited("payment_mygateway"), 0, "company 1 never waited for a sandbox");
    let cpu = host.app.runtime.cpu_share();
    assert_eq!(cpu.long_calls(1), 0, "company 1's calls are short");
    assert!(cpu.pauses() > 0, "company 2's spinning guests took turns on their one core");
    assert!(slowest < Duration::from_secs(4), "company 1's slowest payment took {slowest:?}");
    assert_eq!(host.payments("Invoice", 104).await.len(), 1);

    // The flood got timeouts (its calls ran) and quick refusals, each JSON with Retry-After
    // where it is a refusal; never anything else.
    let timeouts =
        answers.iter().filter(|(status, code, _)| *status == StatusCode::BAD_GATEWAY && code == "provider_failed");
    let refused: Vec<_> = answers.iter().filter(|(status, _, _)| *status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(timeouts.count() >= 1, "{answers:?}");
    assert!(!refused.is_empty(), "{answers:?}");
    assert!(refused.iter().all(|(_, code, retry)| code == "too_many_requests" && *retry), "{refused:?}");
    assert!(
        answers.iter().all(|(status, _, _)| matches!(*status, StatusCode::BAD_GATEWAY | StatusCode::TOO_MANY_REQUESTS)),
        "{answers:?}"
    );
    let gate = &host.app.webhook_gate.stats;
    let refusals = gate.refused_unverified.load(std::sync::atomic::Ordering::Relaxed)
        + gate.refused_concurrent.load(std::sync::atomic::Ordering::Relaxed)
        + slots.stats.refused_company_share.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refusals as usize, refused.len(), "every refusal is counted");
    // And exported: the gate's refusals by category, the slots' by reason.
    let page = e2e::metrics_page::MetricsPage::of(host).await;
    let gate_refusals = gate.refused_unverified.load(std::sync::atomic::Ordering::Relaxed)
        + gate.refused_concurrent.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        page.value("integrations_webhook_refusals_total", &[("category", "payment")]),
        gate_refusals as f64,
        "{}",
        page.text
    );
    assert_eq!(
        page.value("integrations_sandbox_refusals_total", &[("module", "test_greedy"), ("reason", "company_share")]),
        slots.stats.refused_company_share.load(std::sync::atomic::Ordering::Relaxed) as f64
    );

    // Logged once per burst, not once per refusal.
    let logged = e2e::logs::text();
    let gate_lines = logged
        .lines()
        .filter(|line| line.contains("webhook refused") && line.contains(&format!("integration_id={}", g.payment)))
        .count();
    let share_lines = logged
        .lines()
        .filter(|line| {
            line.contains("provider call refused")
                && line.contains(&format!("module=test_greedy company_id={}", g.company))
        })
        .count();
    assert!(gate_lines <= 2 && share_lines <= 2, "{gate_lines} + {share_lines} lines for {} refusals", refused.len());
    assert!(gate_lines + share_lines >= 1, "the refusals are logged");

    // Afterwards the flooded integration is served again at once.
    let (status, body) =
        e2e::host::send(host.public(Method::POST, &format!("/payment/webhook/{}", g.payment)).body("fine")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(slots.in_use("test_greedy", g.company), (0, 0, 0));
}

#[tokio::test]
async fn a_company_over_its_share_is_told_to_retry() {
    let limits = HostLimits {
        max_instances: 4,
        company_share: Some(1),
        slot_wait: Duration::from_millis(200),
        ..HostLimits::default()
    };
    let g = GreedyScenario::start_with(HostOptions { limits: Some(limits), ..HostOptions::default() }).await;
    // Two slow calls of company 2 at once: the second finds the company's one slot taken.
    let (first, second) = tokio::join!(g.payment_webhook("slow"), async {
        while g.other.host.app.runtime.slots().in_use("test_greedy", g.company).2 == 0 {
            tokio::task::yield_now().await;
        }
        g.payment_webhook("slow").await
    });
    assert_eq!(first.0, StatusCode::BAD_GATEWAY, "{}", first.1);
    assert_eq!(
        (second.0, second.1["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")),
        "{}",
        second.1
    );
    assert!(
        second.1["error"]["message"].as_str().unwrap().contains("Company 2 is using its whole share"),
        "{}",
        second.1
    );
    let page = e2e::metrics_page::MetricsPage::of(&g.other.host).await;
    let refusals = "integrations_sandbox_refusals_total";
    assert_eq!(page.value(refusals, &[("module", "test_greedy"), ("reason", "company_share")]), 1.0, "{}", page.text);
    assert_eq!(page.value(refusals, &[("reason", "overload")]), 0.0);
    g.other_company_is_served().await;
}

/// A call that waits on its gateway is not a long call: sixteen initiates of one company held
/// at the gateway well past several epoch ticks, then answered at once, each meet a tick when
/// their guests resume, and are not counted long for it (before, each was counted long at its
/// first tick, and sixteen long calls of one company over its one core waited out fifteen
/// ticks each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_waiting_on_their_gateway_are_never_throttled_as_long() {
    let limits = HostLimits { cpu_cores_per_company: Some(1), ..HostLimits::default() };
    let s = std::sync::Arc::new(
        e2e::scenario::MyGatewayScenario::start_with(HostOptions { limits: Some(limits), ..HostOptions::default() })
            .await,
    );
    s.fake.sessions_hold.hold();
    let initiates: Vec<_> = (0..16)
        .map(|document| {
            let s = s.clone();
            tokio::spawn(async move { s.initiate(json!("1.00"), "Redirect", 500 + document).await })
        })
        .collect();
    s.fake.sessions_hold.arrived(16).await;
    // Several ticks pass while every guest waits in its outbound request.
    let ticked = Instant::now();
    let cpu = s.host.app.runtime.cpu_share();
    while ticked.elapsed() < Duration::from_millis(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    s.fake.sessions_hold.release();
    for initiate in initiates {
        assert!(initiate.await.unwrap()["transaction_id"].is_i64());
    }
    // Before, all sixteen were counted long the moment their guests resumed (and then paused
    // for one another); now only a guest that itself runs into three ticks is, which on a
    // machine busy with other tests may happen to one or two.
    let long = cpu.counted_long();
    assert!(long <= 3, "{long} of 16 initiates waiting on their gateway were counted long");
}
