-- A reconciliation pass claims a refund by compare-and-set on this counter (not on a
-- millisecond timestamp), so of several hosts' passes exactly one takes it.
ALTER TABLE refunds ADD COLUMN reconcile_claims BIGINT NOT NULL DEFAULT 0;
