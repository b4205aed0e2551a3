//! Every webhook attempt is recorded, whatever became of it, and an integration lists them
//! (`GET /api/integrations/{id}/webhooks`, API.md §3), so a merchant can see why a gateway's
//! webhooks are refused.

use e2e::host::send;
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn attempts(s: &MyGatewayScenario, query: &str) -> (StatusCode, Value) {
    send(s.host.admin(Method::GET, &format!("/api/integrations/{}/webhooks{query}", s.integration_id))).await
}

fn outcomes(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_attempt_is_listed_newest_first_with_its_outcome() {
    let s = MyGatewayScenario::start().await;
    let id = s.initiate(json!("4.00"), "Redirect", 70).await["transaction_id"].as_i64().unwrap();
    let session = s.session_id(id).await;

    assert_eq!(s.deliver("payment.completed", &session, Some(WEBHOOK_SECRET)).await.0, StatusCode::OK);
    assert_eq!(s.deliver("payment.completed", &session, Some("forged")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.deliver("payment.completed", "sess_nobody_knows", Some(WEBHOOK_SECRET)).await.0, StatusCode::OK);
    let (status, _) = s.deliver_raw("not json at all".into(), Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, list) = attempts(&s, "").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(outcomes(&list), ["unreadable", "unmatched", "rejected", "accepted"], "{list}");
    let [unreadable, unmatched, rejected, accepted] = [0, 1, 2, 3].map(|i| list[i].clone());
    assert_eq!((accepted["transaction_id"].as_i64(), accepted["signature_valid"].as_bool()), (Some(id), Some(true)));
    assert_eq!(accepted["event_type"], "payment.completed");
    assert_eq!(accepted["detail"], "Pending → Captured");
    assert_eq!(rejected["signature_valid"], false);
    assert_eq!(rejected["detail"], "X-MyGateway-Signature does not match the body", "the provider's reason");
    assert_eq!(
        (unmatched["transaction_id"].clone(), unmatched["detail"].clone()),
        (Value::Null, json!("no matching transaction"))
    );
    assert_eq!(unreadable["signature_valid"], true, "it was verified, then could not be read");
    assert!(unreadable["detail"].as_str().unwrap().starts_with("the provider could not read the event"));

    let (_, only) = attempts(&s, "?outcome=rejected").await;
    assert_eq!(outcomes(&only), ["rejected"]);
    let (_, newest) = attempts(&s, "?limit=2").await;
    assert_eq!(outcomes(&newest), ["unreadable", "unmatched"]);
    for (bad, status, code) in [
        ("?outcome=lost", StatusCode::UNPROCESSABLE_ENTITY, "invalid_outcome"),
        ("?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
        ("?limit=1001", StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
        ("?since=1", StatusCode::BAD_REQUEST, ""),
    ] {
        let (answered, body) = attempts(&s, bad).await;
        assert_eq!(answered, status, "{bad}: {body}");
        if !code.is_empty() {
            assert_eq!(body["error"]["code"], code, "{bad}");
        }
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_company_sees_only_its_own_integrations_attempts_and_its_webhook_url() {
    let s = MyGatewayScenario::start().await;
    let own = s.host.company_key(1).await;
    let other = s.host.company_key(2).await;
    let path = format!("/api/integrations/{}/webhooks", s.integration_id);
    assert_eq!(send(s.host.as_key(&own, Method::GET, &path)).await.0, StatusCode::OK);
    assert_eq!(send(s.host.as_key(&other, Method::GET, &path)).await.0, StatusCode::NOT_FOUND);

    let (_, integration) = send(s.host.admin(Method::GET, &format!("/api/integrations/{}", s.integration_id))).await;
    assert_eq!(integration["webhook_url"], format!("{}/payment/webhook/{}", s.host.url, s.integration_id));
}
