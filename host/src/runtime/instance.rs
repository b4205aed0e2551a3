//! One provider call's sandbox: a fresh Store (memory cap, deadline, WASI granting nothing)
//! instantiated from the module's pre-linked component, in a slot of its module's and
//! company's share. A trap, timeout, out-of-memory or over-ceiling answer fails this
//! instance only.

use std::time::{Duration, Instant};

use wasmtime::component::{ComponentExportIndex, ComponentNamedList, Instance, Lift, Lower, ResourceTable};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::ceilings::OverCeiling;
use super::engine::ProviderRuntime;
use super::exports::{MessagingPre, PaymentPre, WorldPre};
use super::failure::{FailureKind, ProviderFailure};
use super::results::{self, RawResult};
use super::slots::{SlotPermit, SlotRefusal};
use super::state::{MemoryLimit, ProviderState};
use super::stdio::GuestOutput;
use crate::capabilities::CallContext;

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
pub type Outcome<T> = Result<Result<T, super::bindings::v1::types::ProviderError>, ProviderFailure>;

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
        let FreshStore { mut store, deadline, slot } = self.fresh_store(&label, limits, call).await?;
        let outcome = tokio::time::timeout_at(deadline.into(), pre.instance_pre.instantiate_async(&mut store)).await;
        match outcome {
            Ok(Ok(instance)) => {
                Ok(Sandbox { store, instance, exports: pre.exports, label, deadline, broken: None, _slot: slot })
            }
            Ok(Err(error)) => {
                let (kind, detail) = classify(&store, error);
                let kind = if kind == FailureKind::Trap { FailureKind::Instantiation } else { kind };
                Err(failure(&label, kind, detail))
            }
            Err(_) => Err(failure(&label, FailureKind::Timeout, "instantiation ran past the deadline".into())),
        }
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
            let (kind, detail) = match refusal {
                SlotRefusal::ModuleShare => (FailureKind::ModuleShare, "the module holds its whole share of slots"),
                SlotRefusal::CompanyShare => (FailureKind::CompanyShare, "the company holds its whole share of slots"),
                SlotRefusal::Full => (FailureKind::Overloaded, "no sandbox slot became free"),
            };
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
            if state.long_call.is_none() {
                state.long_call = Some(cpu.long_call(company_id, &module));
            }
            let pause = cpu.pause(company_id, &module);
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

/// A live provider sandbox whose world's exports are `E`. Each export call is one method
/// (see `exports.rs`); after a failure the sandbox refuses further calls.
pub struct Sandbox<E> {
    store: Store<ProviderState>,
    instance: Instance,
    pub(crate) exports: E,
    label: CallLabel,
    deadline: Instant,
    broken: Option<ProviderFailure>,
    _slot: SlotPermit,
}

impl<E> Sandbox<E> {
    /// Calls one export within the deadline and reads its answer within the ceilings.
    pub(crate) async fn call<P, R, T>(
        &mut self,
        export: ComponentExportIndex,
        params: P,
        read: impl FnOnce(R) -> T,
    ) -> Outcome<T>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: Lift + Send + Sync + 'static,
    {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let func = match self.instance.get_typed_func::<P, (RawResult<R>,)>(&mut self.store, export) {
            Ok(func) => func,
            Err(error) => return Err(self.fail(FailureKind::Trap, format!("{error:#}"))),
        };
        let outcome = tokio::time::timeout_at(self.deadline.into(), func.call_async(&mut self.store, params)).await;
        // Long only while it computes: a call between exports does not count against its share.
        self.store.data_mut().long_call = None;
        match outcome {
            Ok(Ok((raw,))) => Ok(results::result(raw, read)),
            Ok(Err(error)) => {
                let (kind, detail) = classify(&self.store, error);
                Err(self.fail(kind, detail))
            }
            Err(_) => Err(self.fail(FailureKind::Timeout, "the call ran past its deadline".into())),
        }
    }

    /// Checks that `export` has the parameter and result types the host calls it with.
    pub(crate) fn check_type<P, R>(&mut self, export: ComponentExportIndex) -> Result<(), ProviderFailure>
    where
        P: ComponentNamedList + Lower,
        R: Lift + 'static,
    {
        match self.instance.get_typed_func::<P, (RawResult<R>,)>(&mut self.store, export) {
            Ok(_) => Ok(()),
            Err(error) => Err(self.fail(FailureKind::Instantiation, format!("{error:#}"))),
        }
    }

    /// Outbound requests this sandbox's calls have attempted so far, allowed or not. Zero
    /// means nothing the provider did can have reached a gateway.
    pub fn outbound_requests(&self) -> u32 {
        crate::capabilities::HTTP_REQUESTS_PER_CALL.saturating_sub(self.store.data().call.http_requests_left)
    }

    /// Fails the call because the host cannot use what it answered (`reason`, for the log
    /// and the caller).
    pub fn refuse_answer(&mut self, reason: String) -> ProviderFailure {
        self.fail(FailureKind::UnusableAnswer, reason)
    }

    /// Records and logs a failure; the sandbox refuses further calls.
    fn fail(&mut self, kind: FailureKind, detail: String) -> ProviderFailure {
        let failure = failure(&self.label, kind, detail);
        tracing::error!(
            module = %failure.module, version = %failure.version,
            company_id = failure.company_id, integration_id = failure.integration_id,
            kind = ?failure.kind, detail = %failure.detail,
            "provider call failed"
        );
        self.broken = Some(failure.clone());
        failure
    }
}

impl<E> Drop for Sandbox<E> {
    fn drop(&mut self) {
        let state = self.store.data();
        let text = state.output.take();
        if !text.is_empty() {
            let text = state.call.scrubber().text(&text);
            tracing::info!(
                module = %self.label.module, company_id = self.label.company_id,
                integration_id = self.label.integration_id, output = %text.trim_end(),
                "provider output"
            );
        }
    }
}

fn classify(store: &Store<ProviderState>, error: wasmtime::Error) -> (FailureKind, String) {
    let detail = format!("{error:#}");
    // A value over its ceiling: refused while it was lifted or by a host import, or by the
    // log budget (a refused stdout write shows only as the guest's panic).
    if let Some(over) = error.downcast_ref::<OverCeiling>().cloned().or_else(|| store.data().call.log_budget.exceeded())
    {
        (FailureKind::OverCeiling, over.to_string())
    } else if store.data().limits.exceeded {
        (FailureKind::OutOfMemory, detail)
    } else if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        (FailureKind::Timeout, detail)
    } else {
        (FailureKind::Trap, detail)
    }
}

fn failure(label: &CallLabel, kind: FailureKind, detail: String) -> ProviderFailure {
    ProviderFailure {
        module: label.module.clone(),
        version: label.version.clone(),
        company_id: label.company_id,
        integration_id: label.integration_id,
        kind,
        detail,
    }
}
