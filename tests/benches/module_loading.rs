//! Module loading, measured (see BENCHMARKS.md):
//! 1. cold compile of the MyGateway component vs loading it from the compile cache;
//! 2. resident memory while 100 versions of a module are installed and replaced one after
//!    another, and 100 more (the second hundred should not grow it further).
//!
//! Run: `cargo bench -p e2e --bench module_loading` (release build).

use std::time::{Duration, Instant};

use e2e::host::{component, manifest, HostOptions, TestHost};
use integrations_host::registry::{load_module, EndpointOverrides};
use integrations_host::runtime::{HostLimits, ProviderRuntime};
use integrations_host::services::module_admin::Installed;
use integrations_host::services::module_grants::InstallFrom;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let yaml = manifest("payment_mygateway", "1.0");
    let bytes = component("payment_mygateway.wasm");
    let cache = tempfile::tempdir().unwrap();

    // 1. Cold compile vs cached load.
    let uncached = ProviderRuntime::new(HostLimits { max_instances: 4, ..HostLimits::default() }).unwrap();
    let cold: Vec<Duration> = (0..10)
        .map(|_| {
            let started = Instant::now();
            load_module(&uncached, &yaml, &bytes, &EndpointOverrides::default()).unwrap();
            started.elapsed()
        })
        .collect();
    let cached_runtime = ProviderRuntime::new(HostLimits {
        max_instances: 4,
        compile_cache: Some(cache.path().to_path_buf()),
        ..HostLimits::default()
    })
    .unwrap();
    load_module(&cached_runtime, &yaml, &bytes, &EndpointOverrides::default()).unwrap();
    let warm: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            load_module(&cached_runtime, &yaml, &bytes, &EndpointOverrides::default()).unwrap();
            started.elapsed()
        })
        .collect();
    println!("component: payment_mygateway.wasm, {} bytes", bytes.len());
    println!("load with cold compile (validate+compile+check+link)  median {:?}", median(cold));
    println!("load from the compile cache (same steps)              median {:?}", median(warm));

    // 2. Memory over many versions, through the real install path.
    let host = TestHost::start(HostOptions { bare: true, ..HostOptions::default() }).await;
    let install = |version: String| {
        let app = host.app.clone();
        let (yaml, bytes) = (manifest("payment_mygateway", &version), bytes.clone());
        async move {
            match app.install_module(yaml, bytes, InstallFrom::Admin { grant_new_hosts: false }).await.unwrap() {
                Installed::Activated { .. } => {}
                Installed::Unchanged { .. } => panic!("{version} was new"),
            }
        }
    };
    install("1.0".into()).await;
    let before = rss_kib();
    for minor in 1..=100 {
        install(format!("1.{minor}")).await;
    }
    let after_100 = rss_kib();
    for minor in 101..=200 {
        install(format!("1.{minor}")).await;
    }
    let after_200 = rss_kib();
    println!("RSS with 1 version installed                        {before} KiB");
    println!(
        "RSS after 100 more versions installed and replaced  {after_100} KiB (+{} KiB)",
        after_100 as i64 - before as i64
    );
    println!(
        "RSS after 100 more again                            {after_200} KiB (+{} KiB)",
        after_200 as i64 - after_100 as i64
    );
    let live = host.app.registry.all();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].manifest.version, "1.200");
}
