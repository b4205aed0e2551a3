-- What became of each webhook attempt (accepted, rejected, unmatched, provider_failed,
-- unreadable), so an integration's attempts can be listed and filtered.
ALTER TABLE webhook_log ADD COLUMN result TEXT NOT NULL DEFAULT 'accepted';
UPDATE webhook_log SET result = 'rejected' WHERE signature_valid = 0;
UPDATE webhook_log SET result = 'unmatched' WHERE outcome = 'no matching transaction';
CREATE INDEX webhook_log_integration ON webhook_log (integration_id, id);
