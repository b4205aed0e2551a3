//! The wasm sandbox: one [`wasmtime::Engine`] for the process (epoch interruption, pooling
//! allocator), components compiled once off the request path, and a fresh [`wasmtime::Store`]
//! per provider call with a memory cap, a deadline and WASI granting nothing.

pub mod bindings;
mod compile_cache;
mod component_check;
mod engine;
mod failure;
mod instance;
mod state;
mod stdio;

pub use component_check::{check_component, ComponentProblem};
pub use engine::{HostLimits, ProviderRuntime};
pub use failure::{FailureKind, ProviderFailure};
pub use instance::{CallLabel, CallLimits, MessagingInstance, PaymentInstance, ProviderPre, Sandbox};
pub use state::ProviderState;
