//! The public page of a link: what it shows and what choosing a method starts.
//!
//! **One payment per link.** A link starts a new gateway session only while none of its
//! transactions is in progress (Draft or Pending) or took the payment (Authorized, Captured,
//! Refunded). That is checked, and the new Draft linked, in one write transaction holding the
//! link's row, so two payers choosing at the same moment, on one host or two, never start two
//! sessions: the second is told a payment is being started, and once its URL is known, a
//! payer choosing the same method is sent to that same session (the gateway takes one payment
//! per session). A payer choosing another method while one is in progress is told to finish
//! it, or to wait until it ends: the payer cancels it at the gateway, the gateway reports it
//! failed or expired (webhook, return, or the scheduled sync), or it is older than any gateway
//! keeps a session payable ([`LINK_SESSION_LIFETIME`]; [`LINK_START_TIME`] for one whose payer
//! never got its URL, a host having died while starting it).
//!
//! **Starts per link are bounded**: at most [`LINK_STARTS_PER_WINDOW`] sessions in any
//! [`LINK_START_WINDOW`] and [`LINK_STARTS_EVER`] in the link's life, counted from the link's
//! transactions in the database (so across hosts too); beyond either the page answers 429 and
//! calls no gateway. (So a link's transactions, which every view and start reads, are few.)
//!
//! **Only methods that can take the payment are offered**: an integration whose module's
//! capabilities refuse the link's currency or amount is not listed, nor started.

use std::time::Duration;

use chrono::Utc;
use serde_json::value::RawValue;

use super::{display_amount, is_live_state, link_status, looks_like_token, LinkStatus};
use crate::domain::manifest::IntegrationCategory;
use crate::domain::money::format_minor;
use crate::domain::provider::payment::SessionAction;
use crate::services::online_payment::{parse_currency, InitiateRequest};
use crate::services::{App, Caller, ServiceError};
use crate::store::integrations::{self, IntegrationRow};
use crate::store::payment_links::{self, LinkTransaction, PaymentLinkRow};
use crate::store::time_ago;

/// Sessions a link may start within [`LINK_START_WINDOW`].
pub const LINK_STARTS_PER_WINDOW: usize = 5;
/// Sessions a link may start in its whole life (a link is for one payment; past this many
/// attempts the merchant sends a new one).
pub const LINK_STARTS_EVER: usize = 100;
/// The window [`LINK_STARTS_PER_WINDOW`] counts over.
pub const LINK_START_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a payer sent to a gateway session may still pay it (the longest any shipped
/// gateway keeps a checkout session open: Stripe's 24 h).
pub const LINK_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// How long starting a session may take before its payer is sent on (well above the
/// longest call deadline and the wait for a sandbox).
pub const LINK_START_TIME: Duration = Duration::from_secs(5 * 60);

/// A payment integration the payer may choose.
#[derive(Debug, Clone)]
pub struct PayMethod {
    pub integration_id: i64,
    pub display_name: String,
    pub test_mode: bool,
}

/// Everything the public page shows.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub link: PaymentLinkRow,
    pub status: LinkStatus,
    /// "USD 19.99", "JPY 1000".
    pub amount: String,
    /// Empty unless the link is Open.
    pub methods: Vec<PayMethod>,
    /// The state of the link's transaction named by `?txn=` (the payer coming back from the
    /// gateway), if it is one of this link's.
    pub returned_state: Option<String>,
}

/// What choosing a payment method led to.
#[derive(Debug, Clone)]
pub enum PayOutcome {
    /// Send the payer here (the gateway's checkout): a new session, or the one in progress.
    Redirect(String),
    /// The method cannot be completed on this page (it offers no Redirect); nothing started.
    NotARedirect { display_name: String },
    /// Nothing was started: the link is no longer open.
    Closed(LinkStatus),
    /// Nothing was started: the integration chosen is not one of this link's methods (it does
    /// not exist, is another company's, disabled or not a payment integration).
    UnknownMethod,
    /// Nothing was started: a payment of this link is in progress with `display_name` (its
    /// session is still being started when `continue_url` is None).
    InProgress { display_name: String, continue_url: Option<String> },
    /// Nothing was started: the link started [`LINK_STARTS_PER_WINDOW`] sessions lately.
    TooManyStarts,
}

/// Whether a link may start a session for `integration_id` now, given its transactions.
enum Admission<'a> {
    Start,
    InProgress(&'a LinkTransaction),
    TooManyStarts,
}

/// Whether a link may start a session now. A transaction in progress that may still be paid
/// holds the link, so it takes no other: one whose
/// payer was sent to the gateway within [`LINK_SESSION_LIFETIME`], or one being started
/// (no URL yet) within [`LINK_START_TIME`]. Past those, no gateway session is still payable
/// or no payer ever got its URL, and the transaction no longer holds the link (the scheduled
/// sync or a webhook settles it; money is never ignored). Times are the store's RFC 3339 UTC
/// text, which compares in time order.
fn admission(transactions: &[LinkTransaction]) -> Admission<'_> {
    let (sent_since, started_since) = (time_ago(LINK_SESSION_LIFETIME), time_ago(LINK_START_TIME));
    let holds_the_link = |t: &LinkTransaction| {
        let since = if t.redirect_url.is_some() { &sent_since } else { &started_since };
        is_live_state(&t.state) && t.created_at >= *since
    };
    if let Some(live) = transactions.iter().rev().find(|t| holds_the_link(t)) {
        return Admission::InProgress(live);
    }
    let since = time_ago(LINK_START_WINDOW);
    let recent = transactions.iter().filter(|t| t.created_at >= since).count();
    if recent >= LINK_STARTS_PER_WINDOW || transactions.len() >= LINK_STARTS_EVER {
        Admission::TooManyStarts
    } else {
        Admission::Start
    }
}

impl App {
    /// The link of a token, or 404 (also for text that cannot be a token).
    async fn link_by_token(&self, token: &str) -> Result<PaymentLinkRow, ServiceError> {
        let found = if looks_like_token(token) { payment_links::by_token(self.db.read(), token).await? } else { None };
        found.ok_or_else(|| ServiceError::NotFound("This payment link does not exist.".into()))
    }

    /// The company's enabled payment integrations whose module is installed and takes the
    /// link's currency and amount, in `payment_sequence` order.
    async fn pay_methods(&self, link: &PaymentLinkRow) -> Result<Vec<(IntegrationRow, PayMethod)>, ServiceError> {
        let rows = integrations::list(
            self.db.read(),
            Some(link.company_id),
            Some(IntegrationCategory::OnlinePayment.as_str()),
        )
        .await?;
        let currency = parse_currency(&link.currency).ok();
        let takes_it = |row: &IntegrationRow| match (self.registry.get(&row.module), currency) {
            (Some(module), Some(currency)) => {
                module.manifest.capabilities().accepts(currency, Some(link.amount_minor), None).is_ok()
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        Ok(rows
            .into_iter()
            .filter(|row| row.is_enabled() && takes_it(row))
            .map(|row| {
                let method = PayMethod {
                    integration_id: row.id,
                    display_name: row.payment_display_name.clone().unwrap_or_else(|| row.name.clone()),
                    test_mode: row.test_mode(),
                };
                (row, method)
            })
            .collect())
    }

    /// What the public page of `token` shows; `returned` is the `txn` the gateway sent back.
    pub async fn payment_link_view(&self, token: &str, returned: Option<&str>) -> Result<LinkView, ServiceError> {
        let link = self.link_by_token(token).await?;
        let transactions = payment_links::transactions(self.db.read(), link.id).await?;
        let status = link_status(&link, &transactions, Utc::now());
        let methods = match status {
            LinkStatus::Open => self.pay_methods(&link).await?.into_iter().map(|(_, m)| m).collect(),
            _ => Vec::new(),
        };
        let returned_state = returned
            .and_then(|reference| transactions.iter().find(|t| t.reference == reference).map(|t| t.state.clone()));
        Ok(LinkView {
            amount: display_amount(link.amount_minor, &link.currency),
            link,
            status,
            methods,
            returned_state,
        })
    }

    /// The payer chose `integration_id` on the page of `token`: starts a payment for the
    /// link's document (one at a time, see the module's docs), returning to the link's page
    /// either way.
    pub async fn pay_payment_link(&self, token: &str, integration_id: i64) -> Result<PayOutcome, ServiceError> {
        let link = self.link_by_token(token).await?;
        let transactions = payment_links::transactions(self.db.read(), link.id).await?;
        let status = link_status(&link, &transactions, Utc::now());
        if status != LinkStatus::Open {
            return Ok(PayOutcome::Closed(status));
        }
        let methods = self.pay_methods(&link).await?;
        if let Some(refusal) = refusal(&transactions, &methods, integration_id) {
            return Ok(refusal);
        }
        let Some((integration, method)) = methods.iter().find(|(_, m)| m.integration_id == integration_id) else {
            return Ok(PayOutcome::UnknownMethod);
        };
        // The page cannot run a gateway's script or show a code, so it starts only redirects.
        let offers_redirect = self
            .registry
            .get(&integration.module)
            .is_some_and(|module| module.manifest.runtime.integration_types.iter().any(|t| t == "Redirect"));
        if !offers_redirect {
            return Ok(PayOutcome::NotARedirect { display_name: method.display_name.clone() });
        }
        let currency = parse_currency(&link.currency)?;
        let amount = serde_json::to_string(&format_minor(link.amount_minor, currency)).expect("a string serializes");
        let page = self.payment_link_url(&link.token);
        let request = InitiateRequest {
            integration_id,
            amount: RawValue::from_string(amount).expect("a JSON string"),
            currency: link.currency.clone(),
            document_model: Some(link.document_model.clone()),
            document_id: Some(link.document_id),
            return_url: page.clone(),
            cancel_url: Some(page),
            integration_type: Some("Redirect".to_string()),
            contact: None,
            pending_action_data: None,
            capture: None,
            save_payment_method: None,
        };
        // The page acts for the link's company; key 0 is no API key (it only scopes
        // idempotency, which this call does not use).
        let caller = Caller::Company { key_id: 0, company_id: link.company_id };
        let initiated = match self.initiate_for_link(caller, request, Some(link.id)).await {
            Ok(initiated) => initiated,
            // Another payer's start won the link meanwhile: say what it is now.
            Err(ServiceError::Conflict { code: LINK_BUSY, .. }) => {
                let transactions = payment_links::transactions(self.db.read(), link.id).await?;
                let status = link_status(&link, &transactions, Utc::now());
                if status != LinkStatus::Open {
                    return Ok(PayOutcome::Closed(status));
                }
                return Ok(refusal(&transactions, &methods, integration_id).unwrap_or(PayOutcome::InProgress {
                    display_name: method.display_name.clone(),
                    continue_url: None,
                }));
            }
            Err(error) => return Err(error),
        };
        Ok(match initiated.action {
            SessionAction::Redirect(url) => {
                let mut tx = self.db.tx().await?;
                payment_links::set_redirect_url(&mut *tx, initiated.transaction.id, &url).await?;
                tx.commit().await?;
                PayOutcome::Redirect(url)
            }
            SessionAction::EmbeddedJs(_) | SessionAction::QrCode(_) => {
                PayOutcome::NotARedirect { display_name: method.display_name.clone() }
            }
        })
    }
}

/// Why the link cannot start a session for `integration_id` now, if it cannot: a payment
/// in progress (continued when it is the same method's and its URL is known), or too many
/// starts lately.
fn refusal(
    transactions: &[LinkTransaction],
    methods: &[(IntegrationRow, PayMethod)],
    integration_id: i64,
) -> Option<PayOutcome> {
    match admission(transactions) {
        Admission::Start => None,
        Admission::TooManyStarts => Some(PayOutcome::TooManyStarts),
        Admission::InProgress(live) => match (&live.redirect_url, live.integration_id == integration_id) {
            (Some(url), true) => Some(PayOutcome::Redirect(url.clone())),
            (url, _) => {
                let display_name = methods
                    .iter()
                    .find(|(_, m)| m.integration_id == live.integration_id)
                    .map_or_else(|| "another payment method".to_string(), |(_, m)| m.display_name.clone());
                Some(PayOutcome::InProgress { display_name, continue_url: url.clone() })
            }
        },
    }
}

/// The code [`App::initiate_for_link`] refuses a link's start with when another start won.
pub(crate) const LINK_BUSY: &str = "payment_link_busy";

/// Checked in the write transaction that links a new Draft to `link_id`, holding the link's
/// row: the link still admits a start (the check before it was made on a read).
pub(crate) async fn admit_start(tx: &mut crate::store::WriteTx, link_id: i64) -> Result<(), ServiceError> {
    tx.lock_payment_link(link_id).await?;
    let transactions = payment_links::transactions(&mut **tx, link_id).await?;
    let link = payment_links::get(&mut **tx, link_id).await?;
    let open = link.is_some_and(|link| link_status(&link, &transactions, Utc::now()) == LinkStatus::Open);
    if open && matches!(admission(&transactions), Admission::Start) {
        Ok(())
    } else {
        Err(ServiceError::conflict(LINK_BUSY, "Another payment of this link was started meanwhile."))
    }
}
