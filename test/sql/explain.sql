-- What EXPLAIN shows of pgdl foreign tables, and errors users meet first.
CREATE EXTENSION IF NOT EXISTS pgdl CASCADE;
CREATE FOREIGN TABLE numbers (value int, segment int, pid int)
    SERVER pgdl OPTIONS (kind 'series', start '1', stop '100');

EXPLAIN (COSTS OFF, VERBOSE) SELECT value FROM numbers WHERE value < 10;
SELECT count(*), min(value), max(value) FROM numbers WHERE value BETWEEN 5 AND 9;

-- a generic plan hands the parameter over at executor start
PREPARE below(int) AS SELECT count(*) FROM numbers WHERE value < $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF, VERBOSE) EXECUTE below(10);
EXECUTE below(10);
EXECUTE below(50);
RESET plan_cache_mode;

-- options are checked when a table is made
CREATE FOREIGN TABLE bad (value int) SERVER pgdl OPTIONS (kind 'series', stop 'many');
CREATE FOREIGN TABLE nokind (value int) SERVER pgdl;
SELECT * FROM nokind;
DROP FOREIGN TABLE nokind;

-- the generic predictions table needs its model and source
SELECT * FROM pgdl.predictions;
SELECT * FROM pgdl.predictions WHERE model = 'nope' AND source = 'numbers';
SELECT pgdl.drop_model('nope');
SELECT pgdl.share_model(NULL);

DROP FOREIGN TABLE numbers;
