//! The messaging backbone with Twilio: sends, status callbacks in and out of order, inbound
//! messages, signatures computed here from Twilio's documentation, Twilio's errors.

use e2e::fake_twilio::{FakeTwilio, ACCOUNT_SID, AUTH_TOKEN};
use e2e::host::{send, HostOptions, TestHost};
use e2e::twilio_scenario::TwilioScenario;
use e2e::twilio_signature;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CUSTOMER: &str = "+14155550100";
const OUR_NUMBER: &str = "+14155550199";

fn states(message: &Value) -> Vec<&str> {
    message["history"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn sends_from_a_number_with_a_status_callback_to_the_public_url() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let (status, message) = sms.send(CUSTOMER, "Your invoice is ready.").await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!((message["state"].as_str(), message["direction"].as_str()), (Some("Queued"), Some("outbound")));
    let sent = &sms.fake.messages()[0];
    assert_eq!(message["remote_id"].as_str(), Some(sent.sid.as_str()));
    assert_eq!(sent.param("To"), Some(CUSTOMER));
    assert_eq!(sent.param("Body"), Some("Your invoice is ready."));
    assert_eq!(sent.param("From"), Some(OUR_NUMBER));
    assert_eq!(sent.param("MessagingServiceSid"), None, "never both");
    assert_eq!(sent.param("StatusCallback"), Some(sms.webhook_url().as_str()));
}

#[tokio::test]
async fn sends_through_a_messaging_service() {
    let sms =
        TwilioScenario::start(json!({ "twilio_messaging_service_sid": "MG0123456789abcdef0123456789abcdef" }), None)
            .await;
    let (status, _) = sms.send(CUSTOMER, "Hello").await;
    assert_eq!(status, StatusCode::CREATED);
    let sent = &sms.fake.messages()[0];
    assert_eq!(sent.param("MessagingServiceSid"), Some("MG0123456789abcdef0123456789abcdef"));
    assert_eq!(sent.param("From"), None, "never both");
}

#[tokio::test]
async fn status_callbacks_never_move_a_message_backwards() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let url = sms.webhook_url();
    // In order.
    let (_, first) = sms.send(CUSTOMER, "one").await;
    let sid = first["remote_id"].as_str().unwrap().to_string();
    for status in ["sent", "delivered"] {
        let response = sms
            .callback(
                &[("MessageSid", &sid), ("MessageStatus", status), ("AccountSid", ACCOUNT_SID)],
                Some(&url),
                AUTH_TOKEN,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/xml");
        assert!(response.text().await.unwrap().contains("<Response/>"));
    }
    let message = sms.message(first["id"].as_i64().unwrap()).await;
    assert_eq!(states(&message), ["Queued", "Sent", "Delivered"]);

    // Out of order: delivered arrives before sent.
    let (_, second) = sms.send(CUSTOMER, "two").await;
    let sid = second["remote_id"].as_str().unwrap().to_string();
    for status in ["delivered", "sent", "queued"] {
        sms.callback(&[("MessageSid", &sid), ("MessageStatus", status)], Some(&url), AUTH_TOKEN).await;
    }
    let message = sms.message(second["id"].as_i64().unwrap()).await;
    assert_eq!(message["state"], "Delivered");
    assert_eq!(states(&message), ["Queued", "Delivered"]);

    // Undelivered carries Twilio's error code.
    let (_, third) = sms.send(CUSTOMER, "three").await;
    let sid = third["remote_id"].as_str().unwrap().to_string();
    sms.callback(
        &[("MessageSid", &sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")],
        Some(&url),
        AUTH_TOKEN,
    )
    .await;
    let message = sms.message(third["id"].as_i64().unwrap()).await;
    assert_eq!((message["state"].as_str(), message["error_code"].as_str()), (Some("Undelivered"), Some("30003")));
}

#[tokio::test]
async fn inbound_messages_are_stored_once() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let url = sms.webhook_url();
    let params = [
        ("MessageSid", "SM00000000000000000000000000000abc"),
        ("From", CUSTOMER),
        ("To", OUR_NUMBER),
        ("Body", "STOP please"),
        ("NumMedia", "0"),
    ];
    for _ in 0..2 {
        let response = sms.callback(&params, Some(&url), AUTH_TOKEN).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, inbound) =
        send(sms.host.admin(Method::GET, "/api/messaging/messages?company_id=1&direction=inbound")).await;
    assert_eq!(status, StatusCode::OK);
    let inbound = inbound.as_array().unwrap();
    assert_eq!(inbound.len(), 1, "a retried webhook stores nothing new");
    assert_eq!(
        (inbound[0]["state"].as_str(), inbound[0]["from"].as_str(), inbound[0]["body"].as_str()),
        (Some("Received"), Some(CUSTOMER), Some("STOP please"))
    );
}

#[tokio::test]
async fn bad_or_missing_signatures_store_nothing() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let url = sms.webhook_url();
    let (_, sent) = sms.send(CUSTOMER, "hello").await;
    let sid = sent["remote_id"].as_str().unwrap().to_string();
    let status_update = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
    let inbound =
        [("MessageSid", "SM0000000000000000000000000000beef"), ("From", CUSTOMER), ("To", OUR_NUMBER), ("Body", "hi")];
    for (params, signed_url, token) in [
        (&status_update[..], None, AUTH_TOKEN),
        (&status_update[..], Some(url.as_str()), "wrong-token"),
        (&inbound[..], Some("https://elsewhere.example/messaging/webhook/1"), AUTH_TOKEN),
        (&inbound[..], None, AUTH_TOKEN),
    ] {
        let response = sms.callback(params, signed_url, token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sms.message(sent["id"].as_i64().unwrap()).await["state"], "Queued");
    let (_, listed) = send(sms.host.admin(Method::GET, "/api/messaging/messages?direction=inbound")).await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn signatures_cover_repeated_parameters_query_strings_and_default_ports_behind_a_proxy() {
    // Behind a proxy: Twilio calls https://sms.example.com, the host listens on 127.0.0.1.
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), Some("https://sms.example.com")).await;
    let path = format!("/messaging/webhook/{}", sms.integration_id);
    let (_, sent) = sms.send(CUSTOMER, "hello").await;
    assert_eq!(sms.fake.messages()[0].param("StatusCallback"), Some(format!("https://sms.example.com{path}").as_str()));
    let sid = sent["remote_id"].as_str().unwrap().to_string();

    // A query string in the URL and a repeated parameter name, sorted by name then value.
    let params = [("MessageSid", sid.as_str()), ("MessageStatus", "sent"), ("Tag", "b"), ("Tag", "a")];
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let signed = |url: &str| twilio_signature(AUTH_TOKEN, url, &params);
    let post = |signature: String| {
        sms.host
            .public(Method::POST, &format!("{path}?channel=sms"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body.clone())
            .send()
    };
    let local = format!("{}{path}?channel=sms", sms.host.url);
    assert_eq!(
        post(signed(&local)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the public URL is what is signed"
    );
    assert_eq!(
        post(signed(&format!("https://sms.example.com{path}?channel=sms"))).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        post(signed(&format!("https://sms.example.com:443{path}?channel=sms"))).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        post(signed(&format!("https://sms.example.com:8443{path}?channel=sms"))).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sms.message(sent["id"].as_i64().unwrap()).await["state"], "Sent");
}

#[tokio::test]
async fn twilio_errors_reach_the_erp_with_twilios_message() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    sms.fake.set_outage(Some((400, 21211, "The 'To' number +14155550100 is not a valid phone number.")));
    let (status, body) = sms.send(CUSTOMER, "hello").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")),
        "{body}"
    );
    let expected = "Twilio error 21211: The 'To' number +14155550100 is not a valid phone number.";
    assert_eq!(body["error"]["message"], expected);
    let message = sms.message(body["error"]["message_id"].as_i64().unwrap()).await;
    assert_eq!((message["state"].as_str(), message["error_message"].as_str()), (Some("Failed"), Some(expected)));

    sms.fake.set_outage(Some((503, 20503, "Service unavailable")));
    let (status, body) = sms.send(CUSTOMER, "hello").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("gateway_error")));
    sms.fake.set_outage(None);
    let (status, _) = sms.send(CUSTOMER, "hello").await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_wrong_auth_token_cannot_be_enabled() {
    let fake = FakeTwilio::start().await;
    let host = TestHost::start(HostOptions {
        modules: vec!["sms_twilio"],
        endpoints: vec![fake.endpoint_flag()],
        ..HostOptions::default()
    })
    .await;
    let (_, created) = send(
        host.admin(Method::POST, "/api/integrations")
            .json(&json!({"company_id": 1, "module": "sms_twilio", "name": "SMS"})),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let enable = || send(host.admin(Method::POST, &format!("/api/integrations/{id}/enable")));
    let credentials =
        |value: Value| send(host.admin(Method::PUT, &format!("/api/integrations/{id}/credentials")).json(&value));
    credentials(json!({"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": "00000000000000000000000000000000", "twilio_from_number": OUR_NUMBER})).await;
    let (status, body) = enable().await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("Twilio error 20003: Authenticate"))
    );
    credentials(json!({"twilio_from_number": null})).await;
    let (_, body) = enable().await;
    assert_eq!(body["error"]["message"], "Please enter a Twilio From number or a Messaging Service SID.");
    credentials(json!({"twilio_auth_token": AUTH_TOKEN, "twilio_from_number": OUR_NUMBER})).await;
    let (status, body) = enable().await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("Enabled")));
}

#[tokio::test]
async fn numbers_and_bodies_are_checked_before_anything_is_sent() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let requests_before = sms.fake.requests.count();
    for (to, body, code) in [
        ("4155550100", "hi", "invalid_phone_number"),
        ("+0155550100", "hi", "invalid_phone_number"),
        (CUSTOMER, "", "invalid_body"),
        (CUSTOMER, &"x".repeat(1601), "invalid_body"),
    ] {
        let (status, answer) = sms.send(to, body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)));
    }
    let (status, _) = sms.send(CUSTOMER, &"é".repeat(1600)).await;
    assert_eq!(status, StatusCode::CREATED, "1,600 characters, not bytes");
    assert_eq!(sms.fake.requests.count(), requests_before + 1);
    let (_, listed) = send(sms.host.admin(Method::GET, "/api/messaging/messages?company_id=1")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "refused sends stored nothing");
}

#[tokio::test]
async fn a_retried_send_with_an_idempotency_key_sends_once() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let request = || {
        sms.host
            .admin(Method::POST, "/api/messaging/send")
            .header("Idempotency-Key", "reminder-42")
            .json(&json!({ "company_id": 1, "to": CUSTOMER, "body": "Reminder" }))
    };
    let (first_status, first) = send(request()).await;
    let (second_status, second) = send(request()).await;
    assert_eq!((first_status, second_status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first["id"], second["id"]);
    assert_eq!(sms.fake.messages().len(), 1);
}

#[tokio::test]
async fn an_integration_with_messages_is_not_deleted() {
    let sms = TwilioScenario::start(json!({ "twilio_from_number": OUR_NUMBER }), None).await;
    let (status, message) = sms.send(CUSTOMER, "Your invoice is ready.").await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let path = format!("/api/integrations/{}", sms.integration_id);
    let (status, body) = send(sms.host.admin(Method::DELETE, &path)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("integration_in_use")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1 messages"), "{body}");
    let (status, kept) = send(sms.host.admin(Method::GET, &path)).await;
    assert_eq!((status, kept["id"].as_i64()), (StatusCode::OK, Some(sms.integration_id)), "{kept}");
    let (status, read) = send(sms.host.admin(Method::GET, &format!("/api/messaging/messages/{}", message["id"]))).await;
    assert_eq!((status, read["integration_id"].as_i64()), (StatusCode::OK, Some(sms.integration_id)), "{read}");
}
