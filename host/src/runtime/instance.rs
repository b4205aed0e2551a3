//! One provider call's sandbox: a fresh Store (memory cap, deadline, WASI granting nothing)
//! instantiated from the module's pre-linked component. A trap, timeout or out-of-memory
//! fails this instance only.

use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::bindings::v1::{self, messaging, payment, types};
use super::engine::ProviderRuntime;
use super::failure::{FailureKind, ProviderFailure};
use super::state::{MemoryLimit, ProviderState};
use super::stdio::GuestOutput;
use crate::capabilities::CallContext;

/// A linked component, ready to instantiate per call.
pub enum ProviderPre {
    Payment(v1::PaymentProviderPre<ProviderState>),
    Messaging(v1::MessagingProviderPre<ProviderState>),
}

/// Who a call serves, for logs and failures.
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
    slot: OwnedSemaphorePermit,
}

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

    /// A payment provider sandbox for one operation (one or more calls sharing a deadline).
    pub async fn payment_instance(
        &self,
        pre: &v1::PaymentProviderPre<ProviderState>,
        label: CallLabel,
        limits: CallLimits,
        call: CallContext,
    ) -> Result<PaymentInstance, ProviderFailure> {
        let mut fresh = self.fresh_store(&label, limits, call).await?;
        let outcome = tokio::time::timeout_at(fresh.deadline.into(), pre.instantiate_async(&mut fresh.store)).await;
        Sandbox::instantiated(fresh, label, outcome)
    }

    /// A messaging provider sandbox for one operation.
    pub async fn messaging_instance(
        &self,
        pre: &v1::MessagingProviderPre<ProviderState>,
        label: CallLabel,
        limits: CallLimits,
        call: CallContext,
    ) -> Result<MessagingInstance, ProviderFailure> {
        let mut fresh = self.fresh_store(&label, limits, call).await?;
        let outcome = tokio::time::timeout_at(fresh.deadline.into(), pre.instantiate_async(&mut fresh.store)).await;
        Sandbox::instantiated(fresh, label, outcome)
    }

    /// Waits for a slot, then builds a Store with the call's memory cap and deadline and
    /// WASI granting nothing.
    async fn fresh_store(
        &self,
        label: &CallLabel,
        limits: CallLimits,
        mut call: CallContext,
    ) -> Result<FreshStore, ProviderFailure> {
        let slot = tokio::time::timeout(self.limits.slot_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| failure(label, FailureKind::Overloaded, "no sandbox slot became free".into()))?
            .map_err(|_| failure(label, FailureKind::Overloaded, "the runtime is shutting down".into()))?;

        let deadline = Instant::now() + limits.timeout;
        call.deadline = deadline;
        let output = GuestOutput::new(self.limits.output_cap);
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
            call,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            // Yield to the executor every tick so a busy guest never starves other requests,
            // and stop it once its deadline has passed.
            if Instant::now() >= store.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(FreshStore { store, deadline, slot })
    }
}

/// A live provider sandbox of world bindings `B`. Each method of its aliases is one export
/// call; after a failure the sandbox refuses further calls.
pub struct Sandbox<B> {
    store: Store<ProviderState>,
    bindings: B,
    label: CallLabel,
    deadline: Instant,
    broken: Option<ProviderFailure>,
    _slot: OwnedSemaphorePermit,
}

pub type PaymentInstance = Sandbox<v1::PaymentProvider>;
pub type MessagingInstance = Sandbox<v1::MessagingProvider>;

type Outcome<T> = Result<Result<T, types::ProviderError>, ProviderFailure>;

impl<B> Sandbox<B> {
    /// Wraps the result of instantiating `fresh`'s store.
    fn instantiated(
        fresh: FreshStore,
        label: CallLabel,
        outcome: Result<wasmtime::Result<B>, tokio::time::error::Elapsed>,
    ) -> Result<Self, ProviderFailure> {
        let FreshStore { store, deadline, slot } = fresh;
        match outcome {
            Ok(Ok(bindings)) => Ok(Self { store, bindings, label, deadline, broken: None, _slot: slot }),
            Ok(Err(error)) => {
                let (kind, detail) = classify(&store, error);
                let kind = if kind == FailureKind::Trap { FailureKind::Instantiation } else { kind };
                Err(failure(&label, kind, detail))
            }
            Err(_) => Err(failure(&label, FailureKind::Timeout, "instantiation ran past the deadline".into())),
        }
    }

    fn settle<T>(
        &mut self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, ProviderFailure> {
        let (kind, detail) = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => classify(&self.store, error),
            Err(_) => (FailureKind::Timeout, "the call ran past its deadline".into()),
        };
        let failure = failure(&self.label, kind, detail);
        tracing::error!(
            module = %failure.module, version = %failure.version,
            company_id = failure.company_id, integration_id = failure.integration_id,
            kind = ?failure.kind, detail = %failure.detail,
            "provider call failed"
        );
        self.broken = Some(failure.clone());
        Err(failure)
    }
}

macro_rules! guest_call {
    ($self:ident, $interface:ident, $method:ident ( $($arg:expr),* )) => {{
        if let Some(broken) = &$self.broken {
            return Err(broken.clone());
        }
        let call = $self.bindings.$interface().$method(&mut $self.store, $($arg),*);
        let outcome = tokio::time::timeout_at($self.deadline.into(), call).await;
        $self.settle(outcome)
    }};
}

impl PaymentInstance {
    pub async fn validate_credentials(&mut self) -> Outcome<()> {
        guest_call!(self, integrations_provider_payment, call_validate_credentials())
    }

    pub async fn create_session(
        &mut self,
        transaction: &types::Transaction,
        kind: types::IntegrationType,
    ) -> Outcome<types::Session> {
        guest_call!(self, integrations_provider_payment, call_create_session(transaction, kind))
    }

    pub async fn verify_webhook(&mut self, request: &types::WebhookRequest) -> Outcome<types::Verification> {
        guest_call!(self, integrations_provider_payment, call_verify_webhook(request))
    }

    pub async fn parse_webhook(&mut self, request: &types::WebhookRequest) -> Outcome<payment::ParsedWebhook> {
        guest_call!(self, integrations_provider_payment, call_parse_webhook(request))
    }

    pub async fn process_return(
        &mut self,
        transaction: &types::Transaction,
        params: &[(String, String)],
    ) -> Outcome<types::GatewayUpdate> {
        guest_call!(self, integrations_provider_payment, call_process_return(transaction, params))
    }

    pub async fn refund(
        &mut self,
        transaction: &types::Transaction,
        amount: &types::Money,
        refund_id: &str,
    ) -> Outcome<payment::RefundResult> {
        guest_call!(self, integrations_provider_payment, call_refund(transaction, amount, refund_id))
    }

    pub async fn sync(&mut self, transaction: &types::Transaction) -> Outcome<types::GatewayUpdate> {
        guest_call!(self, integrations_provider_payment, call_sync(transaction))
    }

    pub async fn client_config(&mut self) -> Outcome<String> {
        guest_call!(self, integrations_provider_payment, call_client_config())
    }
}

impl MessagingInstance {
    pub async fn validate_credentials(&mut self) -> Outcome<()> {
        guest_call!(self, integrations_provider_messaging, call_validate_credentials())
    }

    pub async fn send(&mut self, message: &messaging::OutboundMessage) -> Outcome<messaging::SendResult> {
        guest_call!(self, integrations_provider_messaging, call_send(message))
    }

    pub async fn verify_webhook(&mut self, request: &types::WebhookRequest) -> Outcome<types::Verification> {
        guest_call!(self, integrations_provider_messaging, call_verify_webhook(request))
    }

    pub async fn parse_webhook(&mut self, request: &types::WebhookRequest) -> Outcome<messaging::ParsedWebhook> {
        guest_call!(self, integrations_provider_messaging, call_parse_webhook(request))
    }
}

impl<B> Drop for Sandbox<B> {
    fn drop(&mut self) {
        let (text, dropped) = self.store.data().output.take();
        if !text.is_empty() {
            tracing::info!(
                module = %self.label.module, integration_id = self.label.integration_id,
                dropped_bytes = dropped, output = %text.trim_end(),
                "provider output"
            );
        }
    }
}

fn classify(store: &Store<ProviderState>, error: wasmtime::Error) -> (FailureKind, String) {
    let detail = format!("{error:#}");
    if store.data().limits.exceeded {
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
