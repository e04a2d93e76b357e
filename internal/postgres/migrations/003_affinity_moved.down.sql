-- Nothing to undo: the affinity tables belong to the affinity chain.
SELECT 1;
