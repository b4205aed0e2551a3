-- Integrations Host schema. Booleans are integers (0/1) and times are RFC 3339 UTC text, so
-- the same queries run on SQLite and PostgreSQL.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Every module version the host has loaded, with its component bytes, so a version can be
-- served again without its files.
CREATE TABLE modules (
    identifier TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    component BLOB NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (identifier, version)
);

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL,
    module TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    integration_category TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    payment_state TEXT NOT NULL DEFAULT 'Test',
    payment_integration_type TEXT NOT NULL DEFAULT 'Redirect',
    payment_display_name TEXT,
    payment_sequence BIGINT NOT NULL DEFAULT 10,
    last_synced_date TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX integrations_company ON integrations (company_id, integration_category);

CREATE TABLE credentials (
    integration_id BIGINT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, name)
);

CREATE TABLE mappings (
    integration_id BIGINT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    local_id TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, model, local_id)
);
CREATE INDEX mappings_remote ON mappings (integration_id, model, remote_id);

CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    company_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    integration_type TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    gateway_reference TEXT,
    gateway_status TEXT,
    error_message TEXT,
    provider_data TEXT,
    document_model TEXT,
    document_id BIGINT,
    return_url TEXT,
    cancel_url TEXT,
    contact TEXT,
    pending_action_data TEXT,
    test_mode INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX transactions_gateway_reference ON transactions (integration_id, gateway_reference);
CREATE INDEX transactions_document ON transactions (document_model, document_id);

-- At most one Payment per transaction: the unique key is what makes "exactly one" hold
-- however many webhooks race.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id BIGINT NOT NULL UNIQUE REFERENCES transactions (id),
    company_id BIGINT NOT NULL,
    integration_id BIGINT NOT NULL,
    reference TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    document_model TEXT,
    document_id BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX payments_document ON payments (document_model, document_id);

-- Refunds reserve their amount as 'pending' before the gateway is called, so concurrent
-- refunds can never add up to more than was paid.
CREATE TABLE refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id BIGINT NOT NULL REFERENCES transactions (id),
    amount_minor BIGINT NOT NULL,
    state TEXT NOT NULL,
    refund_reference TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX refunds_transaction ON refunds (transaction_id);

CREATE TABLE webhook_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id BIGINT NOT NULL,
    transaction_id BIGINT,
    received_at TEXT NOT NULL,
    event_type TEXT,
    signature_valid INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX webhook_log_transaction ON webhook_log (transaction_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER,
    response TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
