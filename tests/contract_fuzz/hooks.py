"""Schemathesis hooks of the contract fuzz (`tests/src/bin/contract_fuzz.rs` loads this file
through `SCHEMATHESIS_HOOKS`).

`positive_data_acceptance_by_code` stands in for schemathesis' own `positive_data_acceptance`:
a request the document allows must not be refused for its shape. The built-in check judges by
status alone, so it cannot tell a body the schema should have refused (a shape rule the document
failed to state: a bug of the document) from a request refused for the state it meets (a module
that is not installed, credentials the gateway refuses, a refund over what is left), which no
schema can state. This check reads the refusal's `error.code` and lets through only the codes
of `STATE_REFUSALS`, each with the reason no schema can say it. Every other 4xx code is a shape
rule (`invalid_field`, `missing_field`, `unknown_field`, `invalid_query`, `invalid_id`,
`invalid_upload`, `invalid_name`, …) and fails the run when a positive case meets it.
"""

import json
import re

import schemathesis
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

# Statuses that say nothing about the request's shape (the built-in check's defaults): success,
# redirects, auth, absence, conflicts with the state, rate limits; 5xx is `not_a_server_error`'s.
NEUTRAL = {401, 403, 404, 409, 429}

# The refusals a request the document allows may meet, and why no schema can state them.
STATE_REFUSALS = {
    "unknown_module": "the installed modules are the host's state",
    "unsupported_integration_type": "the types an integration offers are its module's manifest",
    "unknown_credential": "the credential names are the integration's module's manifest",
    "invalid_credential": "the credential patterns are the module's manifest, per the integration's mode",
    "credentials_missing": "which credentials an integration has set is its state",
    "credentials_rejected": "the provider's own check of the credentials, at its gateway",
    "integration_disabled": "whether the integration named is enabled is its state",
    "not_a_payment_integration": "the category of the integration named is its state",
    "wrong_category": "the category of the integration named is its state",
    "company_mismatch": "which company the integration named belongs to is its state",
    "no_messaging_integration": "whether the company has an enabled messaging integration is state",
    "refund_exceeds_remaining": "what is left to refund is the transaction's state",
    "invalid_expires_at": "`expires_at` must lie in the future: it depends on the clock",
    "invalid_amount": "the decimals `amount` may have are `currency`'s (a rule across two fields)",
    "invalid_currency": "ISO 4217's list of codes with a minor unit, which a pattern cannot hold",
    "module_refused": "a manifest's YAML and a component's bytes inside a multipart part",
    "gateway_refused": "the gateway's answer",
    "unreadable_event": "what the provider makes of a verified event's body",
    "unsupported": "what a module takes (currencies, amounts, refunds) is its manifest's capabilities",
    "missing_currency": "`amount` needs `currency`: a rule across two query parameters",
    "link_revoked": "whether a payment link was revoked is its state",
    "link_expired": "whether a payment link's `expires_at` has passed depends on the clock",
}

# The payment page's failure pages show their code so: `Error code: <code>gateway_refused</code>`.
HTML_CODE = re.compile(rb"Error code: <code>([a-z_]+)</code>")


def error_code(response):
    """The refusal's `error.code`, from the JSON error object or a payment page."""
    if "html" in response.headers.get("content-type", [""])[0]:
        found = HTML_CODE.search(response.content)
        return found.group(1).decode() if found else None
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def holds_a_null_parameter(case):
    """A stateful step that took a parameter from a null field of an earlier answer (a webhook
    attempt's `transaction_id` when it matched none) sends `None` where the document asks for an
    integer: not a request the document allows, whatever the generation mode says."""
    for parameters in (case.path_parameters, case.query):
        if parameters and any(value is None for value in parameters.values()):
            return True
    return False


@schemathesis.check
def positive_data_acceptance_by_code(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or is_unexpected_http_status_case(case):
        return None
    if holds_a_null_parameter(case):
        return None
    status = response.status_code
    if status < 400 or status >= 500 or status in NEUTRAL:
        return None
    code = error_code(response)
    if code in STATE_REFUSALS:
        return None
    raise AssertionError(
        f"A request the document allows was refused for its shape: {status} `{code}`. "
        "Either the document should refuse it (a missing pattern, bound or enum) or the host should take it."
    )
