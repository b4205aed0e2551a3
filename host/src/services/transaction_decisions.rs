//! What a gateway's report does to a transaction, decided on the row alone: the state
//! machine's move, the gateway's bookkeeping (reference, status, message, refunded total) and
//! a description of the outcome. Pure: the write is `transaction_updates`'.

use crate::domain::provider::payment::GatewayUpdate;
use crate::domain::transaction_state::{TransactionState, Transition};
use crate::store::transactions::TransactionRow;

/// The new row (if anything changes) and a description of what happens.
pub fn decide(row: &TransactionRow, update: &GatewayUpdate) -> (Option<TransactionRow>, String) {
    let current: TransactionState = row.state.parse().unwrap_or(TransactionState::Draft);
    let mut next = row.clone();
    if next.gateway_reference.is_none() {
        next.gateway_reference = update.gateway_reference.clone();
    }
    let mut outcome = match update.state {
        None => {
            keep_bookkeeping(&mut next, update);
            "no state change reported".to_string()
        }
        Some(target) => match current.transition(target) {
            Transition::Unchanged => {
                keep_bookkeeping(&mut next, update);
                format!("duplicate: already {current}")
            }
            Transition::Refused => format!("ignored: {current} cannot become {target}"),
            Transition::Advance(to) => {
                next.state = to.as_str().to_string();
                keep_bookkeeping(&mut next, update);
                if matches!(to, TransactionState::Authorized | TransactionState::Captured) {
                    // An earlier attempt's decline no longer describes a paid transaction.
                    next.error_message = update.error_message.clone();
                }
                if matches!(to, TransactionState::Captured | TransactionState::Refunded)
                    && next.captured_minor.is_none()
                {
                    // A partial capture: what was captured is what can be refunded.
                    next.captured_minor = update.captured_minor.filter(|&c| c > 0 && c < row.amount_minor);
                }
                let capturable = next.capturable_minor();
                if to == TransactionState::Refunded {
                    next.refunded_minor =
                        update.refunded_minor.unwrap_or(capturable).clamp(row.refunded_minor, capturable);
                }
                format!("{current} → {to}")
            }
        },
    };
    // A gateway reporting a (partial) refund total of a captured payment.
    if let Some(total) = update.refunded_minor {
        let total = total.min(next.capturable_minor());
        if next.state == TransactionState::Captured.as_str() && total > next.refunded_minor {
            next.refunded_minor = total;
            if total == next.capturable_minor() {
                next.state = TransactionState::Refunded.as_str().to_string();
            }
            outcome = format!("{outcome}; refunded {total} minor units in total");
        }
    }
    let changed = next.state != row.state
        || next.error_message != row.error_message
        || next.refunded_minor != row.refunded_minor
        || next.gateway_reference != row.gateway_reference
        || next.gateway_status != row.gateway_status
        || next.provider_data != row.provider_data
        || next.captured_minor != row.captured_minor;
    (changed.then_some(next), outcome)
}

/// The gateway's wording, its message and the provider's own data follow every update that
/// is not refused, even one that changes no state (a session completed but not yet paid, a
/// decline the payer may retry).
fn keep_bookkeeping(next: &mut TransactionRow, update: &GatewayUpdate) {
    if update.error_message.is_some() {
        next.error_message = update.error_message.clone();
    }
    if update.gateway_status.is_some() {
        next.gateway_status = update.gateway_status.clone();
    }
    if update.provider_data.is_some() {
        next.provider_data = update.provider_data.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transaction_state::TransactionState as State;

    fn row(state: &str) -> TransactionRow {
        TransactionRow {
            id: 1,
            reference: "TXN-1".into(),
            integration_id: 1,
            company_id: 1,
            state: state.into(),
            integration_type: "Redirect".into(),
            amount_minor: 1000,
            currency: "USD".into(),
            refunded_minor: 0,
            gateway_reference: Some("sess_1".into()),
            gateway_status: None,
            error_message: None,
            provider_data: None,
            document_model: None,
            document_id: None,
            return_url: None,
            cancel_url: None,
            contact: None,
            pending_action_data: None,
            test_mode: 1,
            created_at: String::new(),
            updated_at: String::new(),
            capture_mode: "automatic".into(),
            save_payment_method: 0,
            captured_minor: None,
            payment_method_id: None,
        }
    }

    fn update(state: Option<State>, refunded: Option<i64>) -> GatewayUpdate {
        GatewayUpdate {
            reference: None,
            gateway_reference: Some("sess_1".into()),
            state,
            gateway_status: Some("event".into()),
            error_message: None,
            refunded_minor: refunded,
            provider_data: None,
            ..GatewayUpdate::default()
        }
    }

    #[test]
    fn advances_and_refuses_per_the_state_machine() {
        let (next, _) = decide(&row("Pending"), &update(Some(State::Captured), None));
        assert_eq!(next.unwrap().state, "Captured");
        let mut captured = row("Captured");
        captured.gateway_status = Some("event".into());
        let (next, outcome) = decide(&captured, &update(Some(State::Captured), None));
        assert!(next.is_none() && outcome.starts_with("duplicate"), "a repeated event changes nothing: {outcome}");
        let (next, _) = decide(&captured, &update(Some(State::Pending), None));
        assert!(next.is_none(), "a refused event changes nothing, not even the gateway status");
        let (next, outcome) = decide(&row("Captured"), &update(Some(State::Pending), None));
        assert!(next.is_none() && outcome.starts_with("ignored"), "{outcome}");
    }

    #[test]
    fn a_late_success_leaves_failed_and_clears_the_decline() {
        let mut failed = row("Failed");
        failed.error_message = Some("Your card was declined.".into());
        let (next, outcome) = decide(&failed, &update(Some(State::Captured), None));
        let next = next.expect("money moves a Failed transaction on");
        assert_eq!((next.state.as_str(), next.error_message.as_deref()), ("Captured", None), "{outcome}");
        let (next, _) = decide(&row("Cancelled"), &update(Some(State::Authorized), None));
        assert_eq!(next.unwrap().state, "Authorized");
        let (next, outcome) = decide(&failed, &update(Some(State::Pending), None));
        assert!(next.is_none() && outcome.starts_with("ignored"), "{outcome}");
    }

    #[test]
    fn a_message_is_kept_when_no_state_changes() {
        let mut pending = row("Pending");
        pending.gateway_status = Some("event".into());
        let mut declined = update(Some(State::Pending), None);
        declined.error_message = Some("Your card was declined. Try another card.".into());
        let (next, outcome) = decide(&pending, &declined);
        let next = next.expect("the message alone is a change");
        assert_eq!(next.state, "Pending", "{outcome}");
        assert_eq!(next.error_message.as_deref(), Some("Your card was declined. Try another card."));
        let mut no_state = declined.clone();
        no_state.state = None;
        no_state.error_message = Some("Second decline.".into());
        assert_eq!(decide(&next, &no_state).0.unwrap().error_message.as_deref(), Some("Second decline."));
        assert!(decide(&next, &declined).0.is_none(), "the same message again changes nothing");
    }

    #[test]
    fn a_partial_capture_bounds_what_can_be_refunded() {
        let mut captured = update(Some(State::Captured), None);
        captured.captured_minor = Some(600);
        let (next, _) = decide(&row("Authorized"), &captured);
        let next = next.unwrap();
        assert_eq!((next.state.as_str(), next.captured_minor, next.capturable_minor()), ("Captured", Some(600), 600));
        let (refunded, _) = decide(&next, &update(None, Some(900)));
        let refunded = refunded.unwrap();
        assert_eq!((refunded.state.as_str(), refunded.refunded_minor), ("Refunded", 600), "capped at the capture");
        captured.captured_minor = Some(1000);
        assert_eq!(decide(&row("Authorized"), &captured).0.unwrap().captured_minor, None, "the whole amount");
    }

    #[test]
    fn refund_totals_raise_the_refunded_amount_and_finish_at_the_total() {
        let (next, _) = decide(&row("Captured"), &update(None, Some(400)));
        let next = next.unwrap();
        assert_eq!((next.state.as_str(), next.refunded_minor), ("Captured", 400));
        let (next, _) = decide(&row("Captured"), &update(None, Some(5000)));
        let next = next.unwrap();
        assert_eq!((next.state.as_str(), next.refunded_minor), ("Refunded", 1000));
        let (next, _) = decide(&row("Captured"), &update(Some(State::Refunded), None));
        assert_eq!(next.unwrap().refunded_minor, 1000, "a refund without an amount is a full refund");
    }
}
