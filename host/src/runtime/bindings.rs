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

    pub use exports::integrations::provider::payment;
    pub use integrations::provider::types;
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
            [Self::Redirect, Self::EmbeddedJs, Self::QrCode]
                .into_iter()
                .find(|kind| kind.display_name() == name)
        }
    }
}
