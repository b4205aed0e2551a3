//! `GET /metrics` after a scripted run: payments, a trap, a denied request, a rejected and an
//! unmatched webhook, a refund and an event endpoint that fails before it takes an event. The
//! page parses as Prometheus text and each counter has the value the run implies; nothing on
//! it names a company, an integration or a reference.

use std::time::Duration;

use e2e::event_receiver::EventReceiver;
use e2e::host::{send, HostOptions, ADMIN_KEY};
use e2e::metrics_page::MetricsPage;
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use integrations_host::services::event_delivery::DeliveryPolicy;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn metrics_count_what_a_scripted_run_did() {
    let receiver = EventReceiver::start(2).await;
    let delivery = DeliveryPolicy {
        first_retry: Duration::from_millis(50),
        max_retry: Duration::from_millis(100),
        give_up_after: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
    };
    let s = MyGatewayScenario::start_with(HostOptions {
        with_hostile: true,
        delivery: Some(delivery),
        ..HostOptions::default()
    })
    .await;
    let (status, body) = send(s.host.admin(Method::POST, "/api/admin/event_endpoints").json(
        &json!({"url": receiver.url, "secret": e2e::event_receiver::ENDPOINT_SECRET, "types": ["payment.created"]}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hostile = s.host.enabled_integration(ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain-key"})).await;

    // Two payments captured by signed webhooks, and one of them refunded in part.
    let (first, first_session) = s.captured("12.00", 1).await;
    s.captured("8.00", 2).await;
    let refund = format!("/api/online_payment/transaction/{first}/refund");
    let (status, body) = send(s.host.admin(Method::POST, &refund).json(&json!({"amount": "2.00"}))).await;
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    // A webhook with a bad signature, and a signed one about a payment nobody has.
    let (status, _) = s.deliver("payment.completed", &first_session, Some("whsec_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = s.deliver("payment.completed", "sess_nobody", Some(WEBHOOK_SECRET)).await;
    assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(0)), "{body}");
    // A provider that traps, and one that asks for a host off its allowlist.
    let initiate = |behaviour: &str, name: &str| {
        send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": hostile, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
            "document_model": behaviour, "contact": {"name": name},
        })))
    };
    let (status, body) = initiate("panic", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")));
    let (status, body) = initiate("forbidden-host", "https://elsewhere.example/steal").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    // The endpoint refuses its first two attempts, then takes both payment.created events.
    receiver.wait_for_delivered(2).await;
    let refused_attempts = receiver.requests().iter().filter(|(_, _, status)| *status == 500).count();
    assert_eq!(refused_attempts, 2);

    // The endpoint's answers are in; the host records each attempt just after it. Read the
    // page once the host has recorded both deliveries.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = MetricsPage::of(&s.host).await;
        if page.value("integrations_event_delivery_attempts_total", &[("outcome", "delivered")]) >= 2.0 {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries never recorded: {}", page.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (m, text) = (&page, &page.text);
    let mygateway = ("module", "payment_mygateway");
    let calls = "integrations_provider_calls_total";
    for export in ["create-session", "verify-webhook"] {
        let ok = m.value(calls, &[mygateway, ("export", export), ("outcome", "ok")]);
        // Two sessions; four verified webhooks (two captures, the rejected one, the unmatched one).
        assert_eq!(ok, if export == "create-session" { 2.0 } else { 4.0 }, "{export}: {text}");
    }
    assert_eq!(m.value(calls, &[mygateway, ("export", "refund"), ("outcome", "ok")]), 1.0);
    let hostile_module = ("module", "test_hostile");
    assert_eq!(m.value(calls, &[hostile_module, ("export", "create-session"), ("outcome", "trap")]), 1.0);
    let duration = "integrations_provider_call_duration_seconds";
    assert_eq!(m.observations(duration, &[mygateway, ("export", "create-session")]), 2.0);

    let denials = "integrations_outbound_denials_total";
    assert_eq!(m.value(denials, &[hostile_module, ("reason", "not_allowed")]), 1.0, "{text}");
    // Sessions and the refund reached the fake gateway through the operator's override, named
    // by its origin.
    let outbound = "integrations_outbound_requests_total";
    let sent = m.value(outbound, &[mygateway, ("host", s.fake.url.as_str()), ("status_class", "2xx")]);
    assert_eq!(sent, s.fake.requests().len() as f64, "every request the fake saw, and no other: {text}");
    assert_eq!(m.observations("integrations_outbound_request_duration_seconds", &[mygateway]), sent);

    let webhooks = "integrations_webhooks_total";
    let payment = ("category", "payment");
    assert_eq!(m.value(webhooks, &[payment, mygateway, ("outcome", "accepted")]), 2.0, "{text}");
    assert_eq!(m.value(webhooks, &[payment, mygateway, ("outcome", "rejected")]), 1.0);
    assert_eq!(m.value(webhooks, &[payment, mygateway, ("outcome", "unmatched")]), 1.0);

    let transitions = "integrations_transaction_transitions_total";
    assert_eq!(m.value(transitions, &[mygateway, ("from", "Draft"), ("to", "Pending")]), 2.0, "{text}");
    assert_eq!(m.value(transitions, &[mygateway, ("from", "Pending"), ("to", "Captured")]), 2.0);
    // The refused request failed its payment; the trap left no transaction (its Draft is deleted).
    assert_eq!(m.value(transitions, &[hostile_module, ("from", "Draft"), ("to", "Failed")]), 1.0, "{text}");
    assert_eq!(m.value("integrations_payments_total", &[mygateway]), 2.0);
    assert_eq!(m.value("integrations_refunds_total", &[mygateway, ("outcome", "succeeded")]), 1.0);

    let attempts = "integrations_event_delivery_attempts_total";
    assert_eq!(m.value(attempts, &[("outcome", "failed")]), refused_attempts as f64, "{text}");
    assert_eq!(m.value(attempts, &[("outcome", "delivered")]), 2.0);
    assert_eq!(m.value("integrations_events_pending", &[]), 0.0);

    let policy = s.host.app.runtime.slots().policy();
    assert_eq!(m.value("integrations_sandbox_slots", &[]), f64::from(policy.total));
    assert_eq!(m.value("integrations_sandbox_slots_in_use", &[]), 0.0, "every call has given its slot back");
    assert_eq!(m.value("integrations_module_info", &[mygateway, ("world", "payment")]), 1.0, "{text}");
    assert_eq!(m.value("integrations_module_installs_total", &[("source", "folder"), ("outcome", "installed")]), 2.0);
    let lookups = m.value("integrations_compile_cache_lookups_total", &[]);
    assert_eq!(lookups, 2.0, "one compile or cache load per module");
    assert!(m.observations("integrations_db_commit_duration_seconds", &[]) > 0.0);
    assert!(m.observations("integrations_db_write_wait_seconds", &[]) > 0.0);
    assert!(m.value("integrations_db_connections_open", &[("pool", "writer")]) >= 1.0);

    // Nothing names a company, an integration or a reference.
    for private in [first_session.as_str(), "company", "integration_id", "TXN-"] {
        assert!(!text.contains(private), "{private} on the page");
    }
}

/// Messages by state and messaging webhooks, and a refused install, as the page counts them.
#[tokio::test]
async fn metrics_count_messages_their_callbacks_and_refused_installs() {
    use e2e::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN};
    let sms = e2e::twilio_scenario::TwilioScenario::start(json!({ "twilio_from_number": "+14155550199" }), None).await;
    let (status, sent) = sms.send("+14155550100", "hello").await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let sid = sent["remote_id"].as_str().unwrap().to_string();
    let url = sms.webhook_url();
    for status in ["sent", "delivered"] {
        let params = [("MessageSid", sid.as_str()), ("MessageStatus", status), ("AccountSid", ACCOUNT_SID)];
        assert_eq!(sms.callback(&params, Some(&url), AUTH_TOKEN).await.status(), StatusCode::OK);
    }
    let unsigned = sms.callback(&[("MessageSid", sid.as_str()), ("MessageStatus", "failed")], None, AUTH_TOKEN).await;
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = sms.host.upload_module("name: x\n", b"not wasm".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A component that cannot even be instantiated: its start check fails before any export.
    let start_fails =
        e2e::host::manifest("payment_mygateway", "2.0").replace("payment_mygateway.wasm", "test_fails_to_start.wasm");
    let (status, body) = sms.host.upload_module(&start_fails, e2e::host::component("test_fails_to_start.wasm")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let m = MetricsPage::of(&sms.host).await;
    let twilio = ("module", "sms_twilio");
    for state in ["Queued", "Sent", "Delivered"] {
        assert_eq!(m.value("integrations_messages_total", &[twilio, ("state", state)]), 1.0, "{state}: {}", m.text);
    }
    assert_eq!(m.value("integrations_messages_total", &[twilio, ("state", "Failed")]), 0.0);
    let webhooks = "integrations_webhooks_total";
    let messaging = ("category", "messaging");
    assert_eq!(m.value(webhooks, &[messaging, twilio, ("outcome", "accepted")]), 2.0, "{}", m.text);
    assert_eq!(m.value(webhooks, &[messaging, twilio, ("outcome", "rejected")]), 1.0);
    let calls = "integrations_provider_calls_total";
    assert_eq!(m.value(calls, &[twilio, ("export", "send"), ("outcome", "ok")]), 1.0);
    let installs = "integrations_module_installs_total";
    let setup = [("module", "payment_mygateway"), ("version", "2.0"), ("export", "instantiate")];
    assert_eq!(m.value(calls, &setup), 1.0, "{}", m.text);
    assert_eq!(m.observations("integrations_provider_call_duration_seconds", &setup), 1.0);
    assert_eq!(m.value(installs, &[("source", "api"), ("outcome", "refused")]), 2.0);
    assert_eq!(m.value(installs, &[("source", "api"), ("outcome", "installed")]), 0.0);
    assert_eq!(m.value("integrations_module_info", &[twilio, ("world", "messaging")]), 1.0);
}
