//! The process-wide engine: epoch interruption driven by a ticker thread, a pooling
//! allocator sized to [`HostLimits`], and a linker per provider world holding WASI (granting nothing) and the
//! host services of the provider worlds.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::v1;
use super::compile_cache::CompileCache;
use super::cpu_share::CpuShare;
use super::exports::{MessagingPre, PaymentPre};
use super::imports::link_bounded_imports;
use super::slots::{SandboxSlots, SlotPolicy};
use super::state::ProviderState;
use crate::capabilities::CallContext;
use crate::domain::contract::ContractVersion;
use crate::metrics::Meters;

/// How often the epoch advances; a runaway guest is stopped within one tick of its deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How much of a freed slot's memory is reset in place (its dirtied pages written back)
/// rather than handed back to the kernel; a slot keeps at most this much resident.
const KEEP_RESIDENT: usize = 4 << 20;

/// Ceilings the host puts on every module, whatever its manifest asks.
#[derive(Debug, Clone)]
pub struct HostLimits {
    /// Most linear memory a store may have.
    pub max_memory_mb: u64,
    /// Memory when the manifest names none.
    pub default_memory_mb: u64,
    /// Longest a call may take, host functions included.
    pub max_call_timeout: Duration,
    /// Deadline when the manifest names none.
    pub default_call_timeout: Duration,
    /// Sandboxes alive at once; further calls wait for a slot.
    pub max_instances: u32,
    /// Most sandboxes one module may hold at once (None: half of `max_instances`).
    pub module_share: Option<u32>,
    /// Most sandboxes one company may hold at once (None: a quarter of `max_instances`).
    pub company_share: Option<u32>,
    /// How long a call waits for a slot before the host refuses it.
    pub slot_wait: Duration,
    /// Worker threads' worth of time one company's (or module's) long calls may use (None:
    /// half of the machine's parallelism, at least one).
    pub cpu_cores_per_company: Option<u32>,
    /// Where compiled components are cached; None compiles every time.
    pub compile_cache: Option<PathBuf>,
}

impl HostLimits {
    /// How the sandbox slots are shared, with the default shares where none is set.
    pub fn slot_policy(&self) -> SlotPolicy {
        let defaults = SlotPolicy::with_default_shares(self.max_instances, self.slot_wait);
        SlotPolicy {
            module_share: self.module_share.unwrap_or(defaults.module_share).clamp(1, self.max_instances.max(1)),
            company_share: self.company_share.unwrap_or(defaults.company_share).clamp(1, self.max_instances.max(1)),
            ..defaults
        }
    }
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_memory_mb: 128,
            default_memory_mb: 32,
            max_call_timeout: Duration::from_secs(30),
            default_call_timeout: Duration::from_secs(10),
            max_instances: 64,
            module_share: None,
            company_share: None,
            slot_wait: Duration::from_secs(5),
            cpu_cores_per_company: None,
            compile_cache: None,
        }
    }
}

pub struct ProviderRuntime {
    pub(crate) engine: Engine,
    payment_linker: Linker<ProviderState>,
    messaging_linker: Linker<ProviderState>,
    pub(crate) slots: Arc<SandboxSlots>,
    pub(crate) cpu: Arc<CpuShare>,
    pub(crate) limits: HostLimits,
    compile_cache: CompileCache,
    /// The counters every part of this host records into (`metrics`).
    pub meters: Arc<Meters>,
    _ticker: EpochTicker,
}

impl ProviderRuntime {
    pub fn new(limits: HostLimits) -> anyhow::Result<Self> {
        // Bounded lifting (`results::bounded`) relies on a guest memory under 2 GiB.
        anyhow::ensure!(limits.max_memory_mb < 2048, "the guest memory cap must be under 2048 MiB");
        let instances = limits.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances * 8)
            .total_memories(instances * 2)
            .total_tables(instances * 8)
            .total_stacks(instances)
            .max_core_instances_per_component(16)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_memory_size((limits.max_memory_mb as usize) << 20)
            // Reset a freed slot's memory (its first 4 MiB) and tables by writing back only
            // the pages the guest dirtied, found with Linux's PAGEMAP_SCAN where the kernel
            // has it (6.7+), rather than zeroing the whole first MiB with memset and handing
            // the rest back with madvise (a TLB shootdown on every core each time): under
            // webhook load memset was 6.5 % of the host's samples, madvise 2.2 %, and the scan
            // is 1.0 % (BENCHMARKS.md). On an older kernel the memset covers the first 4 MiB
            // the guest can reach, dirtied or not.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
        let mut config = Config::new();
        // Providers are called one export at a time (`call_async`), never concurrently
        // within a store: without the component model's concurrency structures each Store is
        // cheaper to make and to drop (their teardown formats an error, with a backtrace when
        // RUST_BACKTRACE is set, on every drop).
        config
            .epoch_interruption(true)
            .concurrency_support(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;

        // One linker per world: both hold WASI (granting nothing) and the host services of
        // every contract version (`imports`, `http_imports`).
        let mut payment_linker: Linker<ProviderState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut payment_linker)?;
        v1::PaymentProvider::add_to_linker::<_, HasSelf<CallContext>>(&mut payment_linker, |state| &mut state.call)?;
        link_bounded_imports(&mut payment_linker)?;
        let mut messaging_linker: Linker<ProviderState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut messaging_linker)?;
        v1::MessagingProvider::add_to_linker::<_, HasSelf<CallContext>>(&mut messaging_linker, |state| {
            &mut state.call
        })?;
        link_bounded_imports(&mut messaging_linker)?;

        let compile_cache = CompileCache::new(&engine, limits.compile_cache.as_deref());
        let ticker = EpochTicker::start(engine.clone());
        let slots = SandboxSlots::new(limits.slot_policy());
        let cpu = limits.cpu_cores_per_company.map(CpuShare::new).unwrap_or_else(CpuShare::for_this_machine);
        let meters = Arc::new(Meters::default());
        Ok(Self {
            engine,
            payment_linker,
            messaging_linker,
            slots,
            cpu,
            limits,
            compile_cache,
            meters,
            _ticker: ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component, or loads it from the compile cache. CPU-heavy: call it from a
    /// blocking thread, never a request.
    pub fn compile(&self, bytes: &[u8], sha256: &str) -> wasmtime::Result<Component> {
        let started = std::time::Instant::now();
        let (component, from_cache) = self.compile_cache.component(&self.engine, bytes, sha256)?;
        self.meters.compile_cache_lookup(from_cache);
        if !from_cache {
            self.meters.compile_seconds.observe(started.elapsed().as_secs_f64());
        }
        Ok(component)
    }

    /// Components compiled and loaded from the cache since start.
    pub fn compile_stats(&self) -> (u64, u64) {
        let stats = &self.compile_cache.stats;
        (stats.compiled.load(Ordering::Relaxed), stats.from_cache.load(Ordering::Relaxed))
    }

    /// Links a compiled payment component of contract `version` against the host services.
    pub fn prepare_payment(&self, component: &Component, version: ContractVersion) -> wasmtime::Result<PaymentPre> {
        PaymentPre::new(self.payment_linker.instantiate_pre(component)?, version)
    }

    /// Links a compiled messaging component of contract `version` against the host services.
    pub fn prepare_messaging(&self, component: &Component, version: ContractVersion) -> wasmtime::Result<MessagingPre> {
        MessagingPre::new(self.messaging_linker.instantiate_pre(component)?, version)
    }

    /// How processor time is shared between long calls.
    pub fn cpu_share(&self) -> &CpuShare {
        &self.cpu
    }

    /// The sandbox slots and their refusal counts.
    pub fn slots(&self) -> &SandboxSlots {
        &self.slots
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch ticker");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
