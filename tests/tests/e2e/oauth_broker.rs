//! The host's OAuth client-credentials broker (contract 1.1.0), through the `test_oauth`
//! guest and a fake OAuth API on 127.0.0.1: the host gets the token, keeps it per
//! integration, renews it before it expires and after a 401, spends the call's budget on it,
//! and the token never reaches a sandbox, an answer or the log.

use e2e::fake_oauth::{FakeOAuth, TOKEN_PREFIX};
use e2e::host::{send, HostOptions, TestHost, ADMIN_KEY};
use e2e::logs;
use integrations_host::capabilities::SCRUB_MARKER as REDACTED;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CLIENT_ID: &str = "oauth-client-7f3a";
const CLIENT_SECRET: &str = "oauth-secret-b91c44e0d2";
const WRONG_SECRET: &str = "oauth-wrong-secret-55aa01";

struct Broker {
    host: TestHost,
    fake: FakeOAuth,
    integration_id: i64,
}

impl Broker {
    async fn start() -> Self {
        let fake = FakeOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
        let host = TestHost::start(HostOptions {
            fixtures: vec!["test_oauth"],
            endpoints: vec![fake.endpoint_flag("test_oauth")],
            ..HostOptions::default()
        })
        .await;
        let integration_id = integration(&host, 1).await;
        Self { host, fake, integration_id }
    }

    /// Runs one of the guest's behaviours; answers its report (the guest always refuses).
    async fn run(&self, integration_id: i64, behaviour: &str) -> String {
        let (status, body) = send(self.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": integration_id, "amount": "1.00", "currency": "USD",
            "return_url": "https://erp.example/r", "document_model": behaviour,
        })))
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("gateway_refused")),
            "{body}"
        );
        body["error"]["message"].as_str().unwrap().to_string()
    }
}

async fn integration(host: &TestHost, company_id: i64) -> i64 {
    let credentials = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "wrong_secret": WRONG_SECRET});
    host.enabled_integration(ADMIN_KEY, company_id, "test_oauth", credentials).await
}

fn assert_no_token(text: &str, tokens: &[String]) {
    for token in tokens {
        assert!(!text.contains(token.as_str()), "a token reached the sandbox or an answer: {text}");
    }
    assert!(!text.contains(TOKEN_PREFIX), "{text}");
    assert!(!text.contains(CLIENT_SECRET) && !text.contains(WRONG_SECRET), "{text}");
}

#[tokio::test]
async fn the_host_obtains_injects_and_hides_the_access_token() {
    logs::capture();
    let s = Broker::start().await;
    let report = s.run(s.integration_id, "echo").await;

    // The gateway got the token the host obtained, the client authenticated as RFC 6749 says.
    let tokens = s.fake.issued_tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(s.fake.echoed(), [Some(format!("Bearer {}", tokens[0]))]);
    let asked = &s.fake.token_requests()[0];
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(asked.authorization(), Some(format!("Basic {basic}").as_str()));
    assert_eq!(asked.content_type(), Some("application/x-www-form-urlencoded"));
    assert_eq!(asked.body, "grant_type=client_credentials&scope=echo%3Aread");

    // The sandbox saw the echo with every form of the token replaced, in headers and body.
    assert!(report.starts_with("status 200; "), "{report}");
    assert!(report.contains(&format!("x-echo-authorization: Bearer {REDACTED}")), "{report}");
    assert!(report.contains(&format!(r#""authorization":"Bearer {REDACTED}""#)), "{report}");
    assert!(report.contains(&format!(r#""base64":"{REDACTED}""#)), "{report}");
    assert!(report.contains(&format!(r#""form":"{REDACTED}""#)), "{report}");
    assert_no_token(&report, &tokens);

    // The token request is logged like any request, without values.
    let logged = logs::text();
    assert!(logged.contains("purpose=\"oauth token\"") || logged.contains("purpose=oauth token"), "{logged}");
    assert_no_token(&logged, &tokens);
}

#[tokio::test]
async fn a_token_is_kept_per_integration_and_renewed_before_it_expires_and_after_a_401() {
    let s = Broker::start().await;
    for _ in 0..3 {
        assert!(s.run(s.integration_id, "echo").await.starts_with("status 200"));
    }
    assert_eq!(s.fake.token_requests().len(), 1, "three calls shared one token");

    // Another company's integration of the same module, with the same app, gets its own.
    let other = integration(&s.host, 2).await;
    assert!(s.run(other, "echo").await.starts_with("status 200"));
    assert!(s.run(other, "echo").await.starts_with("status 200"));
    let tokens = s.fake.issued_tokens();
    assert_eq!(tokens.len(), 2);
    let echoed = s.fake.echoed();
    assert_eq!(echoed[4], Some(format!("Bearer {}", tokens[1])));
    assert!(echoed[..3].iter().all(|e| e.as_deref() == Some(format!("Bearer {}", tokens[0]).as_str())));

    // The API refuses the kept token: the host renews it once and resends the request.
    s.fake.revoke_all();
    assert!(s.run(s.integration_id, "echo").await.starts_with("status 200"));
    let tokens = s.fake.issued_tokens();
    assert_eq!(tokens.len(), 3);
    let echoed = s.fake.echoed();
    let last_two = &echoed[echoed.len() - 2..];
    assert_eq!(last_two, [Some(format!("Bearer {}", tokens[0])), Some(format!("Bearer {}", tokens[2]))]);
    assert!(s.run(s.integration_id, "echo").await.starts_with("status 200"));
    assert_eq!(s.fake.issued_tokens().len(), 3, "the renewed token is kept");

    // A token that lives no longer than the host's renewal margin (60 s) is never reused,
    // although the gateway would still take it: renewed before it expires.
    s.fake.set_expires_in(Some(45));
    s.fake.revoke_all();
    for expected in [4, 5, 6] {
        assert!(s.run(other, "echo").await.starts_with("status 200"));
        assert_eq!(s.fake.issued_tokens().len(), expected);
    }
    // Without `expires_in` the host keeps the token a short while.
    s.fake.set_expires_in(None);
    assert!(s.run(other, "echo").await.starts_with("status 200"));
    assert!(s.run(other, "echo").await.starts_with("status 200"));
    assert_eq!(s.fake.issued_tokens().len(), 7);
}

#[tokio::test]
async fn a_changed_secret_gets_a_new_token() {
    let s = Broker::start().await;
    assert!(s.run(s.integration_id, "echo").await.starts_with("status 200"));
    let path = format!("/api/integrations/{}/credentials", s.integration_id);
    let (status, _) = send(s.host.admin(Method::PUT, &path).json(&json!({"client_secret": WRONG_SECRET}))).await;
    assert_eq!(status, StatusCode::OK);
    // The token kept for the old secret is not used with the new one.
    let report = s.run(s.integration_id, "echo").await;
    assert_eq!(report, "error HttpError::AuthorizationFailed(\"401 invalid_client: Client authentication failed\")");
    assert_eq!(s.fake.token_requests().len(), 2);
    assert_eq!(s.fake.echoed().len(), 1);
}

#[tokio::test]
async fn concurrent_calls_of_one_integration_share_one_token_request() {
    let s = Broker::start().await;
    let calls = (0..6).map(|_| s.run(s.integration_id, "echo"));
    for report in futures_util::future::join_all(calls).await {
        assert!(report.starts_with("status 200"), "{report}");
    }
    assert_eq!(s.fake.token_requests().len(), 1, "the calls waited for one token instead of each asking");
    assert_eq!(s.fake.echoed().len(), 6);
}

#[tokio::test]
async fn refusals_and_outages_of_the_token_endpoint_reach_the_guest_without_secrets() {
    logs::capture();
    let s = Broker::start().await;
    let report = s.run(s.integration_id, "wrong-secret").await;
    assert_eq!(report, "error HttpError::AuthorizationFailed(\"401 invalid_client: Client authentication failed\")");
    assert_no_token(&report, &[]);

    s.fake.set_token_outage(Some(503));
    let report = s.run(s.integration_id, "echo").await;
    assert_eq!(report, "error HttpError::ConnectionFailed(\"the OAuth token endpoint answered 503\")");
    s.fake.set_token_outage(None);
    assert_eq!(s.fake.echoed().len(), 0, "no API request went out without a token");

    let report = s.run(s.integration_id, "foreign-token-url").await;
    assert!(
        report.starts_with("error HttpError::Denied(\"the OAuth token URL: https://tokens.elsewhere.example.com"),
        "{report}"
    );
    assert_no_token(&logs::text(), &s.fake.issued_tokens());
}

#[tokio::test]
async fn the_token_request_spends_the_call_budget() {
    let s = Broker::start().await;
    // 8 requests per call: the token, then seven API requests; the eighth API request is over.
    let report = s.run(s.integration_id, "echo:8").await;
    let expected: Vec<&str> = std::iter::repeat_n("status-200", 7).chain(["HttpError::TooManyRequests"]).collect();
    assert_eq!(report, format!("outcomes: {}", expected.join(",")));
    assert_eq!(s.fake.token_requests().len(), 1);
}

/// The modules list of a host running 1.0.0 and 1.1.0 components side by side.
pub(crate) async fn worlds(host: &TestHost) -> Vec<(String, String)> {
    let (_, modules) = send(host.admin(Method::GET, "/api/modules")).await;
    let mut worlds: Vec<(String, String)> = modules
        .as_array()
        .unwrap()
        .iter()
        .map(|m: &Value| (m["identifier"].as_str().unwrap().into(), m["world"].as_str().unwrap().into()))
        .collect();
    worlds.sort();
    worlds
}
