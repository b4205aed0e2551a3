//! The MyGateway webhook path, measured three ways (see BENCHMARKS.md), after the cost of
//! reading one integration's sealed credentials (0.):
//! 0. `credentials::all` (one SELECT, three AEAD opens with the cached data key) against the
//!    same SELECT without opening;
//! 1. the sandbox cost of one webhook: fresh Store + instantiate + verify + parse;
//! 2. the same verification and parsing done natively, for comparison;
//! 3. signed webhooks through the HTTP API on SQLite, each capturing a pending payment.
//!
//! Run: `cargo bench -p e2e --bench webhook_path` (release build).

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::hmac_sha256_hex;
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use integrations_host::capabilities::{CallContext, CredentialSet};
use integrations_host::domain::provider::{IntegrationInfo, Verification, WebhookRequest};
use integrations_host::runtime::{CallLabel, ProviderPre};
use integrations_host::store::credentials;
use reqwest::Method;
use serde_json::json;

const SANDBOX_ITERATIONS: usize = 5_000;
const CREDENTIAL_READS: usize = 5_000;
const HTTP_WEBHOOKS: usize = 4_000;
const HTTP_CLIENTS: usize = 32;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<6} p50={:>9.2?} p90={:>9.2?} p99={:>9.2?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99)
    );
}

fn webhook(body: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        url: "http://127.0.0.1/payment/webhook/1".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-mygateway-signature".into(), hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes())),
        ],
        body: body.as_bytes().to_vec(),
        received_at: 1_700_000_000,
    }
}

/// What the MyGateway provider does for a webhook, written natively.
fn native_verify_and_parse(request: &WebhookRequest) -> Option<(String, String)> {
    use hmac::{Hmac, Mac};
    let signature = request.headers.iter().find(|(name, _)| name == "x-mygateway-signature")?.1.as_str();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).ok()?;
    mac.update(&request.body);
    mac.verify_slice(&hex::decode(signature).ok()?).ok()?;
    let event: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    Some((event["type"].as_str()?.to_string(), event["data"]["payment_id"].as_str()?.to_string()))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let s = MyGatewayScenario::start().await;
    let app = s.host.app.clone();
    let body = json!({ "type": "payment.completed", "data": { "payment_id": "sess_1" } }).to_string();
    let request = webhook(&body);

    // 0. Reading the sealed credentials, with and without decrypting them.
    let mut samples = Vec::with_capacity(CREDENTIAL_READS);
    for _ in 0..CREDENTIAL_READS {
        let started = Instant::now();
        let values = credentials::all(app.db.read(), &app.keys, s.integration_id).await.unwrap();
        samples.push(started.elapsed());
        assert_eq!(values.len(), 3);
    }
    report("credentials: SELECT + 3 AEAD opens", samples);
    let mut samples = Vec::with_capacity(CREDENTIAL_READS);
    for _ in 0..CREDENTIAL_READS {
        let started = Instant::now();
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT name, sealed FROM credentials WHERE integration_id = $1")
                .bind(s.integration_id)
                .fetch_all(app.db.read())
                .await
                .unwrap();
        samples.push(started.elapsed());
        assert_eq!(rows.len(), 3);
    }
    report("credentials: the same SELECT, nothing opened", samples);

    // 0b. Scrubbing a gateway's answer of the integration's secrets (every form of each).
    let answer = json!({ "id": "sess_1", "status": "completed", "padding": "x".repeat(16 * 1024) }).to_string();
    let mut samples = Vec::with_capacity(CREDENTIAL_READS);
    for _ in 0..CREDENTIAL_READS {
        let started = Instant::now();
        let mut list = integrations_host::capabilities::ScrubList::default();
        for value in [e2e::scenario::SECRET_KEY, WEBHOOK_SECRET] {
            list.secret(value);
        }
        let scrubbed = list.build().bytes(answer.as_bytes()).len();
        samples.push(started.elapsed());
        assert_eq!(scrubbed, answer.len(), "nothing to remove");
    }
    report("scrub: build for 2 secrets + scan a 16 KiB answer", samples);

    // 1. Sandbox cost.
    let module = app.registry.get("payment_mygateway").unwrap();
    let ProviderPre::Payment(pre) = module.pre() else { unreachable!("MyGateway is a payment provider") };
    let values = credentials::all(app.db.read(), &app.keys, s.integration_id).await.unwrap();
    let label = CallLabel {
        module: "payment_mygateway".into(),
        version: "1.0".into(),
        company_id: 1,
        integration_id: s.integration_id,
    };
    let info = IntegrationInfo {
        integration_id: s.integration_id,
        company_id: 1,
        test_mode: true,
        webhook_url: String::new(),
    };
    let mut samples = Vec::with_capacity(SANDBOX_ITERATIONS);
    for round in 0..SANDBOX_ITERATIONS + 200 {
        let call = CallContext::new(
            app.services.clone(),
            module.grants.clone(),
            info.clone(),
            CredentialSet::new(&module.manifest, values.clone()),
        );
        let started = Instant::now();
        let mut instance = app.runtime.payment_instance(pre, label.clone(), module.limits, call).await.unwrap();
        let verdict = instance.verify_webhook(&request).await.unwrap().unwrap();
        let parsed = instance.parse_webhook(&request).await.unwrap().unwrap();
        let elapsed = started.elapsed();
        assert!(matches!(verdict, Verification::Accepted) && parsed.updates.len() == 1);
        if round >= 200 {
            samples.push(elapsed);
        }
    }
    report("sandbox: store+instantiate+verify+parse", samples);

    // 2. Native.
    let mut samples = Vec::with_capacity(SANDBOX_ITERATIONS);
    for _ in 0..SANDBOX_ITERATIONS {
        let started = Instant::now();
        let parsed = std::hint::black_box(native_verify_and_parse(std::hint::black_box(&request)));
        samples.push(started.elapsed());
        assert!(parsed.is_some());
    }
    report("native: verify+parse", samples);

    // 3. HTTP: each webhook captures its own pending payment (state change, Payment row,
    //    webhook log), then the same webhooks again as duplicates.
    let mut sessions = Vec::with_capacity(HTTP_WEBHOOKS);
    for document in 0..HTTP_WEBHOOKS as i64 {
        let id = s.initiate(json!("1.00"), "Redirect", document).await["transaction_id"].as_i64().unwrap();
        sessions.push(s.session_id(id).await);
    }
    let bodies: Arc<Vec<String>> = Arc::new(
        sessions
            .iter()
            .map(|id| json!({ "type": "payment.completed", "data": { "payment_id": id } }).to_string())
            .collect(),
    );
    // Baseline: the same client and server answering GET /healthz (no database, no sandbox).
    {
        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..HTTP_CLIENTS {
            let (http, url) = (s.host.client.clone(), format!("{}/healthz", s.host.url));
            clients.push(tokio::spawn(async move {
                for _ in 0..HTTP_WEBHOOKS / HTTP_CLIENTS {
                    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
                }
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
        let elapsed = started.elapsed();
        println!(
            "{:<44} {:.0} requests/s",
            "http: GET /healthz (harness baseline)",
            HTTP_WEBHOOKS as f64 / elapsed.as_secs_f64()
        );
    }
    for label in ["http: webhook captures a payment", "http: duplicate webhook"] {
        let started = Instant::now();
        let mut clients = Vec::new();
        for client in 0..HTTP_CLIENTS {
            let (bodies, http, url) =
                (bodies.clone(), s.host.client.clone(), format!("{}/payment/webhook/{}", s.host.url, s.integration_id));
            clients.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                for body in bodies.iter().skip(client).step_by(HTTP_CLIENTS) {
                    let sent = Instant::now();
                    let response = http
                        .request(Method::POST, &url)
                        .header("x-mygateway-signature", hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes()))
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for client in clients {
            latencies.extend(client.await.unwrap());
        }
        let elapsed = started.elapsed();
        println!(
            "{label:<44} {:.0} requests/s ({} requests, {HTTP_CLIENTS} clients, {elapsed:.2?})",
            HTTP_WEBHOOKS as f64 / elapsed.as_secs_f64(),
            HTTP_WEBHOOKS
        );
        report(&format!("{label} (latency)"), latencies);
    }
    assert_eq!(s.host.payments("Invoice", 0).await.len(), 1);
}
