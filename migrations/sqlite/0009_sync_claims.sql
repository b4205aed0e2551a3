-- Scheduled sync of an integration runs on one host at a time: a host claims it until a time
-- (a host that dies mid-sync lets its claim run out and another takes over).
ALTER TABLE integrations ADD COLUMN sync_claimed_until TEXT;
