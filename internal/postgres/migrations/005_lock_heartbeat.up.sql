-- When each lease was last acquired or extended (database clock), for Locks to report.
-- Additive and safe while older nodes run: a nullable column without a default changes
-- only the catalog, and their statements name their columns, so they neither see it nor
-- need it. Leases such a node takes or extends leave it NULL or stale; the list reads the
-- later of it and acquired_at. The ALTER needs the table's lock for a moment and waits
-- for transactions that hold a lease row (Lock.Guard) to end; the timeout keeps lease
-- statements from queueing behind it for long: the migration fails and can be retried.
SET LOCAL lock_timeout = '2s';
ALTER TABLE {{locks}} ADD COLUMN heartbeat_at timestamptz;
SET LOCAL lock_timeout = DEFAULT;
