-- The SQL surface of pgdl: what CREATE EXTENSION makes, and who may use it.
CREATE EXTENSION pgdl CASCADE;
SELECT extversion FROM pg_extension WHERE extname = 'pgdl';

-- the functions users call, with their arguments
SELECT p.oid::regprocedure AS function
FROM pg_proc p WHERE p.pronamespace = 'pgdl'::regnamespace
ORDER BY p.oid::regprocedure::text;

-- tables, views and foreign tables of schema pgdl
SELECT c.relname, c.relkind, c.relrowsecurity
FROM pg_class c WHERE c.relnamespace = 'pgdl'::regnamespace AND c.relkind IN ('r', 'v', 'f')
ORDER BY 1;

-- what PUBLIC may do
SELECT has_schema_privilege('public', 'pgdl', 'USAGE') AS pgdl,
       has_schema_privilege('public', 'pgdl_internal', 'USAGE') AS pgdl_internal,
       has_foreign_data_wrapper_privilege('public', 'pgdl_fdw', 'USAGE') AS fdw,
       has_server_privilege('public', 'pgdl', 'USAGE') AS server;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS "select",
       has_table_privilege('public', c.oid, 'INSERT') AS "insert",
       has_table_privilege('public', c.oid, 'UPDATE') AS "update",
       has_table_privilege('public', c.oid, 'DELETE') AS "delete"
FROM pg_class c WHERE c.relnamespace = 'pgdl'::regnamespace AND c.relkind IN ('r', 'v', 'f')
ORDER BY 1;
SELECT count(*) AS internal_functions_public_may_run
FROM pg_proc p WHERE p.pronamespace = 'pgdl_internal'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE');

-- the event triggers that keep names, dependencies and roles in order
SELECT evtname, evtevent, evttags FROM pg_event_trigger ORDER BY 1;

-- the extension's tables that pg_dump dumps with the data
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) t(oid)
JOIN pg_class c ON c.oid = t.oid WHERE e.extname = 'pgdl' ORDER BY 1;
