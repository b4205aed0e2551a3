//! MyGateway webhook captures per second with the hosts in processes of their own and the load
//! from another (this one), on:
//! 1. SQLite, one host;
//! 2. PostgreSQL, one host;
//! 3. PostgreSQL, two hosts sharing one database (API.md §3), requests alternating between them.
//!
//! Each run starts from a fresh database (SQLite file, or a PostgreSQL database of its own
//! named `bench_several_hosts_<pid>_…`, dropped at the end) and a fake MyGateway on 127.0.0.1
//! in this process. An in-process host enables the integration and initiates [`TRANSACTIONS`]
//! pending payments, each with its own gateway session, then stops. The hosts are then this
//! binary run again in serve mode (`e2e::child_host`: the real server code with the real
//! binary's log level, each log in a file beside its folder). [`CLIENTS`] concurrent clients
//! send one distinct signed `payment.completed` webhook per transaction, request `i` to host
//! `i mod hosts`; then the same webhooks again (duplicates: verified, logged, nothing changes);
//! then [`TRANSACTIONS`] initiates (a Draft, a session at the fake MyGateway, which answers at
//! once, and the Pending transaction with its session). After each pass the database is read:
//! every transaction must be Captured with exactly one Payment, and every initiate's
//! transaction Pending with its session. Printed per pass: requests/s, latency p50 and p99, and the CPU time the host
//! processes, this process and PostgreSQL used, beside what other processes, interrupts and
//! the hypervisor (steal) took meanwhile, so a pass disturbed by other work shows it; per run,
//! the warnings and errors the hosts logged.
//!
//! Run: `cargo bench -p e2e --bench several_hosts` (release build; PostgreSQL on
//! 127.0.0.1:5432, trust auth for `postgres`, as for `E2E_DATABASE=postgres`). A run stopped
//! with Ctrl-C leaves its `bench_several_hosts_…` databases behind. `SEVERAL_HOSTS_RUNS=sqlite`
//! (or `postgres`) runs only those setups.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::child_host::{self, ChildHost};
use e2e::database;
use e2e::host::{HostOptions, ADMIN_KEY};
use e2e::scenario::{MyGatewayScenario, WEBHOOK_SECRET};
use futures_util::StreamExt as _;
use serde_json::json;

/// Pending payments per run, each captured by its own webhook.
const TRANSACTIONS: usize = 10_000;
/// Concurrent clients sending webhooks (at most this many requests in flight).
const CLIENTS: usize = 32;
/// Concurrent initiates while setting up.
const SETUP_CLIENTS: usize = 16;

enum Backend {
    Sqlite,
    Postgres,
}

struct Run {
    label: &'static str,
    backend: Backend,
    hosts: usize,
}

const RUNS: [Run; 3] = [
    Run { label: "SQLite, 1 host", backend: Backend::Sqlite, hosts: 1 },
    Run { label: "PostgreSQL, 1 host", backend: Backend::Postgres, hosts: 1 },
    Run { label: "PostgreSQL, 2 hosts", backend: Backend::Postgres, hosts: 2 },
];

/// One pass of webhooks: its rate and latencies.
struct Pass {
    elapsed: Duration,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if child_host::is_child() {
        // As `integrations-host serve` logs by default, to stderr (the parent's log file).
        integrations_host::telemetry::init_logging(
            integrations_host::telemetry::LogFormat::Human,
            tracing_subscriber::EnvFilter::new("info,tower_http=warn"),
            std::io::stderr,
            false,
        );
        child_host::serve_if_child().await;
        return;
    }
    assert!(!database::on_postgres(), "run without E2E_DATABASE: each run names its own database");
    let only = std::env::var("SEVERAL_HOSTS_RUNS").unwrap_or_default();
    let selected: Vec<&'static Run> = RUNS
        .iter()
        .filter(|run| match only.as_str() {
            "sqlite" => matches!(run.backend, Backend::Sqlite),
            "postgres" => matches!(run.backend, Backend::Postgres),
            _ => true,
        })
        .collect();
    let names: Vec<String> =
        (0..selected.len()).map(|run| format!("bench_several_hosts_{}_{run}", std::process::id())).collect();
    // In a task of its own, so a failed run still drops the databases before the panic goes on.
    let databases = names.clone();
    let runs = selected.clone();
    let outcome = tokio::spawn(async move {
        let mut results = Vec::new();
        for (run, name) in runs.iter().zip(&databases) {
            results.push(measure(run, name).await);
        }
        results
    })
    .await;
    for name in &names {
        database::drop_database(name).await;
    }
    let results = match outcome {
        Ok(results) => results,
        Err(failed) => std::panic::resume_unwind(failed.into_panic()),
    };

    println!(
        "\n{:<22} {:>24} {:>24} {:>24}",
        "", "captures/s (p50, p99)", "duplicates/s (p50, p99)", "initiates/s (p50, p99)"
    );
    for (run, [captures, duplicates, initiates]) in selected.iter().zip(&results) {
        let figure = |pass: &Pass| format!("{:.0} ({:.1?}, {:.1?})", pass.per_second, pass.p50, pass.p99);
        println!("{:<22} {:>24} {:>24} {:>24}", run.label, figure(captures), figure(duplicates), figure(initiates));
    }
    if let [.., one, two] = &results[..] {
        if only.is_empty() {
            println!(
                "PostgreSQL two hosts / one host: captures {:.2}, duplicates {:.2}, initiates {:.2}",
                two[0].per_second / one[0].per_second,
                two[1].per_second / one[1].per_second,
                two[2].per_second / one[2].per_second
            );
        }
    }
}

/// One run: set up, start the host processes, captures, duplicates and initiates, each checked
/// in the database. `postgres_name` is the run's database on PostgreSQL (unused on SQLite).
async fn measure(run: &Run, postgres_name: &str) -> [Pass; 3] {
    println!("\n== {} ({TRANSACTIONS} transactions, {CLIENTS} clients)", run.label);
    let folders: Vec<tempfile::TempDir> = (0..run.hosts).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = folders[0].path();
    if let Backend::Postgres = run.backend {
        database::create_in(first, postgres_name).await;
    }

    // Set up through a host in this process, stopped before the measured hosts start.
    let started = Instant::now();
    let s =
        MyGatewayScenario::start_with(HostOptions { dir: Some(first.to_path_buf()), ..HostOptions::default() }).await;
    let initiated: Vec<serde_json::Value> = futures_util::stream::iter(0..TRANSACTIONS as i64)
        .map(|document| s.initiate(json!("1.00"), "Redirect", document))
        .buffer_unordered(SETUP_CLIENTS)
        .collect()
        .await;
    assert_eq!(initiated.len(), TRANSACTIONS);
    let sessions: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, gateway_reference FROM transactions WHERE integration_id = $1")
            .bind(s.integration_id)
            .fetch_all(s.host.app.db.read())
            .await
            .unwrap();
    assert_eq!(sessions.len(), TRANSACTIONS);
    let webhooks: Arc<Vec<(String, String)>> = Arc::new(
        sessions
            .into_iter()
            .map(|(id, session)| {
                let session = session.unwrap_or_else(|| panic!("transaction {id} has a gateway session"));
                let body = json!({ "type": "payment.completed", "data": { "payment_id": session } }).to_string();
                let signature = e2e::hmac_sha256_hex(WEBHOOK_SECRET, body.as_bytes());
                (body, signature)
            })
            .collect(),
    );
    let MyGatewayScenario { host, fake, integration_id } = s;
    let database_url = database::url_for(first).await;
    host.stop().await;
    println!("set up in {:.1?}", started.elapsed());

    // The measured hosts, each a process of its own logging to a file in its folder.
    for folder in &folders[1..] {
        database::share(first, folder.path());
    }
    let endpoints = [fake.endpoint_flag()];
    let mut hosts = Vec::new();
    for folder in &folders {
        let log = std::fs::File::create(folder.path().join("host.log")).unwrap();
        hosts.push(ChildHost::start_self(folder.path(), &endpoints, &[], Stdio::from(log)).await);
    }
    // A host that stops answering fails the run instead of hanging it.
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap();
    for host in &hosts {
        let status = client.get(format!("{}/healthz", host.url)).send().await.unwrap().status();
        assert_eq!(status, 200, "{} answers", host.url);
    }
    let webhook_urls: Vec<String> =
        hosts.iter().map(|host| format!("{}/payment/webhook/{integration_id}", host.url)).collect();
    let initiate_urls: Vec<String> =
        hosts.iter().map(|host| format!("{}/api/online_payment/initiate", host.url)).collect();
    let pids: Vec<u32> = hosts.iter().map(ChildHost::id).collect();

    let calls_before = fake.requests().len();
    let sessions_before = fake.session_count();
    let mut passes = Vec::new();
    for pass in ["captures", "duplicates", "initiates"] {
        let cpu = Cpu::now(&pids);
        let measured = match pass {
            "initiates" => {
                let request = move |client: &reqwest::Client, url: &str, i: usize| {
                    client.post(url).bearer_auth(ADMIN_KEY).json(&json!({
                        "integration_id": integration_id, "amount": "2.00", "currency": "USD",
                        "document_model": "Invoice", "document_id": TRANSACTIONS + i,
                        "return_url": "https://erp.example/portal/invoice/42", "integration_type": "Redirect",
                    }))
                };
                send_all(&client, &initiate_urls, TRANSACTIONS, 201, request).await
            }
            _ => {
                let (count, webhooks) = (webhooks.len(), webhooks.clone());
                let request = move |client: &reqwest::Client, url: &str, i: usize| {
                    let (body, signature) = &webhooks[i];
                    client
                        .post(url)
                        .header("content-type", "application/json")
                        .header("x-mygateway-signature", signature)
                        .body(body.clone())
                };
                send_all(&client, &webhook_urls, count, 200, request).await
            }
        };
        let used = Cpu::now(&pids).since(&cpu);
        println!(
            "{pass:<10} {:>6.0} requests/s  p50 {:>7.1?}  p99 {:>7.1?}  ({TRANSACTIONS} requests in {:.2?})",
            measured.per_second, measured.p50, measured.p99, measured.elapsed
        );
        println!("           {used}");
        if pass == "initiates" {
            every_initiate_pending_with_its_session(&database_url, integration_id).await;
            assert_eq!(fake.session_count() - sessions_before, TRANSACTIONS, "one session per initiate");
        } else {
            every_transaction_captured_once(&database_url, integration_id).await;
        }
        passes.push(measured);
    }
    let calls = fake.requests().len() - calls_before;
    println!(
        "checked: {TRANSACTIONS} transactions Captured, one Payment each; {TRANSACTIONS} initiated Pending, \
         one session each; calls to MyGateway meanwhile: {calls}"
    );
    drop(hosts);
    for (n, folder) in folders.iter().enumerate() {
        report_log(n + 1, &folder.path().join("host.log"));
    }
    passes.try_into().unwrap_or_else(|_| unreachable!("three passes"))
}

/// Sends `count` requests (`request(client, url, i)`, request `i` to host `i mod hosts`) from
/// [`CLIENTS`] concurrent clients; every answer must be `expected`.
async fn send_all<F>(client: &reqwest::Client, urls: &[String], count: usize, expected: u16, request: F) -> Pass
where
    F: Fn(&reqwest::Client, &str, usize) -> reqwest::RequestBuilder + Clone + Send + 'static,
{
    let urls = Arc::new(urls.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, urls, next, request) = (client.clone(), urls.clone(), next.clone(), request.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count / CLIENTS + 1);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let sent = Instant::now();
                    let response = request(&client, &urls[i % urls.len()], i)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("request {i}: {e}"));
                    let status = response.status();
                    let answer = response.bytes().await.unwrap_or_default();
                    assert_eq!(status, expected, "request {i}: {}", String::from_utf8_lossy(&answer));
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count);
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(latencies.len(), count);
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    Pass {
        elapsed,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
    }
}

/// Reads the database: every transaction of the integration is Captured with exactly one
/// Payment, and there are [`TRANSACTIONS`] of them. Panics otherwise.
async fn every_transaction_captured_once(url: &str, integration_id: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT t.id, t.state, COUNT(p.id) FROM transactions t LEFT JOIN payments p ON p.transaction_id = t.id \
         WHERE t.integration_id = $1 AND t.document_id < $2 GROUP BY t.id, t.state",
    )
    .bind(integration_id)
    .bind(TRANSACTIONS as i64)
    .fetch_all(&pool)
    .await
    .unwrap();
    let (payments,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(rows.len(), TRANSACTIONS, "transactions in the database");
    let wrong: Vec<_> = rows.iter().filter(|(_, state, payments)| state != "Captured" || *payments != 1).collect();
    assert!(
        wrong.is_empty(),
        "{} of {TRANSACTIONS} transactions are not Captured with one Payment, e.g. (id, state, payments) {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert_eq!(payments, TRANSACTIONS as i64, "payments in the database");
}

/// Reads the database: each of the [`TRANSACTIONS`] initiated transactions (documents from
/// [`TRANSACTIONS`] on) is Pending with a gateway session of its own. Panics otherwise.
async fn every_initiate_pending_with_its_session(url: &str, integration_id: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT state, gateway_reference FROM transactions WHERE integration_id = $1 AND document_id >= $2",
    )
    .bind(integration_id)
    .bind(TRANSACTIONS as i64)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), TRANSACTIONS, "initiated transactions in the database");
    let sessions: std::collections::HashSet<_> = rows.iter().filter_map(|(_, session)| session.as_deref()).collect();
    assert!(rows.iter().all(|(state, _)| state == "Pending"), "every initiate left a Pending transaction");
    assert_eq!(sessions.len(), TRANSACTIONS, "each with a session of its own");
}

/// Prints how many warnings and errors a host logged, and the first few distinct ones.
fn report_log(host: usize, log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    let mut count = 0;
    for line in text.lines() {
        // `<timestamp> <LEVEL> <target>: <message and fields>`
        let Some(level @ ("WARN" | "ERROR")) = line.split_whitespace().nth(1) else { continue };
        count += 1;
        let what: String = line.split_once(level).map_or(line, |(_, rest)| rest).chars().take(160).collect();
        if seen.len() < 5 && !seen.contains(&what) {
            seen.push(what);
        }
    }
    println!("host {host} log: {} lines, {count} warnings or errors", text.lines().count());
    for what in seen {
        println!("    {what}");
    }
}

/// CPU time used so far (seconds, all cores): each host process, this process (the load and
/// the fake gateway), every `postgres` process, and the machine's processes, interrupts (the
/// loopback network's softirq among them) and steal (the hypervisor's other guests).
struct Cpu {
    hosts: Vec<f64>,
    load: f64,
    postgres: f64,
    processes: f64,
    interrupts: f64,
    steal: f64,
    at: Instant,
}

impl Cpu {
    fn now(hosts: &[u32]) -> Self {
        let postgres = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "postgres")
            })
            .map(process_seconds)
            .sum();
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        // cpu user nice system idle iowait irq softirq steal …
        let ticks: Vec<f64> =
            stat.lines().next().unwrap().split_whitespace().skip(1).map(|t| t.parse().unwrap()).collect();
        Self {
            hosts: hosts.iter().copied().map(process_seconds).collect(),
            load: process_seconds(std::process::id()),
            postgres,
            processes: (ticks[0] + ticks[1] + ticks[2]) / clock_ticks(),
            interrupts: (ticks[5] + ticks[6]) / clock_ticks(),
            steal: ticks[7] / clock_ticks(),
            at: Instant::now(),
        }
    }

    /// What was used between `before` and now, as a line.
    fn since(&self, before: &Cpu) -> String {
        let hosts: Vec<f64> = self.hosts.iter().zip(&before.hosts).map(|(now, then)| now - then).collect();
        let (load, postgres) = (self.load - before.load, self.postgres - before.postgres);
        let other = (self.processes - before.processes) - hosts.iter().sum::<f64>() - load - postgres;
        let hosts: Vec<String> = hosts.iter().map(|s| format!("{s:.1}")).collect();
        format!(
            "CPU s: hosts {}, load generator {load:.1}, postgres {postgres:.1}, other processes {:.1}, \
             interrupts {:.1}, steal {:.1}; of {:.1} ({} cores)",
            hosts.join(" + "),
            other.max(0.0),
            self.interrupts - before.interrupts,
            self.steal - before.steal,
            self.at.duration_since(before.at).as_secs_f64() * cores() as f64,
            cores()
        )
    }
}

/// User + system CPU seconds of a process (all its threads), 0 when it is gone.
fn process_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // After `pid (comm) `: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |at: usize| fields.get(at).and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
