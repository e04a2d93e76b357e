-- The affinity store's tables, in a chain of their own: created only by a
-- store that is used (affinity.NewPostgres). A schema migrated before the chain
-- existed has them from the sessions chain's old step 3, hence IF NOT EXISTS.
-- Worker affinity for sticky routing: which backend worker serves a browser session.
-- The key is (app, SHA-256 of the session id); the session id itself is never stored.
-- Touches change only last_access, which no index covers, and fillfactor leaves room
-- on each page, so a touch is a HOT update that rewrites no index entry. Per-worker
-- work (count, reroute, delete) walks the (app, worker_id) index, in proportion to
-- that worker's sessions.
CREATE TABLE IF NOT EXISTS {{affinity}} (
    app         text        NOT NULL,
    id          bytea       NOT NULL CHECK (octet_length(id) = 32),
    worker_id   text        NOT NULL,
    user_sub    text        NOT NULL DEFAULT '',
    version     bigint      NOT NULL,
    created_at  timestamptz NOT NULL,
    last_access timestamptz NOT NULL,
    PRIMARY KEY (app, id)
) WITH (fillfactor = 70);

CREATE INDEX IF NOT EXISTS {{affinity_worker_idx}} ON {{affinity}} (app, worker_id);

-- Versions: one sequence for every entry, so a version only ever grows, also
-- across a delete and a later pin of the same session.
CREATE SEQUENCE IF NOT EXISTS {{affinity_version}};
