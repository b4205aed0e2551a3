//! The messaging lifecycle (API.md §3): `Queued → Sent → Delivered`,
//! `Queued|Sent → Failed|Undelivered`; inbound messages are `Received`. Delivery callbacks
//! arrive out of order in real life, so a state never moves backwards.

use std::fmt;
use std::str::FromStr;

use super::transaction_state::Transition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    Queued,
    Sent,
    Delivered,
    Failed,
    Undelivered,
    Received,
}

/// What applying a reported state does (shared with transactions).
pub type MessageTransition = Transition<MessageState>;

impl MessageState {
    pub const ALL: [MessageState; 6] =
        [Self::Queued, Self::Sent, Self::Delivered, Self::Failed, Self::Undelivered, Self::Received];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Sent => "Sent",
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
            Self::Undelivered => "Undelivered",
            Self::Received => "Received",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Undelivered | Self::Received)
    }

    fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered | Self::Failed | Self::Undelivered => 2,
            Self::Received => 3,
        }
    }

    /// Decides what a reported `next` state does to an outbound message in `self`.
    pub fn transition(self, next: MessageState) -> MessageTransition {
        if next == self {
            Transition::Unchanged
        } else if self.is_final() || next == Self::Received || next.rank() <= self.rank() {
            Transition::Refused
        } else {
            Transition::Advance(next)
        }
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown message state `{s}`"))
    }
}

/// Longest body accepted, in characters (Twilio's limit, ten concatenated segments).
pub const MAX_BODY_CHARS: usize = 1600;

/// Whether `number` is an E.164 phone number: `+`, a country code not starting with 0, at
/// most 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::MessageState::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn follows_the_documented_lifecycle() {
        assert_eq!(Queued.transition(Sent), Transition::Advance(Sent));
        assert_eq!(Sent.transition(Delivered), Transition::Advance(Delivered));
        assert_eq!(Queued.transition(Delivered), Transition::Advance(Delivered), "a lost `sent` callback");
        assert_eq!(Queued.transition(Failed), Transition::Advance(Failed));
        assert_eq!(Sent.transition(Undelivered), Transition::Advance(Undelivered));
        assert_eq!(Delivered.transition(Sent), Transition::Refused);
        assert_eq!(Sent.transition(Queued), Transition::Refused);
        assert_eq!(Failed.transition(Delivered), Transition::Refused);
        assert_eq!(Queued.transition(Received), Transition::Refused);
        assert_eq!(Sent.transition(Sent), Transition::Unchanged);
    }

    #[test]
    fn recognises_e164_numbers() {
        assert!(is_e164("+14155552671"));
        assert!(is_e164("+447911123456"));
        for bad in ["14155552671", "+0123456", "+1", "+1415555267123456", "+1 415 555", "+1-415", "", "+"] {
            assert!(!is_e164(bad), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn callbacks_in_any_order_never_move_a_message_backwards(events in prop::collection::vec(0usize..6, 0..30)) {
            let mut state = Queued;
            for index in events {
                if let Transition::Advance(next) = state.transition(MessageState::ALL[index]) {
                    prop_assert!(!state.is_final());
                    prop_assert!(next.rank() > state.rank());
                    state = next;
                }
            }
        }
    }
}
