-- Step 3 once created the affinity store's tables. They now have a migration
-- chain of their own (affinity_migrations/), applied only by a store that is
-- used, so this step does nothing; it keeps the numbers of the steps after it.
-- Schemas that ran the old step keep its tables, which the affinity chain adopts.
SELECT 1;
