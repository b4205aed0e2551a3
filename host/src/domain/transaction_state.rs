//! The online_payment transaction lifecycle (API.md §3):
//! `Draft → Pending → Authorized → Captured → Refunded`, `Draft|Pending|Authorized →
//! Failed|Cancelled`. Forward jumps are allowed (a webhook may report Captured while we still
//! think Pending); nothing ever moves backwards, and Refunded is final. Failed and Cancelled
//! are final except for money: a gateway's later report that the payment was authorized or
//! captured (the payer retried after a decline, or paid after clicking cancel) moves them on
//! to Authorized or Captured, as Odoo's `_set_done` accepts from `error`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    Draft,
    Pending,
    Authorized,
    Captured,
    Failed,
    Cancelled,
    Refunded,
}

/// What applying a reported state to the current one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition<S = TransactionState> {
    /// Move to the new state.
    Advance(S),
    /// Already there: a duplicate, nothing to do.
    Unchanged,
    /// Would move backwards or out of a final state: logged, ignored.
    Refused,
}

impl TransactionState {
    pub const ALL: [TransactionState; 7] =
        [Self::Draft, Self::Pending, Self::Authorized, Self::Captured, Self::Failed, Self::Cancelled, Self::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Pending => "Pending",
            Self::Authorized => "Authorized",
            Self::Captured => "Captured",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
            Self::Refunded => "Refunded",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Refunded)
    }

    /// Position on the main line; Failed and Cancelled sit after everything a payment can
    /// still become, Refunded after Captured.
    fn rank(self) -> u8 {
        match self {
            Self::Draft => 0,
            Self::Pending => 1,
            Self::Authorized => 2,
            Self::Captured => 3,
            Self::Refunded => 4,
            Self::Failed | Self::Cancelled => 5,
        }
    }

    /// Decides what a reported `next` state does to a transaction in `self`.
    pub fn transition(self, next: TransactionState) -> Transition {
        if next == self {
            return Transition::Unchanged;
        }
        let allowed = match self {
            Self::Refunded => false,
            // Money is never ignored: a late authorization or capture leaves Failed/Cancelled.
            Self::Failed | Self::Cancelled => matches!(next, Self::Authorized | Self::Captured),
            Self::Captured => next == Self::Refunded,
            // Draft, Pending, Authorized: forward on the main line up to Captured, or out.
            _ => next != Self::Refunded && next.rank() > self.rank(),
        };
        if allowed {
            Transition::Advance(next)
        } else {
            Transition::Refused
        }
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransactionState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown transaction state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::TransactionState::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn follows_the_documented_lifecycle() {
        assert_eq!(Draft.transition(Pending), Transition::Advance(Pending));
        assert_eq!(Pending.transition(Authorized), Transition::Advance(Authorized));
        assert_eq!(Authorized.transition(Captured), Transition::Advance(Captured));
        assert_eq!(Pending.transition(Captured), Transition::Advance(Captured));
        assert_eq!(Captured.transition(Refunded), Transition::Advance(Refunded));
        assert_eq!(Pending.transition(Failed), Transition::Advance(Failed));
        assert_eq!(Authorized.transition(Cancelled), Transition::Advance(Cancelled));
    }

    #[test]
    fn never_moves_backwards_or_out_of_a_final_state() {
        assert_eq!(Captured.transition(Pending), Transition::Refused);
        assert_eq!(Captured.transition(Failed), Transition::Refused);
        assert_eq!(Captured.transition(Cancelled), Transition::Refused);
        assert_eq!(Authorized.transition(Pending), Transition::Refused);
        assert_eq!(Pending.transition(Refunded), Transition::Refused);
        assert_eq!(Failed.transition(Pending), Transition::Refused);
        assert_eq!(Failed.transition(Cancelled), Transition::Refused);
        assert_eq!(Failed.transition(Draft), Transition::Refused);
        assert_eq!(Failed.transition(Refunded), Transition::Refused);
        assert_eq!(Cancelled.transition(Pending), Transition::Refused);
        assert_eq!(Cancelled.transition(Failed), Transition::Refused);
        assert_eq!(Refunded.transition(Captured), Transition::Refused);
        assert_eq!(Captured.transition(Captured), Transition::Unchanged);
    }

    #[test]
    fn a_late_authorization_or_capture_leaves_failed_and_cancelled() {
        for from in [Failed, Cancelled] {
            assert_eq!(from.transition(Captured), Transition::Advance(Captured));
            assert_eq!(from.transition(Authorized), Transition::Advance(Authorized));
        }
        assert_eq!(Authorized.transition(Captured), Transition::Advance(Captured), "and on from there");
    }

    #[test]
    fn names_round_trip() {
        for state in TransactionState::ALL {
            assert_eq!(state.as_str().parse::<TransactionState>().unwrap(), state);
        }
    }

    proptest! {
        /// Whatever events arrive, in whatever order: the state only moves forward on the
        /// main line, Failed or Cancelled is left only for money (Authorized, Captured),
        /// Refunded is never left, and Captured is reached at most once.
        #[test]
        fn no_event_sequence_moves_a_transaction_backwards(events in prop::collection::vec(0usize..7, 0..40)) {
            let mut state = Draft;
            let mut captured_entries = 0;
            for index in events {
                let next = TransactionState::ALL[index];
                if let Transition::Advance(to) = state.transition(next) {
                    prop_assert!(state != Refunded, "left Refunded");
                    if matches!(state, Failed | Cancelled) {
                        prop_assert!(matches!(to, Authorized | Captured), "{state} -> {to} is not money");
                    } else {
                        prop_assert!(to.rank() > state.rank(), "{state} -> {to} moves backwards");
                    }
                    if to == Captured {
                        captured_entries += 1;
                    }
                    state = to;
                }
            }
            prop_assert!(captured_entries <= 1);
        }

        /// Once Captured, a transaction is Captured or Refunded whatever arrives later.
        #[test]
        fn a_captured_payment_is_never_undone(events in prop::collection::vec(0usize..7, 0..40)) {
            let mut state = Draft;
            let mut was_captured = false;
            for index in events {
                if let Transition::Advance(to) = state.transition(TransactionState::ALL[index]) {
                    state = to;
                }
                was_captured |= state == Captured;
                if was_captured {
                    prop_assert!(matches!(state, Captured | Refunded), "captured, then {state}");
                }
            }
        }
    }
}
