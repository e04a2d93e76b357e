-- Sessions. The primary key is SHA-256 of the session secret; the secret is never stored.
-- fillfactor leaves room on each page so last-seen updates stay HOT: no index covers
-- last_seen_at, so a touch rewrites no index entry.
CREATE TABLE {{sessions}} (
    id           bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
    user_id      text        NOT NULL DEFAULT '',
    version      bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    idle_timeout interval,
    user_agent   text        NOT NULL DEFAULT '',
    ip           text        NOT NULL DEFAULT '',
    attrs        jsonb       NOT NULL DEFAULT '{}',
    attr_expiry  jsonb       NOT NULL DEFAULT '{}',
    -- the session version at which each attribute was last written or
    -- removed, for updates that require their keys unchanged since a read
    attr_ver     jsonb       NOT NULL DEFAULT '{}'
) WITH (fillfactor = 70);

-- Per-user lists, "log out everywhere" and the per-user cap. Anonymous sessions stay out.
CREATE INDEX {{sessions_user_idx}} ON {{sessions}} (user_id, created_at) WHERE user_id <> '';

-- Coordination of background work between nodes: who holds it, until when, and where
-- the current pass has reached, so a pass survives the death of the node running it.
CREATE TABLE {{maintenance}} (
    name        text        PRIMARY KEY,
    holder      text,
    lease_until timestamptz NOT NULL DEFAULT '-infinity',
    cursor      bytea       NOT NULL DEFAULT ''
);
INSERT INTO {{maintenance}} (name) VALUES ('sweep');
