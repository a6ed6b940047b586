-- pgdl 0.7.0 -> 0.8.0: every server of pgdl_fdw names what serves its
-- tables, as multicorn2 requires: a wrapper class, or wrapper 'pgdl' for
-- pgdl's own table kinds.  CREATE SERVER and ALTER SERVER without one now
-- fail; this names 'pgdl' on the servers made before, so that they can be
-- altered, dumped and restored.  (LIMIT pushdown needs no SQL: can_limit
-- is asked through _fdw_hook.)

\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.8.0'" to load this file. \quit

DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT srv.srvname
             FROM pg_catalog.pg_foreign_server srv
             JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = srv.srvfdw
             WHERE w.fdwname = 'pgdl_fdw'
               AND NOT EXISTS (SELECT FROM pg_catalog.pg_options_to_table(srv.srvoptions)
                               WHERE option_name = 'wrapper') LOOP
        EXECUTE pg_catalog.format('ALTER SERVER %I OPTIONS (ADD wrapper %L)', s.srvname, 'pgdl');
    END LOOP;
END
$$;

COMMENT ON SERVER pgdl IS
    'pgdl''s own tables (wrapper ''pgdl''): the option "kind" of a foreign table picks what it serves';
