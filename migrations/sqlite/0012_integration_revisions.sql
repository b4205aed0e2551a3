-- Each edit of an integration (its fields, its enabling, its credentials) bumps its revision,
-- and is saved only over the revision it read: two hosts (or two requests) editing the same
-- integration never silently undo each other's change.
ALTER TABLE integrations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
