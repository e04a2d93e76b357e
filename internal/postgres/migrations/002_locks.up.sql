-- Leases on (session, resource). A lock row dies with its session.
CREATE TABLE {{locks}} (
    session_id  bytea       NOT NULL REFERENCES {{sessions}} (id) ON DELETE CASCADE,
    resource    text        NOT NULL,
    owner       text        NOT NULL,
    fence       bigint      NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (session_id, resource)
);

-- Fencing tokens: one sequence for every lock, so a token only ever grows.
CREATE SEQUENCE {{lock_fence}};
