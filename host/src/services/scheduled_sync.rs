//! The seed's `cron_sync_method`, done by the host: for each enabled integration whose
//! manifest sets `sync_interval_s`, ask the gateway about transactions still Pending or
//! Authorized after a grace period (webhooks get lost), apply what it says, and stamp
//! `last_synced_date`. A sync never overlaps itself for one integration. A transaction still
//! Draft that old is an initiate whose gateway answer could not be stored: the gateway is
//! asked by its reference, and one the gateway knows nothing of becomes Failed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::domain::manifest::IntegrationCategory;
use crate::domain::provider::payment::GatewayUpdate;
use crate::domain::transaction_state::TransactionState;
use crate::store::{integrations, now, time_after, time_ago, transactions};

use super::{App, ServiceError};

#[derive(Debug, Clone)]
pub struct SyncPolicy {
    /// How often the scheduler looks for integrations due a sync.
    pub tick: Duration,
    /// A transaction younger than this is left to its webhook.
    pub grace: Duration,
    /// The operator's floor on a manifest's `sync_interval_s` (manifests may not go under 60 s).
    pub min_interval: Duration,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self { tick: Duration::from_secs(30), grace: Duration::from_secs(600), min_interval: Duration::from_secs(60) }
    }
}

/// What one sync of an integration did.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncReport {
    pub checked: usize,
    pub changed: usize,
    pub failed: usize,
}

/// Integrations being synced right now.
#[derive(Default)]
pub struct SyncsRunning(Mutex<HashSet<i64>>);

/// Removes an integration from the running set when its sync ends, however it ends.
struct Running<'a>(&'a SyncsRunning, i64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0 .0.lock().expect("sync set").remove(&self.1);
    }
}

/// How long a host's claim on an integration's scheduled sync lasts (a sync of many
/// transactions may take a while; a host that dies holds it this long at most).
const SYNC_CLAIM: Duration = Duration::from_secs(300);

/// Beyond the longest an initiate's call can take, before its Draft is taken as abandoned.
const DRAFT_MARGIN: Duration = Duration::from_secs(10);
/// How long a sync waits before asking again after an error the provider calls retryable.
const SYNC_RETRY_PAUSE: Duration = Duration::from_millis(250);

/// A host's claim on an integration's sync (`integrations.sync_claimed_until`): taken before
/// a sync starts, renewed while it runs, released when it ends.
struct SyncClaim {
    integration_id: i64,
    until: String,
    renewed: std::time::Instant,
}

/// "Due before" for a sync asked for by hand: whenever the last one was.
const ANY_TIME: &str = "9999-12-31T23:59:59.999Z";

impl App {
    /// Syncs one integration now. 409 when a sync of it is already running, on this host or
    /// another on the same database.
    pub async fn sync_integration(&self, id: i64) -> Result<SyncReport, ServiceError> {
        self.sync_if_free(id, ANY_TIME).await?.ok_or_else(|| {
            ServiceError::conflict("sync_in_progress", format!("Integration {id} is being synced already."))
        })
    }

    /// Syncs integration `id` if its last sync was before `due_before` and no sync of it runs
    /// anywhere: claimed for this host (one host per integration at a time), renewed while it
    /// runs, released when it ends. None when not due or taken.
    async fn sync_if_free(&self, id: i64, due_before: &str) -> Result<Option<SyncReport>, ServiceError> {
        let integration = integrations::get(self.db.read(), id)
            .await?
            .filter(|row| row.integration_category == IntegrationCategory::OnlinePayment.as_str())
            .ok_or_else(|| ServiceError::NotFound(format!("Payment integration {id} does not exist.")))?;
        if !self.syncs_running.0.lock().expect("sync set").insert(id) {
            return Ok(None);
        }
        let _running = Running(&self.syncs_running, id);
        let until = time_after(SYNC_CLAIM);
        let mut tx = self.db.tx().await?;
        let claimed = integrations::claim_sync(&mut *tx, id, due_before, &now(), &until).await?;
        tx.commit().await?;
        if !claimed {
            return Ok(None);
        }
        let mut claim = SyncClaim { integration_id: id, until, renewed: std::time::Instant::now() };
        let synced = self.sync_claimed(&integration, &mut claim).await;
        let released = async {
            let mut tx = self.db.tx().await?;
            integrations::release_sync(&mut *tx, id, &claim.until).await?;
            tx.commit().await
        };
        if let Err(error) = released.await {
            tracing::warn!(integration_id = id, %error, "sync claim not released; it runs out");
        }
        synced.map(Some)
    }

    /// Renews the claim once a third of it has passed. False when it was lost (it ran out and
    /// another host took the integration): the sync then stops.
    async fn keep_claim(&self, claim: &mut SyncClaim) -> Result<bool, ServiceError> {
        if claim.renewed.elapsed() < SYNC_CLAIM / 3 {
            return Ok(true);
        }
        let until = time_after(SYNC_CLAIM);
        let mut tx = self.db.tx().await?;
        let renewed = integrations::renew_sync(&mut *tx, claim.integration_id, &claim.until, &until).await?;
        tx.commit().await?;
        if renewed {
            (claim.until, claim.renewed) = (until, std::time::Instant::now());
        }
        Ok(renewed)
    }

    /// The provider's `sync` of one transaction.
    async fn ask_sync(
        &self,
        integration: &crate::store::integrations::IntegrationRow,
        transaction: &crate::store::transactions::TransactionRow,
    ) -> Result<GatewayUpdate, ServiceError> {
        let mut provider = self.payment_provider(integration).await?;
        provider.sync(&self.provider_view(transaction)).await?.map_err(ServiceError::Gateway)
    }

    async fn sync_claimed(
        &self,
        integration: &crate::store::integrations::IntegrationRow,
        claim: &mut SyncClaim,
    ) -> Result<SyncReport, ServiceError> {
        let id = integration.id;
        let mut report = SyncReport::default();
        // A Draft is an initiate still under way until its call must have ended (the wait for
        // a sandbox, the call's deadline, a margin for the writes): asking the gateway before
        // then would fail a payment whose session is being made.
        let limits = &self.runtime.limits;
        let initiate_may_run = limits.slot_wait + limits.max_call_timeout + DRAFT_MARGIN;
        let drafts_before = time_ago(self.sync.grace.max(initiate_may_run));
        let open = transactions::open_before(self.db.read(), id, &time_ago(self.sync.grace)).await?;
        let open = open.into_iter().filter(|row| {
            row.state != TransactionState::Draft.as_str() || row.created_at.as_str() < drafts_before.as_str()
        });
        for transaction in open {
            if self.stop_requested() {
                // The host is stopping: the rest waits for the next sync after the restart.
                tracing::info!(integration_id = id, checked = report.checked, "sync stopped: the host is stopping");
                return Ok(report);
            }
            if !self.keep_claim(claim).await? {
                tracing::warn!(
                    integration_id = id,
                    checked = report.checked,
                    "sync stopped: its claim ran out and another host took it"
                );
                return Ok(report);
            }
            report.checked += 1;
            let mut asked = self.ask_sync(integration, &transaction).await;
            // An error the provider calls retryable (the gateway rate-limited, timed out or
            // was down) is the host's to retry: once, after a pause, in the same pass.
            if matches!(&asked, Err(ServiceError::Gateway(error)) if error.retryable) {
                tokio::time::sleep(SYNC_RETRY_PAUSE).await;
                asked = self.ask_sync(integration, &transaction).await;
            }
            match asked {
                Ok(update) => {
                    let applied = self.apply_update(transaction.id, &update, None).await?;
                    if applied.transaction.state != transaction.state {
                        report.changed += 1;
                    }
                }
                Err(ServiceError::Gateway(refusal))
                    if transaction.state == TransactionState::Draft.as_str()
                        && ServiceError::is_gateway_refusal(&refusal)
                        && !refusal.retryable =>
                {
                    // An initiate whose answer was never stored: the payer never got the
                    // session, and the gateway knows of no payment by its reference.
                    let failed = GatewayUpdate {
                        reference: None,
                        gateway_reference: None,
                        state: Some(TransactionState::Failed),
                        gateway_status: Some("session not recorded".into()),
                        error_message: Some(format!(
                            "The payment could not be started: the host could not store the gateway's answer ({})",
                            refusal.message
                        )),
                        refunded_minor: None,
                        provider_data: None,
                        ..GatewayUpdate::default()
                    };
                    self.apply_update(transaction.id, &failed, None).await?;
                    report.changed += 1;
                }
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(integration_id = id, transaction = %transaction.reference, %error, "sync could not ask the gateway");
                }
            }
        }
        let mut tx = self.db.tx().await?;
        integrations::set_last_synced(&mut *tx, id, &now()).await?;
        tx.commit().await?;
        tracing::info!(
            integration_id = id,
            checked = report.checked,
            changed = report.changed,
            failed = report.failed,
            "sync done"
        );
        Ok(report)
    }

    /// Runs due syncs every tick until the host stops; a stop waits for the syncs running to
    /// finish the transaction each is at.
    pub fn spawn_scheduled_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(app.sync.tick);
            let mut running = JoinSet::new();
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = app.stop_signal() => break,
                }
                while running.try_join_next().is_some() {}
                if let Err(error) = app.run_due_syncs(&mut running).await {
                    tracing::error!(%error, "scheduled sync pass failed");
                }
            }
            while running.join_next().await.is_some() {}
        })
    }

    async fn run_due_syncs(self: &Arc<Self>, running: &mut JoinSet<()>) -> Result<(), ServiceError> {
        let payment = IntegrationCategory::OnlinePayment.as_str();
        for integration in integrations::list(self.db.read(), None, Some(payment)).await? {
            let Some(module) = self.registry.get(&integration.module) else { continue };
            let Some(interval) = module.manifest.runtime.sync_interval_s else { continue };
            let interval = Duration::from_secs(interval.max(self.sync.min_interval.as_secs()));
            if !integration.is_enabled() {
                continue;
            }
            // Due, and claimed by this host alone: of several hosts on one database, one syncs
            // it per interval; a claim outlives its host by at most SYNC_CLAIM. Each
            // integration syncs on its own task.
            let due_before = time_ago(interval);
            if integration.last_synced_date.as_deref().is_some_and(|last| last >= due_before.as_str()) {
                continue;
            }
            let app = self.clone();
            running.spawn(async move {
                if let Err(error) = app.sync_if_free(integration.id, &due_before).await {
                    tracing::warn!(integration_id = integration.id, %error, "scheduled sync failed");
                }
            });
        }
        Ok(())
    }
}
