-- Encryption at rest (host/src/secrets/). Credential values (webhook secrets included) and
-- event endpoint secrets are sealed with XChaCha20-Poly1305 under a data key per company
-- (event endpoints without a company use the host-wide one), and each data key is wrapped
-- under the operator's master key. The host seals every row still in plain text at start, in
-- one transaction; a sealed row keeps '' in its old plain column.

-- One data key per scope: `company:<id>` or `host`. `wrapped` is the data key sealed under the
-- master key whose keyed fingerprint is `master_key_id`, with the scope as associated data.
CREATE TABLE data_keys (
    scope TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rewrapped_at TEXT
);

-- The sealed value (NULL: still plain in `value`, until the start-up pass seals it) and
-- whether the value was stored as a secret (the manifest's `secret: true` when it was written).
ALTER TABLE credentials ADD COLUMN sealed BLOB;
ALTER TABLE credentials ADD COLUMN secret INTEGER NOT NULL DEFAULT 0;

ALTER TABLE event_endpoints ADD COLUMN sealed_secret BLOB;
