//! What the host refuses to install (API.md §2): components importing `wasi:filesystem`,
//! `wasi:sockets` or `wasi:http`, by `check`, the admin API and the modules folder alike, with
//! the import named; manifests over the size or bracket ceilings, quickly and without
//! waiting for the install lock.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::host::{component, install, repo, send, HostOptions, TestHost};
use e2e::WASM_DIR;
use integrations_host::check::check_module;
use integrations_host::runtime::{HostLimits, ProviderRuntime};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A refusal comes back at once; generous for a loaded machine.
const FAST: Duration = Duration::from_secs(5);

fn probe_manifest() -> std::path::PathBuf {
    repo().join("tests/fixtures/test_wasi_probe.yaml")
}

/// The hostile guest's fixture manifest at `version`.
pub(crate) fn hostile_manifest(version: &str) -> String {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/test_hostile.yaml")).unwrap();
    text.replace("version: '1.0'", &format!("version: '{version}'"))
}

fn assert_names_the_imports(reasons: &str) {
    assert!(reasons.contains("imports `wasi:filesystem/"), "{reasons}");
    assert!(reasons.contains("imports `wasi:sockets/"), "{reasons}");
    assert!(reasons.contains("providers get no files, sockets or HTTP of their own"), "{reasons}");
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// Uploads a module that must be refused as `module_refused`; answers the message and how
/// long the refusal took.
pub(crate) async fn refused_upload(host: &TestHost, manifest: &str, wasm: &str) -> (String, Duration) {
    let started = Instant::now();
    let (status, body) = host.upload_module(manifest, component(wasm)).await;
    let elapsed = started.elapsed();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("module_refused")),
        "{body}"
    );
    (message(&body).to_string(), elapsed)
}

#[test]
fn check_refuses_a_component_importing_files_and_sockets() {
    let component = Path::new(WASM_DIR).join("test_wasi_probe.wasm");
    let reasons = check_module(&probe_manifest(), &component).unwrap_err();
    assert_names_the_imports(&reasons);
}

#[tokio::test]
async fn install_refuses_a_component_importing_files_and_sockets() {
    e2e::logs::capture();
    let host = TestHost::start(HostOptions::default()).await;
    let manifest = std::fs::read_to_string(probe_manifest()).unwrap();
    let started = Instant::now();
    let (status, body) = host.upload_module(&manifest, component("test_wasi_probe.wasm")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("module_refused")),
        "{body}"
    );
    assert_names_the_imports(message(&body));
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());

    // From the modules folder: refused and logged, the rest keeps serving.
    install(&host.dir.join("modules"), "test_wasi_probe", &probe_manifest());
    let modules = host
        .wait_for_modules(|_| e2e::logs::text().lines().any(|l| l.contains("test_wasi_probe") && l.contains("refused")))
        .await;
    let live: Vec<&str> = modules.as_array().unwrap().iter().filter_map(|m| m["identifier"].as_str()).collect();
    assert_eq!(live, ["payment_mygateway"]);
    let line =
        e2e::logs::text().lines().find(|l| l.contains("test_wasi_probe") && l.contains("refused")).unwrap().to_string();
    assert!(line.contains("wasi:filesystem/"), "{line}");
    let (status, _) = send(host.admin(Method::GET, "/api/modules")).await;
    assert_eq!(status, StatusCode::OK);
}

/// What Rust's std for wasm32-wasip2 imports into the shipped providers (release profile):
/// stdio, environment, exit and streams only; never files, sockets or HTTP.
#[test]
fn shipped_components_import_no_files_sockets_or_http() {
    let runtime = ProviderRuntime::new(HostLimits { max_instances: 1, ..HostLimits::default() }).unwrap();
    let shipped =
        ["payment_mygateway", "payment_stripe", "payment_paypal", "sms_twilio", "payment_example", "test_hostile"];
    for name in shipped {
        let bytes = component(&format!("{name}.wasm"));
        let compiled = runtime.compile(&bytes, &format!("imports-{name}")).unwrap();
        let imports: Vec<String> =
            compiled.component_type().imports(runtime.engine()).map(|(import, _)| import.to_string()).collect();
        let wasi: Vec<&String> = imports.iter().filter(|import| import.starts_with("wasi:")).collect();
        for import in &wasi {
            let allowed = ["wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/"];
            assert!(allowed.iter().any(|package| import.starts_with(package)), "{name} imports {import}");
        }
        assert!(!wasi.is_empty(), "{name}: std imports some WASI");
        println!("{name}: {}", wasi.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
    }
}

#[tokio::test]
async fn oversized_and_deeply_nested_manifests_are_refused_quickly() {
    let host = TestHost::start(HostOptions::default()).await;
    let oversized = format!("{}description: {}\n", hostile_manifest("2.0"), "a".repeat(70 * 1024));
    // 60,000 levels in 60 KB: about 3 s in the YAML parser if it ever got there.
    let nested = format!("{}extra: {}\n", hostile_manifest("2.0"), "[".repeat(60_000));
    let cases =
        [(oversized, "over the host's limit of 65536 bytes"), (nested, "`[` or `{` is over the host's limit of 256")];
    for (manifest, reason) in cases {
        let (message, elapsed) = refused_upload(&host, &manifest, "test_hostile.wasm").await;
        assert!(message.starts_with("invalid manifest: manifest: "), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(elapsed < Duration::from_secs(2), "refused in {elapsed:?}");
    }
    let (status, body) = host.upload_module(&hostile_manifest("2.0"), component("test_hostile.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// While an install holds the lock (the test holds it, as a long install would), uploads that
/// are refused while parsing or checking still answer: parsing and compiling never wait for
/// the lock. Once the lock is free, a good install goes through.
#[tokio::test]
async fn parsing_and_compiling_do_not_wait_for_the_install_lock() {
    let host = TestHost::start(HostOptions::default()).await;
    let held = host.app.install_lock.lock().await;
    let nested = format!("{}extra: {}\n", hostile_manifest("2.0"), "[".repeat(60_000));
    let probe = std::fs::read_to_string(probe_manifest()).unwrap();
    let refusals = async {
        let deep = host.upload_module(&nested, component("test_hostile.wasm")).await;
        let imports = host.upload_module(&probe, component("test_wasi_probe.wasm")).await;
        (deep, imports)
    };
    let ((deep, _), (imports, body)) =
        tokio::time::timeout(Duration::from_secs(30), refusals).await.expect("refusals do not wait for the lock");
    assert_eq!(deep, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(imports, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_names_the_imports(message(&body));

    drop(held);
    let (status, body) = host.upload_module(&hostile_manifest("1.0"), component("test_hostile.wasm")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
