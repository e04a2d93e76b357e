-- The change log: one row per committed attribute update, written in the update's own
-- statement, so a node can learn of an update whose announcement never came (the writer
-- died after commit, lost the reply, or closed first): every node reads the rows added
-- since its last look, every ChangePollInterval. seq orders the rows for the readers;
-- at lets the sweep prune them once every reader is past them.
-- Unlogged: no WAL per update. A crash, the only thing that empties it, also breaks every
-- node's LISTEN connection, and a node that reconnects drops its whole cache anyway.
CREATE UNLOGGED TABLE {{changes}} (
    seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      bytea       NOT NULL,
    version bigint      NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO {{maintenance}} (name) VALUES ('changes');
