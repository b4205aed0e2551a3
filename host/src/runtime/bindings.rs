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
    pub use messaging_world::{MessagingProvider, MessagingProviderPre};
    pub use payment_world::exports::integrations::provider::payment;
    pub use payment_world::integrations;
    pub use payment_world::integrations::provider::types;
    pub use payment_world::{PaymentProvider, PaymentProviderPre};
}

mod conversions {
    //! Between the WIT types and the domain's.

    use super::v1::types;
    use crate::domain::transaction_state::TransactionState;

    impl From<types::TransactionState> for TransactionState {
        fn from(state: types::TransactionState) -> Self {
            match state {
                types::TransactionState::Draft => Self::Draft,
                types::TransactionState::Pending => Self::Pending,
                types::TransactionState::Authorized => Self::Authorized,
                types::TransactionState::Captured => Self::Captured,
                types::TransactionState::Failed => Self::Failed,
                types::TransactionState::Cancelled => Self::Cancelled,
                types::TransactionState::Refunded => Self::Refunded,
            }
        }
    }

    impl From<TransactionState> for types::TransactionState {
        fn from(state: TransactionState) -> Self {
            match state {
                TransactionState::Draft => Self::Draft,
                TransactionState::Pending => Self::Pending,
                TransactionState::Authorized => Self::Authorized,
                TransactionState::Captured => Self::Captured,
                TransactionState::Failed => Self::Failed,
                TransactionState::Cancelled => Self::Cancelled,
                TransactionState::Refunded => Self::Refunded,
            }
        }
    }

    impl types::IntegrationType {
        /// The seed's display name ("Embedded JS").
        pub fn display_name(self) -> &'static str {
            match self {
                Self::Redirect => "Redirect",
                Self::EmbeddedJs => "Embedded JS",
                Self::QrCode => "QR Code",
            }
        }

        /// The initiate response's wire name ("embedded_js").
        pub fn wire_name(self) -> &'static str {
            match self {
                Self::Redirect => "redirect",
                Self::EmbeddedJs => "embedded_js",
                Self::QrCode => "qr_code",
            }
        }

        pub fn from_display_name(name: &str) -> Option<Self> {
            [Self::Redirect, Self::EmbeddedJs, Self::QrCode].into_iter().find(|kind| kind.display_name() == name)
        }
    }
}
