//! One provider call's sandbox: a fresh Store (memory cap, deadline, WASI granting nothing)
//! instantiated from the module's pre-linked component, in a slot of its module's and
//! company's share. A trap, timeout, out-of-memory or over-ceiling answer fails this
//! instance only.

use std::time::{Duration, Instant};

use tracing::Instrument;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::cpu_share::LONG_AFTER_TICKS;
use super::engine::ProviderRuntime;
use super::exports::{MessagingPre, PaymentPre, WorldPre};
use super::failure::{FailureKind, ProviderFailure};
use super::sandbox::Sandbox;
use super::slots::{SlotPermit, SlotRefusal};
use super::state::{MemoryLimit, ProviderState};
use super::stdio::GuestOutput;
use crate::capabilities::CallContext;
use crate::metrics::labels::RefusalLabels;

/// A linked component, ready to instantiate per call.
pub enum ProviderPre {
    Payment(PaymentPre),
    Messaging(MessagingPre),
}

/// Who a call serves, for logs, failures and the slot shares.
#[derive(Debug, Clone)]
pub struct CallLabel {
    pub module: String,
    pub version: String,
    pub company_id: i64,
    pub integration_id: i64,
}

impl CallLabel {
    /// The `provider` span: every line logged while a sandbox is set up or called (the
    /// provider's own, its outbound requests, its credential use) names who it serves.
    pub(super) fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "provider",
            module = %self.module,
            version = %self.version,
            company_id = self.company_id,
            integration_id = self.integration_id
        )
    }
}

/// Per-call limits after the host's caps are applied.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub memory_bytes: usize,
    pub timeout: Duration,
}

/// A store ready for instantiation, with the slot it occupies.
struct FreshStore {
    store: Store<ProviderState>,
    deadline: Instant,
    slot: SlotPermit,
}

/// What an export call gives back: the provider's own answer, or how the call failed.
pub type Outcome<T> = Result<Result<T, crate::domain::provider::ProviderError>, ProviderFailure>;

impl ProviderRuntime {
    /// The manifest's limits, capped by the host's.
    pub fn call_limits(&self, memory_mb: Option<u64>, call_timeout_ms: Option<u64>) -> CallLimits {
        let memory_mb = memory_mb.unwrap_or(self.limits.default_memory_mb).min(self.limits.max_memory_mb);
        let timeout = call_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.limits.default_call_timeout)
            .min(self.limits.max_call_timeout);
        CallLimits { memory_bytes: (memory_mb as usize) << 20, timeout }
    }

    /// A sandbox of `pre`'s world for one operation (one or more calls sharing a deadline).
    pub(crate) async fn instantiate<E: Copy>(
        &self,
        pre: &WorldPre<E>,
        label: CallLabel,
        limits: CallLimits,
        call: CallContext,
    ) -> Result<Sandbox<E>, ProviderFailure> {
        let span = label.span();
        let FreshStore { mut store, deadline, slot } =
            self.fresh_store(&label, limits, call).instrument(span.clone()).await?;
        let started = Instant::now();
        let instantiating = pre.instance_pre.instantiate_async(&mut store).instrument(span.clone());
        let outcome = tokio::time::timeout_at(deadline.into(), instantiating).await;
        let failed = match outcome {
            Ok(Ok(instance)) => {
                return Ok(Sandbox::new(store, instance, pre.exports, label, deadline, self.meters.clone(), slot));
            }
            Ok(Err(error)) => {
                let (kind, detail) = super::sandbox::classify(&store, error);
                let kind = if kind == FailureKind::Trap { FailureKind::Instantiation } else { kind };
                failure(&label, kind, detail)
            }
            Err(_) => failure(&label, FailureKind::Timeout, "instantiation ran past the deadline".into()),
        };
        count_setup_failure(&self.meters, &label, started, &failed);
        Err(failed)
    }

    /// Waits for a slot within the module's and the company's shares, then builds a Store
    /// with the call's memory cap and deadline and WASI granting nothing.
    async fn fresh_store(
        &self,
        label: &CallLabel,
        limits: CallLimits,
        mut call: CallContext,
    ) -> Result<FreshStore, ProviderFailure> {
        let slot = self.slots.acquire(&label.module, label.company_id).await.map_err(|refusal| {
            let (kind, reason, detail) = match refusal {
                SlotRefusal::ModuleShare => {
                    (FailureKind::ModuleShare, "module_share", "the module holds its whole share of slots")
                }
                SlotRefusal::CompanyShare => {
                    (FailureKind::CompanyShare, "company_share", "the company holds its whole share of slots")
                }
                SlotRefusal::Full => (FailureKind::Overloaded, "overload", "no sandbox slot became free"),
            };
            self.meters.sandbox_refusals.get_or_create(&RefusalLabels { module: label.module.clone(), reason }).inc();
            failure(label, kind, detail.into())
        })?;

        let deadline = Instant::now() + limits.timeout;
        call.deadline = deadline;
        let output = GuestOutput::new(call.log_budget.clone());
        // Nothing granted: no preopened folders, no environment, no arguments, no network.
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = ProviderState {
            wasi,
            table: ResourceTable::new(),
            limits: MemoryLimit { max_bytes: limits.memory_bytes, exceeded: false },
            deadline,
            output,
            long_call: None,
            ticks: 0,
            call,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        let (cpu, company_id, module) = (self.cpu.clone(), label.company_id, label.module.clone());
        store.epoch_deadline_callback(move |mut store| {
            // Stop the guest once its deadline has passed. Otherwise yield to the executor
            // every tick so a busy guest never starves other requests, and, when its company
            // or module has more long calls than its processor share, wait its turn.
            if Instant::now() >= store.data().deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            let state = store.data_mut();
            state.ticks += 1;
            if state.long_call.is_none() && state.ticks >= LONG_AFTER_TICKS {
                state.long_call = Some(cpu.long_call(company_id, &module));
            }
            let pause = if state.long_call.is_some() { cpu.pause(company_id, &module) } else { Duration::ZERO };
            if pause.is_zero() {
                // Tokio's own yield lets the runtime poll timers and sockets before this task
                // runs again (a plain re-wake would let a spinning guest delay them).
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
            } else {
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(pause))))
            }
        });
        Ok(FreshStore { store, deadline, slot })
    }
}

pub(super) fn failure(label: &CallLabel, kind: FailureKind, detail: String) -> ProviderFailure {
    ProviderFailure {
        module: label.module.clone(),
        version: label.version.clone(),
        company_id: label.company_id,
        integration_id: label.integration_id,
        kind,
        detail,
    }
}

/// The `export` label of a failure before any export ran (instantiating the component, or
/// finding an export of the wrong type).
pub(super) const SETUP_EXPORT: &str = "instantiate";

/// Counts a call that failed while its sandbox was being set up, as calls are counted
/// (`provider_calls_total`, `provider_call_duration_seconds`) under [`SETUP_EXPORT`].
pub(super) fn count_setup_failure(
    meters: &crate::metrics::Meters,
    label: &CallLabel,
    started: Instant,
    failed: &ProviderFailure,
) {
    use crate::metrics::labels::{CallLabels, ExportLabels};
    let (module, version) = (label.module.clone(), label.version.clone());
    let export = ExportLabels { module, version, export: SETUP_EXPORT };
    meters.provider_call_seconds.get_or_create(&export).observe(started.elapsed().as_secs_f64());
    let ExportLabels { module, version, export } = export;
    meters.provider_calls.get_or_create(&CallLabels { module, version, export, outcome: failed.kind.label() }).inc();
}
