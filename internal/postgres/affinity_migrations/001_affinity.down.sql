DROP SEQUENCE IF EXISTS {{affinity_version}};
DROP TABLE IF EXISTS {{affinity}};
