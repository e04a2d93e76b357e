DELETE FROM {{maintenance}} WHERE name = 'changes';
DROP TABLE IF EXISTS {{changes}};
