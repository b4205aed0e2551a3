//! The wasm sandbox: one [`wasmtime::Engine`] for the process (epoch interruption, pooling
//! allocator), components compiled once off the request path, and a fresh [`wasmtime::Store`]
//! per provider call with a memory cap, a deadline and WASI granting nothing.

mod arguments;
pub(crate) mod bindings;
pub mod ceilings;
mod compile_cache;
mod component_check;
mod cpu_share;
mod engine;
mod exports;
mod failure;
mod http_imports;
mod imports;
mod instance;
mod payment_exports;
mod results;
mod sandbox;
mod slots;
mod state;
mod stdio;
mod tally;

pub use component_check::{check_component, ComponentProblem};
pub use cpu_share::CpuShare;
pub use engine::{HostLimits, ProviderRuntime};
pub use exports::{MessagingInstance, MessagingPre, PaymentInstance, PaymentPre};
pub use failure::{FailureKind, ProviderFailure};
pub use instance::{CallLabel, CallLimits, Outcome, ProviderPre};
pub use sandbox::Sandbox;
pub use slots::{SandboxSlots, SlotPolicy, SlotRefusal, SlotStats};
pub use state::ProviderState;
