-- An event delivery is made by one host at a time: the host leases it until a time (a host
-- that dies mid-delivery lets its lease run out and another takes the delivery over).
ALTER TABLE event_deliveries ADD COLUMN leased_until TEXT;
