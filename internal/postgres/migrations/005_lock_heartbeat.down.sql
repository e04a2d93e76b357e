ALTER TABLE {{locks}} DROP COLUMN IF EXISTS heartbeat_at;
