//! A live provider sandbox: its export calls within the deadline, each counted by outcome
//! and timed; a failed call breaks the sandbox, so it refuses further calls.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;
use wasmtime::component::{ComponentExportIndex, ComponentNamedList, Instance, Lift, Lower};
use wasmtime::{Store, Trap};

use super::ceilings::OverCeiling;
use super::failure::{FailureKind, ProviderFailure};
use super::instance::{failure, CallLabel, Outcome};
use super::results::{self, RawResult};
use super::slots::SlotPermit;
use super::state::ProviderState;
use crate::metrics::labels::{CallLabels, ExportLabels};
use crate::metrics::Meters;

/// A live provider sandbox whose world's exports are `E`. Each export call is one method
/// (see `exports.rs`); after a failure the sandbox refuses further calls.
pub struct Sandbox<E> {
    store: Store<ProviderState>,
    instance: Instance,
    pub(crate) exports: E,
    label: CallLabel,
    /// The `provider` span (module, version, company, integration) every call runs in.
    span: tracing::Span,
    deadline: Instant,
    broken: Option<ProviderFailure>,
    meters: Arc<Meters>,
    _slot: SlotPermit,
}

impl<E> Sandbox<E> {
    pub(super) fn new(
        store: Store<ProviderState>,
        instance: Instance,
        exports: E,
        label: CallLabel,
        deadline: Instant,
        meters: Arc<Meters>,
        slot: SlotPermit,
    ) -> Self {
        let span = label.span();
        Self { store, instance, exports, label, span, deadline, broken: None, meters, _slot: slot }
    }

    /// Calls one export (`name` is its WIT name) within the deadline and reads its answer
    /// within the ceilings; counts the call and its time by outcome.
    pub(crate) async fn call<P, R, T>(
        &mut self,
        name: &'static str,
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
        let started = Instant::now();
        let outcome = match self.instance.get_typed_func::<P, (RawResult<R>,)>(&mut self.store, export) {
            Err(error) => Err(self.fail(FailureKind::Trap, format!("{error:#}"))),
            Ok(func) => {
                let calling = func.call_async(&mut self.store, params).instrument(self.span.clone());
                let timed = tokio::time::timeout_at(self.deadline.into(), calling).await;
                // Long only while it computes: a call between exports does not count against its share.
                let state = self.store.data_mut();
                (state.long_call, state.ticks) = (None, 0);
                match timed {
                    Ok(Ok((raw,))) => Ok(results::result(raw, read)),
                    Ok(Err(error)) => {
                        let (kind, detail) = classify(&self.store, error);
                        Err(self.fail(kind, detail))
                    }
                    Err(_) => Err(self.fail(FailureKind::Timeout, "the call ran past its deadline".into())),
                }
            }
        };
        let counted = match &outcome {
            Ok(Ok(_)) => "ok",
            Ok(Err(error)) => error.kind.label(),
            Err(failure) => failure.kind.label(),
        };
        self.count(name, started, counted);
        outcome
    }

    /// Counts one call of export `name` by outcome, with its time.
    fn count(&self, export: &'static str, started: Instant, outcome: &'static str) {
        let (module, version) = (self.label.module.clone(), self.label.version.clone());
        let label = ExportLabels { module, version, export };
        self.meters.provider_call_seconds.get_or_create(&label).observe(started.elapsed().as_secs_f64());
        let ExportLabels { module, version, export } = label;
        self.meters.provider_calls.get_or_create(&CallLabels { module, version, export, outcome }).inc();
    }

    /// Checks that `export` has the parameter and result types the host calls it with.
    pub(crate) fn check_type<P, R>(&mut self, export: ComponentExportIndex) -> Result<(), ProviderFailure>
    where
        P: ComponentNamedList + Lower,
        R: Lift + 'static,
    {
        match self.instance.get_typed_func::<P, (RawResult<R>,)>(&mut self.store, export) {
            Ok(_) => Ok(()),
            Err(error) => {
                let failed = self.fail(FailureKind::Instantiation, format!("{error:#}"));
                super::instance::count_setup_failure(&self.meters, &self.label, Instant::now(), &failed);
                Err(failed)
            }
        }
    }

    /// Outbound requests this sandbox's calls have attempted so far, allowed or not. Zero
    /// means nothing the provider did can have reached a gateway.
    pub fn outbound_requests(&self) -> u32 {
        let call = &self.store.data().call;
        call.services.http.requests_per_call.saturating_sub(call.http_requests_left)
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
                module = %self.label.module, version = %self.label.version, company_id = self.label.company_id,
                integration_id = self.label.integration_id, output = %text.trim_end(),
                "provider output"
            );
        }
    }
}

pub(super) fn classify(store: &Store<ProviderState>, error: wasmtime::Error) -> (FailureKind, String) {
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
