-- Events for the ERP (the outbox): written in the same database transaction as the change
-- they report, delivered at least once to each matching endpoint, in order per subject.

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    company_id BIGINT NOT NULL,
    -- What the event is about ("transaction:12", "message:5"): deliveries of one subject go in order.
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_company ON events (company_id, id);

CREATE TABLE event_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    company_id BIGINT,
    -- JSON array of event types, or NULL for all.
    types TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE event_deliveries (
    event_id BIGINT NOT NULL REFERENCES events (id),
    endpoint_id BIGINT NOT NULL REFERENCES event_endpoints (id),
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries (state, next_attempt_at);
CREATE INDEX event_deliveries_order ON event_deliveries (endpoint_id, subject, event_id);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BIGINT NOT NULL,
    endpoint_id BIGINT NOT NULL,
    attempted_at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    succeeded INTEGER NOT NULL
);
CREATE INDEX delivery_attempts_event ON delivery_attempts (event_id, id);
