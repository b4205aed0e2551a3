//! Contract fuzzing (issue 12, point 4), run by `cargo xtask fuzz-contract`: the built
//! `integrations-host` binary serves a fresh data folder on 127.0.0.1 with MyGateway and
//! Twilio pointed at the fake gateways of `tests/src`; the admin key it prints at its first
//! start seeds a company key and real data (enabled integrations, a captured and partly refunded
//! payment, a message, an event endpoint, a payment link), then schemathesis runs against the
//! host's own `/api/openapi.json`, once with the admin key and once with the company key (the
//! admin key's uninstalling of modules last, on its own).
//! Every failure schemathesis reports fails the run (exit 1).
//!
//! `contract_fuzz SCHEMATHESIS MAX_EXAMPLES [ARGS…]`: `SCHEMATHESIS` is the `st` command to
//! run; `ARGS` go to every run (`--include-operation-id send_message`, `--seed N`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitCode, Stdio};
use std::time::Instant;

use e2e::event_receiver::EventReceiver;
use e2e::fake_mygateway::FakeMyGateway;
use e2e::fake_twilio::{FakeTwilio, ACCOUNT_SID, AUTH_TOKEN};
use e2e::hmac_sha256_hex;
use e2e::host::{install, repo};
use e2e::scenario::{API_KEY, SECRET_KEY, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every check schemathesis has: no 5xx, every answer, status, content type and header as
/// documented, a request breaking the document's rules refused, auth never ignored, a deleted
/// resource gone, a created one there, undocumented methods and missing headers refused.
const CHECKS: &str = "all";

/// Replaced, not dropped: `positive_data_acceptance` judges a refusal of a request the document
/// allows by its status alone. `tests/contract_fuzz/hooks.py` adds
/// `positive_data_acceptance_by_code`, which reads the refusal's `error.code` and lets through
/// only the refusals no schema can state (a module that is not installed, credentials the
/// gateway refuses, a refund over what is left…, each with its reason there); any other 4xx of
/// a positive case (`invalid_field`, `missing_field`, a length or pattern the document did not
/// state) fails the run.
const EXCLUDED_CHECKS: &str = "positive_data_acceptance";

/// The hooks file holding that check, loaded by schemathesis through `SCHEMATHESIS_HOOKS`.
const HOOKS: &str = "tests/contract_fuzz/hooks.py";

/// The operation that takes a module out of service (see the order of the runs).
const UNINSTALL: &str = "uninstall_module";

/// What `serve` prints once at the first start.
const ADMIN_KEY_LINE: &str = "Generated admin key (shown once, stored hashed): ";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(schemathesis), Some(max_examples)) = (args.first(), args.get(1)) else {
        eprintln!("usage: contract_fuzz SCHEMATHESIS MAX_EXAMPLES [ARGS…]");
        return ExitCode::from(2);
    };
    let extra = &args[2..];
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mygateway = FakeMyGateway::start(SECRET_KEY).await;
    let twilio = FakeTwilio::start().await;
    let receiver = EventReceiver::start(0).await;
    let mut host = Host::start(dir.path(), &[mygateway.endpoint_flag(), twilio.endpoint_flag()]);
    let company_key = seed(&host, &mygateway, &receiver).await;
    let document = dir.path().join("openapi.json");
    let (status, text) = get_text(&format!("{}/api/openapi.json", host.url)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    std::fs::write(&document, text).expect("the document is written");

    let seeded = (mygateway.requests().len(), twilio.messages().len());
    let started = Instant::now();
    let mut failed = Vec::new();
    // Uninstalling the module takes every integration's module away (503
    // `module_not_installed` from then on, as documented), so it runs last, on its own.
    let runs = [
        ("admin key", host.admin_key.clone(), ["--exclude-operation-id", UNINSTALL]),
        ("company key", company_key, ["--exclude-operation-id", UNINSTALL]),
        ("admin key, uninstalling modules", host.admin_key.clone(), ["--include-operation-id", UNINSTALL]),
    ];
    for (who, key, selection) in runs {
        let run = || {
            println!("\n=== contract fuzz with the {who} ===");
            // In the temporary folder, where schemathesis keeps its cache of failures.
            let output = Command::new(schemathesis)
                .current_dir(dir.path())
                .env("SCHEMATHESIS_HOOKS", repo().join(HOOKS))
                .arg("run")
                .arg(&document)
                .args(["--url", &host.url, "--header", &format!("Authorization: Bearer {key}")])
                .args(["--checks", CHECKS, "--exclude-checks", EXCLUDED_CHECKS])
                .args(["--max-examples", max_examples, "--request-timeout", "30", "--no-color"])
                .args(["--workers", "2", "--suppress-health-check", "all"])
                .args(selection)
                .args(extra)
                .output()
                .expect("schemathesis runs");
            print!("{}", String::from_utf8_lossy(&output.stdout));
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            output
        };
        let mut output = run();
        if !output.status.success() && only_the_interpreter_bug(&output) {
            // CPython 3.11.7's AST depth bookkeeping (python/cpython#106905) can fail
            // Hypothesis while it describes a strategy: an error of the tool, no finding
            // about the API. The run is repeated once; a check failure never is.
            println!("contract fuzz: schemathesis met CPython bug #106905 (no check failed); running it again");
            output = run();
        }
        if !output.status.success() {
            failed.push(who);
        }
    }
    println!(
        "\ncontract fuzz: {:.0} s for the runs; they reached MyGateway {} times and sent {} messages through Twilio",
        started.elapsed().as_secs_f64(),
        mygateway.requests().len() - seeded.0,
        twilio.messages().len() - seeded.1,
    );
    let stopped = host.stop();
    match (failed.is_empty(), stopped) {
        (true, Ok(())) => ExitCode::SUCCESS,
        (_, stopped) => {
            eprintln!("contract fuzz failed: schemathesis failed with the {failed:?}; the host {stopped:?}");
            eprintln!("host log: {}", host.log.display());
            // Keep the folder (log, database, document) for a look.
            let _ = dir.keep();
            ExitCode::FAILURE
        }
    }
}

/// The real binary, started as an operator would, on a port the system picks.
struct Host {
    url: String,
    admin_key: String,
    log: PathBuf,
    child: Child,
}

impl Host {
    fn start(dir: &Path, endpoints: &[String]) -> Self {
        let modules = dir.join("modules");
        for identifier in ["payment_mygateway", "sms_twilio"] {
            install(&modules, identifier, &repo().join(format!("manifests/{identifier}.yaml")));
        }
        let binary = std::env::current_exe().expect("this binary").with_file_name("integrations-host");
        let mut command = Command::new(&binary);
        command.args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"]);
        command.arg("--database").arg(format!("sqlite://{}", dir.join("data/host.db").display()));
        command.arg("--modules").arg(&modules);
        for endpoint in endpoints {
            command.args(["--endpoint", endpoint]);
        }
        command.env_remove("INTEGRATIONS_HOST_ADMIN_KEY").env("RUST_LOG", "warn,integrations_host::server=info");
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| {
            panic!("{} starts (build it with `cargo build -p integrations-host`): {e}", binary.display())
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines().map_while(Result::ok);
        let admin_key = stdout
            .by_ref()
            .find_map(|line| line.split_once(ADMIN_KEY_LINE).map(|(_, key)| key.trim().to_string()))
            .expect("the first start prints the generated admin key");
        // Whatever else it prints is read and dropped, so it never writes to a closed pipe.
        std::thread::spawn(move || stdout.for_each(drop));
        let log = dir.join("host.log");
        let address = serving_address(child.stderr.take().expect("piped stderr"), &log);
        Self { url: format!("http://{address}"), admin_key, log, child }
    }

    /// SIGTERM, then the exit status the operator would see (0 after a clean stop).
    fn stop(&mut self) -> Result<(), String> {
        // SAFETY: a signal to the child this process started and has not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        match self.child.wait() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("exited with {status}")),
            Err(e) => Err(format!("could not be waited for: {e}")),
        }
    }
}

/// Reads the host's JSON log until its `serving` line and answers the bound address; the rest
/// of the log is copied to `log` on a thread, so the host never blocks on a full pipe.
fn serving_address(stderr: ChildStderr, log: &Path) -> String {
    let mut file = std::fs::File::create(log).expect("the log file");
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    let address = lines.by_ref().find_map(|line| {
        let _ = writeln!(file, "{line}");
        let entry: Value = serde_json::from_str(&line).ok()?;
        (entry["fields"]["message"] == "serving").then(|| entry["fields"]["address"].as_str().map(str::to_string))?
    });
    std::thread::spawn(move || {
        for line in lines {
            let _ = writeln!(file, "{line}");
        }
    });
    address.unwrap_or_else(|| panic!("the host stopped before serving; see {}", log.display()))
}

async fn get_text(url: &str) -> (StatusCode, String) {
    let response = reqwest::get(url).await.expect("the host answers");
    (response.status(), response.text().await.expect("a body"))
}

/// One request with `key`; panics unless it answers `expected`.
async fn call(host: &Host, key: &str, method: Method, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
    let mut request = reqwest::Client::new().request(method.clone(), format!("{}{path}", host.url)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the host answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, expected, "seeding: {method} {path} answered {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Real data for the fuzzer to find at small ids: answers the company key (company 1).
async fn seed(host: &Host, mygateway: &FakeMyGateway, receiver: &EventReceiver) -> String {
    let admin = host.admin_key.as_str();
    let key = call(
        host,
        admin,
        Method::POST,
        "/api/admin/api_keys",
        Some(json!({"company_id": 1, "name": "contract fuzz"})),
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .expect("a key")
        .to_string();
    call(
        host,
        admin,
        Method::POST,
        "/api/admin/event_endpoints",
        Some(json!({"url": receiver.url, "secret": e2e::event_receiver::ENDPOINT_SECRET})),
        StatusCode::CREATED,
    )
    .await;
    let payment = enabled(
        host,
        "payment_mygateway",
        json!({"mygateway_api_key": API_KEY, "mygateway_secret_key": SECRET_KEY, "mygateway_webhook_secret": WEBHOOK_SECRET}),
    )
    .await;
    let sms = json!({"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "twilio_from_number": "+14155550100"});
    enabled(host, "sms_twilio", sms).await;
    let initiate = json!({
        "integration_id": payment, "amount": "19.99", "currency": "USD", "document_model": "Invoice", "document_id": 1,
        "return_url": "https://erp.example/portal/invoice/1",
    });
    let started =
        call(host, admin, Method::POST, "/api/online_payment/initiate", Some(initiate), StatusCode::CREATED).await;
    let transaction = started["transaction_id"].as_i64().expect("a transaction id");
    let shown =
        call(host, admin, Method::GET, &format!("/api/online_payment/transaction/{transaction}"), None, StatusCode::OK)
            .await;
    let session = shown["gateway_reference"].as_str().expect("a gateway session").to_string();
    mygateway.set_status(&session, "completed");
    let event = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
    let delivered = reqwest::Client::new()
        .post(format!("{}/payment/webhook/{payment}", host.url))
        .header("content-type", "application/json")
        .header("X-MyGateway-Signature", hmac_sha256_hex(WEBHOOK_SECRET, event.as_bytes()))
        .body(event)
        .send()
        .await
        .expect("the host answers");
    assert_eq!(delivered.status(), StatusCode::OK, "seeding: the payment webhook");
    let refund = format!("/api/online_payment/transaction/{transaction}/refund");
    let refunded = call(host, admin, Method::POST, &refund, Some(json!({"amount": "1.00"})), StatusCode::OK).await;
    assert_eq!(refunded["success"], true, "seeding: the refund {refunded}");
    let link = json!({"company_id": 1, "document_model": "Invoice", "document_id": 2, "amount": "5.00", "currency": "EUR", "description": "Invoice 2"});
    call(host, admin, Method::POST, "/api/online_payment/links", Some(link), StatusCode::CREATED).await;
    let message = json!({"company_id": 1, "to": "+14155550123", "body": "Your invoice is ready."});
    call(host, admin, Method::POST, "/api/messaging/send", Some(message), StatusCode::CREATED).await;
    key
}

/// Creates, configures and enables an integration of `module` for company 1.
async fn enabled(host: &Host, module: &str, credentials: Value) -> i64 {
    let admin = host.admin_key.as_str();
    let created = json!({"company_id": 1, "module": module, "name": format!("{module} (contract fuzz)")});
    let id = call(host, admin, Method::POST, "/api/integrations", Some(created), StatusCode::CREATED).await["id"]
        .as_i64()
        .expect("an integration id");
    call(host, admin, Method::PUT, &format!("/api/integrations/{id}/credentials"), Some(credentials), StatusCode::OK)
        .await;
    call(host, admin, Method::POST, &format!("/api/integrations/{id}/enable"), None, StatusCode::OK).await;
    id
}

/// Whether a failed schemathesis run failed only by CPython's AST recursion bookkeeping bug:
/// its errors name the bug and no check failed.
fn only_the_interpreter_bug(output: &std::process::Output) -> bool {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    text.contains("AST constructor recursion depth mismatch") && !text.contains("FAILURES")
}
