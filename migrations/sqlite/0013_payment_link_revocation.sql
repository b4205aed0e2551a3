-- Payment links, part two (API.md §3): a link can be revoked (its page then answers 410), and
-- each transaction started from it keeps the URL its payer was sent to, so that a second
-- payer choosing the same method while it is in progress continues that one gateway session
-- instead of starting another (one payment per link).
ALTER TABLE payment_links ADD COLUMN revoked_at TEXT;
ALTER TABLE payment_link_transactions ADD COLUMN redirect_url TEXT;
CREATE INDEX payment_links_company ON payment_links (company_id, id);
