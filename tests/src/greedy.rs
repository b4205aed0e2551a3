//! A host where company 2 runs the greedy test guests (`providers/test-guests/greedy*`) beside
//! company 1's MyGateway integration, and the checks the ceiling and fair-share tests repeat:
//! the greedy call fails fast, the host stays up, company 1 is served at once and its data is
//! unchanged.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::host::{send, HostOptions, ADMIN_KEY};
use crate::scenario::MyGatewayScenario;

/// The company running the greedy guests unless a test names another (a test that reads the
/// process-wide log names its own, so another test's lines cannot answer for it).
pub const GREEDY_COMPANY: i64 = 2;

pub struct GreedyScenario {
    /// Company 1's MyGateway integration and its fake gateway; company 1 already has one
    /// captured payment (document 1) and one pending (document 2), so "its data is unchanged"
    /// compares real rows.
    pub other: MyGatewayScenario,
    /// The company running the greedy guests.
    pub company: i64,
    /// Company 2's greedy payment integration.
    pub payment: i64,
    /// Company 2's greedy messaging integration.
    pub messaging: i64,
}

impl GreedyScenario {
    pub async fn start() -> Self {
        Self::start_with(HostOptions::default()).await
    }

    pub async fn start_with(options: HostOptions) -> Self {
        Self::start_for(GREEDY_COMPANY, options).await
    }

    /// The greedy guests run for `company` (not 1).
    pub async fn start_for(company: i64, mut options: HostOptions) -> Self {
        assert_ne!(company, 1, "company 1 is the other company");
        options.fixtures.extend(["test_greedy", "test_greedy_sms"]);
        let other = MyGatewayScenario::start_with(options).await;
        other.captured("5.00", 1).await;
        other.initiate(json!("4.00"), "Redirect", 2).await;
        let payment = other.host.enabled_integration(ADMIN_KEY, company, "test_greedy", json!({})).await;
        let messaging = other.host.enabled_integration(ADMIN_KEY, company, "test_greedy_sms", json!({})).await;
        Self { other, company, payment, messaging }
    }

    /// Initiates a greedy payment with `behaviour` and `n` (see the guest's docs); returns the
    /// answer and how long it took.
    pub async fn session(&self, behaviour: &str, n: i64) -> (StatusCode, Value, Duration) {
        let started = Instant::now();
        let (status, body) = send(self.other.host.admin(Method::POST, "/api/online_payment/initiate").json(&json!({
            "integration_id": self.payment, "amount": "1.00", "currency": "USD",
            "return_url": "https://erp.example/r", "document_model": behaviour, "document_id": n,
        })))
        .await;
        (status, body, started.elapsed())
    }

    /// Posts `command` to the greedy payment integration's public webhook URL.
    pub async fn payment_webhook(&self, command: &str) -> (StatusCode, Value, Duration) {
        self.webhook("payment", self.payment, command).await
    }

    /// Posts `command` to the greedy messaging integration's public webhook URL.
    pub async fn messaging_webhook(&self, command: &str) -> (StatusCode, Value, Duration) {
        self.webhook("messaging", self.messaging, command).await
    }

    async fn webhook(&self, kind: &str, integration: i64, command: &str) -> (StatusCode, Value, Duration) {
        let started = Instant::now();
        let path = format!("/{kind}/webhook/{integration}");
        let (status, body) = send(self.other.host.public(Method::POST, &path).body(command.to_string())).await;
        (status, body, started.elapsed())
    }

    /// A count from the host's database.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(self.other.host.app.db.read()).await.unwrap()
    }

    /// Company 1's transactions, messages and payments as text, to compare before and after.
    pub async fn company_one(&self) -> String {
        let sql = "SELECT row FROM (
            SELECT 't' || id || ':' || state || ':' || refunded_minor || ':' || COALESCE(gateway_status, '') || ':'
                   || COALESCE(provider_data, '') AS row FROM transactions WHERE company_id = 1
            UNION ALL SELECT 'm' || id || ':' || state FROM messages WHERE company_id = 1
            UNION ALL SELECT 'p' || id FROM payments WHERE company_id = 1) AS company_rows ORDER BY row";
        let rows = sqlx::query_scalar::<_, String>(sql).fetch_all(self.other.host.app.db.read()).await.unwrap();
        let rows = rows.join("|");
        assert!(rows.contains("Captured") && rows.contains("Pending"), "company 1's seeded rows: {rows}");
        rows
    }

    /// Company 1 pays at once through MyGateway (initiate, signed webhook, Payment) while
    /// nothing of its earlier data changed.
    pub async fn other_company_is_served(&self) {
        let before = self.count("SELECT COUNT(*) FROM transactions WHERE company_id = 1").await;
        let started = Instant::now();
        let answer = self.other.initiate(json!("5.00"), "Redirect", 900).await;
        let id = answer["transaction_id"].as_i64().unwrap();
        let session = self.other.session_id(id).await;
        let (status, body) =
            self.other.deliver("payment.completed", &session, Some(crate::scenario::WEBHOOK_SECRET)).await;
        assert_eq!((status, body["matched"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
        assert_eq!(self.other.host.transaction(id).await["state"], "Captured");
        assert!(started.elapsed() < Duration::from_secs(5), "company 1 waited {:?}", started.elapsed());
        let after = self.count("SELECT COUNT(*) FROM transactions WHERE company_id = 1").await;
        assert_eq!(after, before + 1, "only company 1's new payment was added");
    }
}

/// Asserts a `provider_failed` answer naming `ceiling`.
pub fn assert_over_ceiling(status: StatusCode, body: &Value, ceiling: &str) {
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("provider_failed")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(ceiling), "the message names {ceiling}: {message}");
    assert!(message.len() < 1024, "the answer is short: {} bytes", message.len());
}
