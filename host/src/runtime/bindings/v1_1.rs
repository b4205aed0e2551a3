//! `integrations:provider@1.1.0` (a preview, see `docs/providers.md`). Of the imports only
//! `http` and `crypto` differ from 1.0.0, so the others are bound to the 1.0.0 types: a 1.1.0
//! component's imports of those interfaces are served by the 1.0.0 definitions (wasmtime
//! resolves `…@1.1.0` to the latest `…@1.x` defined when there is no exact one, and checks
//! function types structurally). `http@1.1.0` is defined by `runtime::http_imports`,
//! `crypto@1.1.0` by `runtime::imports`; the `payment` export is called through
//! `runtime::payment_exports` with the bounded types of `runtime::results::payment_v1_1`.

mod payment_world {
    wasmtime::component::bindgen!({
        path: "../wit/v1.1.0",
        world: "payment-provider",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "integrations:provider/types": crate::runtime::bindings::v1::integrations::provider::types,
            "integrations:provider/credentials": crate::runtime::bindings::v1::integrations::provider::credentials,
            "integrations:provider/endpoints": crate::runtime::bindings::v1::integrations::provider::endpoints,
            "integrations:provider/mapper": crate::runtime::bindings::v1::integrations::provider::mapper,
            "integrations:provider/cache": crate::runtime::bindings::v1::integrations::provider::cache,
            "integrations:provider/log": crate::runtime::bindings::v1::integrations::provider::log,
            "integrations:provider/context": crate::runtime::bindings::v1::integrations::provider::context,
        },
    });
}

pub use payment_world::integrations::provider::http;
