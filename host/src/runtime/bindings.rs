//! Host bindings of the provider WIT. One module per supported package version: a released
//! version stays frozen here, and a later one gets its own module beside it (see
//! `docs/providers.md`, "Versions").

pub mod v1_1;

/// `integrations:provider@1.0.0`: one binding per world; the messaging world reuses the
/// payment world's bindings of the shared interfaces, so each host import has one type.
pub mod v1 {
    mod payment_world {
        wasmtime::component::bindgen!({
            path: "../wit",
            world: "payment-provider",
            // Only the imports that do I/O are async; the rest answer from memory and are
            // cheaper to call as plain functions.
            imports: {
                "integrations:provider/http": async | trappable,
                "integrations:provider/mapper": async | trappable,
                default: trappable,
            },
            exports: { default: async },
        });
    }

    mod messaging_world {
        wasmtime::component::bindgen!({
            path: "../wit",
            world: "messaging-provider",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "integrations:provider/types": super::payment_world::integrations::provider::types,
                "integrations:provider/http": super::payment_world::integrations::provider::http,
                "integrations:provider/credentials": super::payment_world::integrations::provider::credentials,
                "integrations:provider/crypto": super::payment_world::integrations::provider::crypto,
                "integrations:provider/endpoints": super::payment_world::integrations::provider::endpoints,
                "integrations:provider/mapper": super::payment_world::integrations::provider::mapper,
                "integrations:provider/cache": super::payment_world::integrations::provider::cache,
                "integrations:provider/log": super::payment_world::integrations::provider::log,
                "integrations:provider/context": super::payment_world::integrations::provider::context,
            },
        });
    }

    pub use messaging_world::exports::integrations::provider::messaging;
    pub use messaging_world::MessagingProvider;
    pub use payment_world::integrations;
    pub use payment_world::integrations::provider::types;
    pub use payment_world::PaymentProvider;
}

mod conversions;
