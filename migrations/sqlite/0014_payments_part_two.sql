-- Payments, part two (issue 15; API.md §3 "Online payment, part two", contract 1.1): manual
-- capture and void, saved payment methods, refunds the gateway completes later.

-- What the ERP asked when it started the payment, and what a partial capture captured
-- (NULL: the whole amount). A merchant-initiated charge names the saved method it used.
ALTER TABLE transactions ADD COLUMN capture_mode TEXT NOT NULL DEFAULT 'automatic';
ALTER TABLE transactions ADD COLUMN save_payment_method BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN captured_minor BIGINT;
ALTER TABLE transactions ADD COLUMN payment_method_id BIGINT;

-- A capture or void of an authorized payment. At most one is open per transaction (a racing
-- second one is refused by the unique index); its operation id is what the gateway
-- deduplicates on, fixed before the gateway is called.
CREATE TABLE payment_operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id BIGINT NOT NULL REFERENCES transactions (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT,
    operation_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    error_message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX payment_operations_open ON payment_operations (transaction_id) WHERE state = 'open';

-- Refund webhooks name a refund by the gateway's reference.
CREATE INDEX refunds_reference ON refunds (refund_reference);

-- Payment methods a gateway saved for merchant-initiated charges, per company and contact:
-- the gateway's token sealed like a credential, and the label a person recognises it by.
CREATE TABLE payment_methods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL,
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    contact_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    label TEXT NOT NULL,
    expires TEXT,
    transaction_id BIGINT NOT NULL UNIQUE REFERENCES transactions (id),
    created_at TEXT NOT NULL
);
CREATE INDEX payment_methods_contact ON payment_methods (company_id, contact_id, id);
