//! Host bindings of the provider WIT. One module per supported package version: a released
//! version stays frozen here, and a later one gets its own module beside it (see
//! `docs/providers.md`, "Versions").

/// `integrations:provider@1.0.0`.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "payment-provider",
        imports: { default: async | trappable },
        exports: { default: async },
    });

    pub use exports::integrations::provider::payment as payment;
    pub use integrations::provider::types;
}
