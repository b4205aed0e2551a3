//! A saved payment method as the ERP sees it: never its gateway token.

use serde::Serialize;
use utoipa::ToSchema;

use crate::services::records::PaymentMethodRow;

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethod {
    pub id: i64,
    pub integration_id: i64,
    /// The ERP's contact id the method belongs to.
    pub contact_id: String,
    /// What a person recognises it by ("Visa •••• 4242").
    #[schema(example = "Visa •••• 4242")]
    pub label: String,
    /// "YYYY-MM", when the method expires.
    pub expires: Option<String>,
    /// The payment that saved it.
    pub transaction_id: i64,
    pub created_at: String,
}

impl From<&PaymentMethodRow> for PaymentMethod {
    fn from(row: &PaymentMethodRow) -> Self {
        Self {
            id: row.id,
            integration_id: row.integration_id,
            contact_id: row.contact_id.clone(),
            label: row.label.clone(),
            expires: row.expires.clone(),
            transaction_id: row.transaction_id,
            created_at: row.created_at.clone(),
        }
    }
}
