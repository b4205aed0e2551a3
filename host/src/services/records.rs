//! The stored records services hand to the API, which renders them (`api::views`): the API
//! names them from here and never reaches into `store/`.

pub use crate::store::events::{AttemptRow as DeliveryAttemptRow, DeliveryRow, EndpointRow, EventRow};
pub use crate::store::integrations::IntegrationRow;
pub use crate::store::mappings::MappingRow;
pub use crate::store::messages::{HistoryRow, MessageRow};
pub use crate::store::payment_links::PaymentLinkRow;
pub use crate::store::payment_methods::PaymentMethodRow;
pub use crate::store::payments::PaymentRow;
pub use crate::store::refunds::{RefundRow, RefundState};
pub use crate::store::transactions::TransactionRow;
pub use crate::store::webhook_log::{AttemptRow as WebhookAttemptRow, WebhookLogRow};
