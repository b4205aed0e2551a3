//! What a refund attempt's answer means: booked, refused for good, never sent (the
//! reservation is forgotten) or in doubt (it may have been made; repeated later with the same
//! refund id). Only a definite answer settles a refund. Captures and voids read their answers
//! the same way (`payment_operations`).

use crate::domain::provider::payment::RefundResult;
use crate::domain::provider::ProviderError;

use super::ServiceError;

/// What an attempt's answer means for the refund.
#[derive(Debug)]
pub(super) enum Verdict<T = RefundResult> {
    /// The gateway accepted it.
    Book(T),
    /// The gateway refused it for good: its message.
    Refused(String),
    /// The first attempt never reached any gateway: forget the reservation, answer the error.
    NeverSent(ServiceError),
    /// It may have been made: why the answer is unknown.
    InDoubt(String),
}

/// Reads an attempt's answer. `outbound` counts the requests the provider attempted; `first`
/// is true for the refund's first attempt (earlier attempts may have reached the gateway).
pub(super) fn verdict<T>(
    answer: Result<Result<T, ProviderError>, ServiceError>,
    outbound: u32,
    first: bool,
) -> Verdict<T> {
    match answer {
        Ok(Ok(result)) => Verdict::Book(result),
        // A refusal the provider itself calls retryable (Stripe's 409 for a key still being
        // processed) is no answer yet.
        Ok(Err(error)) if ServiceError::is_gateway_refusal(&error) && !error.retryable => {
            Verdict::Refused(error.message)
        }
        Ok(Err(error)) if first && outbound == 0 => Verdict::NeverSent(ServiceError::Gateway(error)),
        Err(error) if first && outbound == 0 => Verdict::NeverSent(error),
        Ok(Err(error)) => Verdict::InDoubt(error.message),
        Err(error) => Verdict::InDoubt(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provider::ErrorKind;

    fn error(kind: ErrorKind, retryable: bool) -> ProviderError {
        ProviderError { kind, message: format!("{kind:?}"), retryable }
    }

    fn accepted() -> RefundResult {
        RefundResult { refund_reference: "re_1".into(), pending: false }
    }

    #[test]
    fn only_a_definite_answer_settles_a_refund() {
        assert!(matches!(verdict::<RefundResult>(Ok(Ok(accepted())), 1, true), Verdict::Book(_)));
        assert!(matches!(
            verdict::<RefundResult>(Ok(Err(error(ErrorKind::Declined, false))), 1, false),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            verdict::<RefundResult>(Ok(Err(error(ErrorKind::InvalidRequest, false))), 0, true),
            Verdict::Refused(_)
        ));
        for kind in [ErrorKind::GatewayUnavailable, ErrorKind::GatewayError, ErrorKind::Internal] {
            assert!(
                matches!(verdict::<RefundResult>(Ok(Err(error(kind, true))), 1, true), Verdict::InDoubt(_)),
                "{kind:?}"
            );
        }
        assert!(
            matches!(
                verdict::<RefundResult>(Ok(Err(error(ErrorKind::InvalidRequest, true))), 1, true),
                Verdict::InDoubt(_)
            ),
            "a refusal the provider calls retryable (a key still being processed) is no answer"
        );
        let crashed = || Err(ServiceError::Unavailable("module gone".into()));
        assert!(
            matches!(verdict::<RefundResult>(crashed(), 1, true), Verdict::InDoubt(_)),
            "the provider crashed after a request"
        );
    }

    #[test]
    fn a_first_attempt_that_sent_nothing_is_forgotten_a_later_one_is_not() {
        let crashed = || Err(ServiceError::Unavailable("module gone".into()));
        assert!(matches!(verdict::<RefundResult>(crashed(), 0, true), Verdict::NeverSent(_)));
        assert!(
            matches!(verdict::<RefundResult>(crashed(), 0, false), Verdict::InDoubt(_)),
            "an earlier attempt may have been sent"
        );
        let down = || Ok(Err(error(ErrorKind::GatewayUnavailable, true)));
        assert!(matches!(verdict::<RefundResult>(down(), 0, true), Verdict::NeverSent(_)));
        assert!(matches!(verdict::<RefundResult>(down(), 0, false), Verdict::InDoubt(_)));
    }
}
