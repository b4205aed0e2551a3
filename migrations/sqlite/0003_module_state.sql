-- Which version of each module is live. Every version stays in `modules` (bytes and hash),
-- so activating an older one needs no files.
CREATE TABLE module_state (
    identifier TEXT PRIMARY KEY,
    active_version TEXT NOT NULL,
    installed INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
