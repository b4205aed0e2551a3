//! Secrets never appear in logs, errors or responses, whatever happens.

use e2e::host::send;
use e2e::logs;
use e2e::scenario::{MyGatewayScenario, API_KEY, SECRET_KEY, WEBHOOK_SECRET};
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
    answers.push(s.deliver("payment.completed", &session_id, Some(WEBHOOK_SECRET)).await.1);
    answers.push(s.deliver("payment.completed", &session_id, Some("forged")).await.1);
    answers.push(
        send(
            s.host
                .admin(Method::POST, &format!("/api/online_payment/transaction/{id}/refund"))
                .json(&json!({"amount": "1.00"})),
        )
        .await
        .1,
    );
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
