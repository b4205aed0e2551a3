//! The payer's way back from the gateway (return, cancel) and a sync asked for by the ERP.

use super::with_txn;
use crate::domain::provider::payment::GatewayUpdate;
use crate::domain::transaction_state::TransactionState;
use crate::services::{App, Caller, ServiceError};
use crate::store::integrations;
use crate::store::transactions::{self, TransactionRow};

impl App {
    /// The payer came back from the gateway: ask the provider, apply its answer, and say
    /// where to send the payer (the ERP's return URL, or its cancel URL when the payment
    /// failed or was cancelled). The provider failing does not strand the payer.
    pub async fn payer_returned(&self, reference: &str, params: Vec<(String, String)>) -> Result<String, ServiceError> {
        let row = self.transaction_by_reference(reference).await?;
        let state: TransactionState = row.state.parse().unwrap_or(TransactionState::Draft);
        let mut row = row;
        // Failed or Cancelled may still have money (the payer retried); only these are settled.
        if !matches!(state, TransactionState::Captured | TransactionState::Refunded) {
            match self.ask_return(&row, params).await {
                Ok(update) => row = self.apply_update(row.id, &update, None).await?.transaction,
                Err(error) => {
                    tracing::warn!(transaction = %row.reference, %error, "return: the provider could not confirm the payment")
                }
            }
        }
        Ok(self.payer_destination(&row))
    }

    async fn ask_return(
        &self,
        row: &TransactionRow,
        params: Vec<(String, String)>,
    ) -> Result<GatewayUpdate, ServiceError> {
        let integration = integrations::get(self.db.read(), row.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("integration".into()))?;
        let mut provider = self.payment_provider(&integration).await?;
        provider.process_return(&self.provider_view(row), &params).await?.map_err(ServiceError::Gateway)
    }

    /// Asks the gateway for a transaction's state (the provider's `sync`) and applies it.
    pub async fn sync_transaction(&self, caller: Caller, id: i64) -> Result<TransactionRow, ServiceError> {
        let row = self.visible_transaction(caller, id).await?;
        let integration = integrations::get(self.db.read(), row.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Integration {} does not exist.", row.integration_id)))?;
        let mut provider = self.payment_provider(&integration).await?;
        let update = provider.sync(&self.provider_view(&row)).await?.map_err(ServiceError::Gateway)?;
        drop(provider);
        Ok(self.apply_update(row.id, &update, None).await?.transaction)
    }

    /// The payer gave up: Cancelled unless the payment already reached a final state.
    pub async fn payer_cancelled(&self, reference: &str) -> Result<String, ServiceError> {
        let row = self.transaction_by_reference(reference).await?;
        let update = GatewayUpdate {
            reference: None,
            gateway_reference: None,
            state: Some(TransactionState::Cancelled),
            gateway_status: Some("cancelled by payer".into()),
            error_message: None,
            refunded_minor: None,
            provider_data: None,
            ..GatewayUpdate::default()
        };
        let applied = self.apply_update(row.id, &update, None).await?;
        let cancel_url = applied.transaction.cancel_url.clone().unwrap_or_default();
        Ok(with_txn(&cancel_url, reference))
    }

    fn payer_destination(&self, row: &TransactionRow) -> String {
        let failed =
            row.state == TransactionState::Failed.as_str() || row.state == TransactionState::Cancelled.as_str();
        let url = if failed { &row.cancel_url } else { &row.return_url };
        with_txn(url.as_deref().unwrap_or_default(), &row.reference)
    }

    async fn transaction_by_reference(&self, reference: &str) -> Result<TransactionRow, ServiceError> {
        transactions::by_reference(self.db.read(), reference)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("No transaction has the reference `{reference}`.")))
    }
}
