//! `GET /metrics` for what gateways and the outbound policy refuse: provider calls counted by
//! the error kind the provider reported, outbound requests by status class, refunds refused
//! and left in doubt, every reason a request is denied, failed and received messages, a
//! messaging callback that matches nothing, and the reader pool.

use e2e::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN};
use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use e2e::metrics_page::MetricsPage;
use e2e::scenario::MyGatewayScenario;
use e2e::test_servers::{ConnectionCounter, OnConnect};
use e2e::twilio_scenario::TwilioScenario;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn initiate(s: &MyGatewayScenario, document_id: i64) -> (StatusCode, Value) {
    send(s.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": s.integration_id, "amount": "3.00", "currency": "USD", "document_model": "Invoice",
        "document_id": document_id, "return_url": "https://erp.example/r",
    })))
    .await
}

#[tokio::test]
async fn metrics_count_gateway_refusals_by_kind_status_class_and_refund_outcome() {
    let s = MyGatewayScenario::start().await;
    let (transaction, _) = s.captured("10.00", 1).await;
    let refund = format!("/api/online_payment/transaction/{transaction}/refund");
    let before_outages = s.fake.requests().len();

    // Declined (402) and unavailable (503) sessions; a refund the gateway refuses (400) and
    // one whose answer is a 503 (sent, so in doubt).
    s.fake.set_outage(Some((402, "Your card was declined.")));
    let (status, body) = initiate(&s, 2).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")));
    s.fake.set_outage(Some((503, "MyGateway is down for maintenance.")));
    let (status, body) = initiate(&s, 3).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")), "{body}");
    s.fake.set_outage(Some((400, "Refund amount exceeds the remaining payment amount.")));
    let (status, body) = send(s.host.admin(Method::POST, &refund).json(&json!({"amount": "1.00"}))).await;
    // A refusal is the seed's answer of a refund: `success: false` with the gateway's message.
    assert_eq!((status, body["success"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    s.fake.set_outage(Some((503, "MyGateway is down for maintenance.")));
    let (status, body) = send(s.host.admin(Method::POST, &refund).json(&json!({"amount": "2.00"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("refund_in_doubt")), "{body}");
    let during_outages = s.fake.requests().len() - before_outages;

    let m = MetricsPage::of(&s.host).await;
    let mygateway = ("module", "payment_mygateway");
    let calls = "integrations_provider_calls_total";
    let session = ("export", "create-session");
    assert_eq!(m.value(calls, &[mygateway, session, ("outcome", "declined")]), 1.0, "{}", m.text);
    assert_eq!(m.value(calls, &[mygateway, session, ("outcome", "gateway-unavailable")]), 1.0);
    let refunds_export = ("export", "refund");
    assert_eq!(m.value(calls, &[mygateway, refunds_export, ("outcome", "invalid-request")]), 1.0, "{}", m.text);
    assert_eq!(m.value(calls, &[mygateway, refunds_export, ("outcome", "gateway-unavailable")]), 1.0);
    let refunds = "integrations_refunds_total";
    assert_eq!(m.value(refunds, &[mygateway, ("outcome", "refused")]), 1.0, "{}", m.text);
    assert_eq!(m.value(refunds, &[mygateway, ("outcome", "in_doubt")]), 1.0);
    assert_eq!(m.value(refunds, &[mygateway, ("outcome", "succeeded")]), 0.0);

    // Every request the fake saw during the outages, by the class of what it answered.
    let outbound = "integrations_outbound_requests_total";
    let host = ("host", s.fake.url.as_str());
    let class = |c: &'static str| m.value(outbound, &[mygateway, host, ("status_class", c)]);
    assert_eq!(class("4xx"), 2.0, "{}", m.text);
    assert_eq!(class("4xx") + class("5xx"), during_outages as f64, "{}", m.text);
    assert!(class("5xx") >= 2.0);

    // The reads above went through the reader pool.
    assert!(m.value("integrations_db_connections_open", &[("pool", "reader")]) >= 1.0, "{}", m.text);
}

#[tokio::test]
async fn metrics_count_each_reason_an_outbound_request_is_denied() {
    // The manifest's one name resolves to loopback here: allowed by name, refused by address.
    let server = ConnectionCounter::start(OnConnect::AnswerOk).await;
    let pinned = vec![("api.hostile.example.com".to_string(), format!("127.0.0.1:{}", server.port()).parse().unwrap())];
    let host =
        TestHost::start(HostOptions { with_hostile: true, pinned_names: pinned, ..HostOptions::default() }).await;
    let id = host.enabled_integration(ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain-key"})).await;
    let behave = |behaviour: &str, contact: Value| {
        send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
            "document_model": behaviour, "contact": contact,
        })))
    };
    // Ten requests off the allowlist and one on it: 8 refused as not allowed, then the call's
    // budget of attempts is spent (3).
    let contact = json!({"name": "https://not-allowed.example.com/", "email": "https://api.hostile.example.com/x"});
    let (status, body) = behave("budget", contact).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let (status, body) = behave("forbidden-host", json!({"name": "https://api.hostile.example.com/v1"})).await;
    assert!(status == StatusCode::BAD_GATEWAY && body.to_string().contains("not public"), "{body}");
    let huge = format!("https://api.hostile.example.com/{}", "q".repeat(100 * 1024));
    let (status, body) = behave("forbidden-host", json!({"name": huge})).await;
    assert!(status == StatusCode::BAD_GATEWAY && body.to_string().contains("over the host's limit"), "{body}");

    let m = MetricsPage::of(&host).await;
    let hostile = ("module", "test_hostile");
    let denials = "integrations_outbound_denials_total";
    for (reason, count) in
        [("not_allowed", 8.0), ("budget_exhausted", 3.0), ("non_public_address", 1.0), ("invalid_request", 1.0)]
    {
        assert_eq!(m.value(denials, &[hostile, ("reason", reason)]), count, "{reason}: {}", m.text);
    }
    assert_eq!(m.value("integrations_outbound_requests_total", &[hostile]), 0.0, "nothing was sent");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn metrics_count_failed_and_received_messages() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": "+14155550199" }), None).await;
    sms.fake.set_outage(Some((400, 21211, "The 'To' number +14155550100 is not a valid phone number.")));
    let (status, body) = sms.send("+14155550100", "hello").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    sms.fake.set_outage(None);
    let url = sms.webhook_url();
    let inbound = [
        ("MessageSid", "SM00000000000000000000000000000abc"),
        ("AccountSid", ACCOUNT_SID),
        ("From", "+14155550111"),
        ("To", "+14155550199"),
        ("Body", "STOP"),
        ("NumMedia", "0"),
    ];
    assert_eq!(sms.callback(&inbound, Some(&url), AUTH_TOKEN).await.status(), StatusCode::OK);
    // A status callback about a message nobody sent matches nothing.
    let stray = [
        ("MessageSid", "SM0000000000000000000000000000dead"),
        ("MessageStatus", "delivered"),
        ("AccountSid", ACCOUNT_SID),
    ];
    assert_eq!(sms.callback(&stray, Some(&url), AUTH_TOKEN).await.status(), StatusCode::OK);

    let m = MetricsPage::of(&sms.host).await;
    let twilio = ("module", "sms_twilio");
    let messages = "integrations_messages_total";
    assert_eq!(m.value(messages, &[twilio, ("state", "Failed")]), 1.0, "{}", m.text);
    assert_eq!(m.value(messages, &[twilio, ("state", "Received")]), 1.0);
    assert_eq!(m.value(messages, &[twilio, ("state", "Sent")]), 0.0);
    let calls = "integrations_provider_calls_total";
    assert_eq!(m.value(calls, &[twilio, ("export", "send"), ("outcome", "invalid-request")]), 1.0, "{}", m.text);
    let webhooks = "integrations_webhooks_total";
    assert_eq!(m.value(webhooks, &[("category", "messaging"), twilio, ("outcome", "accepted")]), 1.0);
    assert_eq!(m.value(webhooks, &[("category", "messaging"), twilio, ("outcome", "unmatched")]), 1.0, "{}", m.text);
}
