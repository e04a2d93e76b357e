DROP TABLE IF EXISTS {{maintenance}};
DROP TABLE IF EXISTS {{sessions}};
