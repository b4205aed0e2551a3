-- The messaging backbone: messages in both directions and each one's state history.

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id BIGINT NOT NULL REFERENCES integrations (id),
    company_id BIGINT NOT NULL,
    direction TEXT NOT NULL,
    to_number TEXT NOT NULL,
    from_number TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    remote_id TEXT,
    error_code TEXT,
    error_message TEXT,
    document_model TEXT,
    document_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- A gateway's id names one message per integration; inbound retries cannot duplicate it.
CREATE UNIQUE INDEX messages_remote ON messages (integration_id, remote_id);
CREATE INDEX messages_company ON messages (company_id, direction, id);

CREATE TABLE message_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    state TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX message_history_message ON message_history (message_id, id);
