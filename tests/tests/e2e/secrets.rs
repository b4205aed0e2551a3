//! Secrets never appear in logs, errors or responses, whatever happens.

use e2e::host::send;
use e2e::logs;
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use e2e::test_servers::{ConnectionCounter, EchoServer, OnConnect};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn secrets_stay_out_of_logs_and_answers() {
    logs::capture();
    let s = MyGatewayScenario::start().await;
    let mut answers = Vec::new();
    let answer = s.initiate(json!("7.00"), "Embedded JS", 80).await;
    let id = answer["transaction_id"].as_i64().unwrap();
    answers.push(answer);
    let session_id = s.session_id(id).await;
    let (status, accepted) = s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    answers.push(accepted);
    let (status, forged) = s.deliver("payment.completed", &session_id, Some("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{forged}");
    answers.push(forged);
    let (status, refunded) = send(
        s.host
            .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
            .json(&json!({"amount": "1.00"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the refund went through the provider: {refunded}");
    answers.push(refunded);
    s.fake.set_outage(Some((401, "Invalid API key provided.")));
    let (status, refused) =
        send(s.host.admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund")).json(&json!({})))
            .await;
    assert_eq!(status, StatusCode::OK);
    answers.push(refused);
    answers.push(send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await.1);
    answers.push(s.host.transaction(id).await);

    let logged = logs::text();
    assert!(logged.contains("outbound request"), "the capture sees the host's logs");
    assert!(logged.contains("webhook rejected"));
    for secret in [SECRET_KEY, WEBHOOK_SECRET] {
        assert!(!logged.contains(secret), "a secret reached the log");
        for answer in &answers {
            assert!(!answer.to_string().contains(secret), "a secret reached an answer: {answer}");
        }
    }
    // The plain publishable key is meant for the browser.
    assert_eq!(answers[0]["client_config"]["api_key"], API_KEY);
}

#[tokio::test]
async fn a_gateway_echoing_a_secret_hands_the_sandbox_only_the_marker() {
    logs::capture();
    let echo = EchoServer::start().await.url;
    let host = e2e::host::TestHost::start(e2e::host::HostOptions {
        with_hostile: true,
        endpoints: vec![format!("test_hostile.api={echo}")],
        ..Default::default()
    })
    .await;
    // Characters that URL-encoding, base64 and JSON each change.
    let secret = "sk_echo/Secret+Value=42";
    // The guest is given the value as a plain credential so it can check what it receives.
    let credentials = json!({"api_key": "acct_plain_7", "secret_key": secret, "probe_value": secret});
    let id = host.enabled_integration(e2e::host::ADMIN_KEY, 1, "test_hostile", credentials).await;
    let (status, body) = send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
        "integration_id": id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
        "document_model": "echo", "contact": {"name": format!("{echo}/v1/echo")},
    })))
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let answer = body["error"]["message"].as_str().unwrap();
    assert!(answer.starts_with("echo: "), "the guest saw no secret: {answer}");
    // Every reflected form arrived as the marker, the rest of the answer intact.
    for field in ["\"raw\":\"[REDACTED]\"", "\"raw_base64\":\"[REDACTED]\"", "\"raw_urlencoded\":\"[REDACTED]\""] {
        assert!(answer.contains(field), "{field} in {answer}");
    }
    assert!(answer.contains("\"authorization\":\"Bearer [REDACTED]\""), "{answer}");
    assert!(answer.contains("\"basic\":\"Basic [REDACTED]\""), "the Basic pair's base64: {answer}");
    assert!(answer.contains("x-echo-authorization=Bearer [REDACTED]"), "response headers too: {answer}");
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("acct_plain_7:{secret}"));
    let logged = logs::text();
    assert!(logged.contains("echo answered"), "the guest's log line is there");
    for form in [secret.to_string(), basic, url::form_urlencoded::byte_serialize(secret.as_bytes()).collect()] {
        assert!(!answer.contains(&form), "{form} reached the answer");
        assert!(!logged.contains(&form), "{form} reached the log");
    }
}

#[tokio::test]
async fn a_provider_cannot_ask_for_responses_the_host_cannot_scrub() {
    let server = ConnectionCounter::start(OnConnect::AnswerGzip).await;
    let url = server.url.clone();
    let host = e2e::host::TestHost::start(e2e::host::HostOptions {
        with_hostile: true,
        endpoints: vec![format!("test_hostile.api={url}")],
        ..Default::default()
    })
    .await;
    let id = host.enabled_integration(e2e::host::ADMIN_KEY, 1, "test_hostile", json!({"api_key": "plain"})).await;
    let behave = |contact: serde_json::Value| {
        send(host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": id, "amount": "1.00", "currency": "USD", "return_url": "https://erp.example/r",
            "document_model": "header", "contact": contact,
        })))
    };
    // Compression and ranges would let an echoed secret through in pieces or packed.
    for (name, value) in [("Accept-Encoding", "gzip"), ("range", "bytes=0-3"), ("If-Range", "\"etag\"")] {
        let (status, body) = behave(json!({"name": format!("{url}/x"), "email": name, "phone": value})).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("the `{name}` header is refused")), "{name}: {message}");
    }
    assert_eq!(server.connections(), 0, "no refused request was sent");
    // A compressed answer nobody asked for is not handed over.
    let (status, body) = behave(json!({"name": format!("{url}/x"), "email": "X-Request-Id", "phone": "1"})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("the response is compressed (Content-Encoding `gzip`)"), "{message}");
    assert_eq!(server.connections(), 1);
}
