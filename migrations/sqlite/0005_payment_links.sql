-- Payment links (issue 6): a public page at PUBLIC_URL/pay/TOKEN where a payer chooses one of
-- the company's payment integrations to pay a document.

CREATE TABLE payment_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 256 random bits, URL-safe base64: the only thing the public page is found by.
    token TEXT NOT NULL UNIQUE,
    company_id BIGINT NOT NULL,
    document_model TEXT NOT NULL,
    document_id BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    -- RFC 3339 UTC with milliseconds (sortable as text), or NULL for a link that never expires.
    expires_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX payment_links_document ON payment_links (company_id, document_model, document_id);

-- Every transaction started from a link: "Paid" is computed from their real states.
CREATE TABLE payment_link_transactions (
    link_id BIGINT NOT NULL REFERENCES payment_links (id),
    transaction_id BIGINT NOT NULL UNIQUE REFERENCES transactions (id),
    PRIMARY KEY (link_id, transaction_id)
);
