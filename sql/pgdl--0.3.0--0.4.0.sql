-- pgdl 0.3.0 -> 0.4.0: packed tables and training across the nodes of a
-- Citus cluster.

\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.4.0'" to load this file. \quit

------------------------------------------------------------------------------
-- A packed table made from a distributed source is distributed by segment:
-- where each segment lives (pgdl.distributed.layout).  NULL on one node.
------------------------------------------------------------------------------

ALTER TABLE pgdl.packed ADD COLUMN segment_ids int4[], ADD COLUMN segment_nodes text[];
COMMENT ON COLUMN pgdl.packed.segment_ids IS
    'on Citus: the value of column segment of each segment''s buffers, in segment order';
COMMENT ON COLUMN pgdl.packed.segment_nodes IS
    'on Citus: the node (host:port) that holds each segment''s buffers';

------------------------------------------------------------------------------
-- A segment's task on the worker that holds it: the coordinator calls it
-- in a query over the packed table that Citus pushes down to every shard,
-- with the shard's tableoid (pgdl.distributed).  pgdl's own code calls it,
-- in a privileged section; no ordinary role may.
------------------------------------------------------------------------------

CREATE FUNCTION pgdl_internal._segment_task(shard oid, segment int4, op text, payload bytea)
RETURNS bytea LANGUAGE plpython3u AS $$
return GD["pgdl"].segment_task(shard, segment, op, payload)
$$;
CREATE FUNCTION pgdl_internal.segment_task(shard oid, segment int4, op text, payload bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
REVOKE ALL ON FUNCTION pgdl_internal._segment_task(oid, int4, text, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgdl_internal.segment_task(oid, int4, text, bytea) FROM PUBLIC;

-- What a job on the Citus workers moved per iteration: the weights sent to
-- its segments and their answers, in bytes (NULL for a job on one server).
ALTER TABLE pgdl.training_jobs ADD COLUMN bytes_per_iteration int8;
COMMENT ON COLUMN pgdl.training_jobs.bytes_per_iteration IS
    'on Citus: bytes of weights sent to the segments and answered by them per iteration';
ALTER FOREIGN TABLE pgdl.model_training ADD COLUMN bytes_per_iteration int8;

-- The owners' anchors belong to the node that keeps the models (the
-- coordinator): Citus must not carry their DDL to the workers, which it
-- refuses anyway after a job's parallel tasks in the same transaction.
-- (Without Citus the setting is an unused placeholder.)
ALTER FUNCTION pgdl_internal.sync_anchor(name) SET citus.enable_ddl_propagation = off;
