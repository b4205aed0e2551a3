-- Hosts cache each integration the webhook path serves (its row and decrypted credentials,
-- `services/integration_cache.rs`). A host forgets its own edits at once; it learns of other
-- hosts' edits from this count, which every edit of an integration (its revision bumped) and
-- every delete raises in the edit's own transaction, so the count a host reads never runs
-- ahead of the change it counts. Every transaction edits at most one integration, so the
-- one row cannot make two edits wait on each other in a cycle.
CREATE TABLE integration_changes (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    count BIGINT NOT NULL
);
INSERT INTO integration_changes (id, count) VALUES (1, 0);

CREATE FUNCTION count_integration_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE integration_changes SET count = count + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER integration_changed AFTER UPDATE OF revision OR DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION count_integration_change();
