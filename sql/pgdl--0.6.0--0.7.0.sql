-- pgdl 0.6.0 -> 0.7.0: the writable API of multicorn2 for wrapper classes.
-- UPDATE and DELETE reach update(rowid, newvalues) and delete(rowid) by the
-- class's rowid_column, INSERT batches reach bulk_insert(rows), and the
-- hooks rowid_column, modify_batch_size, can_sort, end_scan and end_modify
-- are asked through one function.  (Transaction hooks need no SQL: the C handler
-- calls them from PostgreSQL's transaction callbacks.)

\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.7.0'" to load this file. \quit

-- (tabledef, 'update' | 'delete' | 'bulk_insert', rowid, values): the rows
-- the wrapper returns, if any
CREATE FUNCTION pgdl_internal._fdw_write(tabledef text, action text, rowid pgdl.datum[],
    "values" pgdl.datum[]) RETURNS SETOF record
LANGUAGE plpython3u AS $$
return GD["pgdl"].write(tabledef, action, rowid, values)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._fdw_write(text, text, pgdl.datum[], pgdl.datum[])
    FROM PUBLIC;

-- (tabledef, 'rowid' | 'insert' | 'can_sort' | 'end_scan' | 'end_modify', argument)
CREATE FUNCTION pgdl_internal._fdw_hook(tabledef text, hook text, argument text) RETURNS text
LANGUAGE plpython3u AS $$
return GD["pgdl"].hook(tabledef, hook, argument)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._fdw_hook(text, text, text) FROM PUBLIC;

-- Planning a wrapper class as multicorn2 does: its _startup_cost, and rows
-- times width as the total (fdw/plan.c)
DROP FUNCTION pgdl_internal._fdw_plan(text, pgdl.datum[], text[]);
CREATE FUNCTION pgdl_internal._fdw_plan(tabledef text, quals pgdl.datum[], columns text[],
    OUT rows float8, OUT width int4, OUT segments int4, OUT parallel_safe bool,
    OUT has_source bool, OUT exchange_bytes int8, OUT state text, OUT columnar bool,
    OUT participant_cost float8, OUT path_keys text, OUT startup_cost float8)
LANGUAGE plpython3u AS $$
return GD["pgdl"].plan(tabledef, quals, columns)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._fdw_plan(text, pgdl.datum[], text[]) FROM PUBLIC;
