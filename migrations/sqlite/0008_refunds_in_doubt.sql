-- Refunds whose outcome is unknown (issue 11, point 2). A reservation now carries the refund
-- id the provider sends as the gateway's idempotency key, fixed when it is reserved and
-- reused by every later attempt, and its states are:
--   pending    reserved, the first attempt under way (or its host died)
--   in_doubt   an attempt ended without a usable answer: it may have been made
--   succeeded  the gateway accepted it
--   failed     the gateway refused it
-- pending, in_doubt and succeeded count against what is left to refund; a reservation the
-- gateway never saw is deleted.
ALTER TABLE refunds ADD COLUMN refund_id TEXT;
ALTER TABLE refunds ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- When the latest attempt started (RFC 3339 UTC, sortable as text).
ALTER TABLE refunds ADD COLUMN attempted_at TEXT;
ALTER TABLE refunds ADD COLUMN error_message TEXT;

-- A reservation left pending by an earlier version belongs to a host that died mid-call; its
-- refund id was not recorded, so it stays in doubt (and counted) for an operator to settle.
UPDATE refunds SET state = 'in_doubt', attempted_at = updated_at WHERE state = 'pending';

CREATE UNIQUE INDEX refunds_refund_id ON refunds (refund_id);
CREATE INDEX refunds_unresolved ON refunds (state, attempted_at);
