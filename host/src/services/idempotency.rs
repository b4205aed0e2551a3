//! Idempotency-Key claims, per caller scope: the first request with a key owns it and its
//! answer is kept; a retry with the same request gets that answer again (the HTTP side is
//! `api::idempotency`).

use crate::store::idempotency;
pub use crate::store::idempotency::Claim;

use super::{App, ServiceError};

impl App {
    /// Claims `key` in `scope` for a request hashing to `request_hash`; a claim left without
    /// an answer for [`App::idempotency_takeover`] is taken over (by one request only).
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, ServiceError> {
        let mut tx = self.db.tx().await?;
        let claim = idempotency::claim(&mut tx, scope, key, request_hash, self.idempotency_takeover).await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// Keeps the answer of an owned key (`Some((status, body))`), or frees the key (None) so
    /// the request can be retried.
    pub async fn settle_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        answer: Option<(u16, &str)>,
    ) -> Result<(), ServiceError> {
        let mut tx = self.db.tx().await?;
        match answer {
            Some((status, body)) => idempotency::complete(&mut *tx, scope, key, status, body).await?,
            None => idempotency::release(&mut *tx, scope, key).await?,
        }
        tx.commit().await?;
        Ok(())
    }
}
