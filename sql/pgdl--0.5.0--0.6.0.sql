-- pgdl 0.5.0 -> 0.6.0: a model per group.  pgdl.preprocess(..., group_by =>
-- column) packs each group's rows into buffers of their own, all on one
-- segment; a training job over such a table trains one model per group, in
-- parallel across the segments, each a version of one model with its group
-- value; a predictions table scores each row with its group's model.

\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.6.0'" to load this file. \quit

ALTER TABLE pgdl.packed ADD COLUMN group_by text, ADD COLUMN group_values text[],
    ADD COLUMN group_segments int4[], ADD COLUMN group_rows int8[];
COMMENT ON COLUMN pgdl.packed.group_by IS
    'the column whose values group the rows (NULL: not grouped); group_values, '
    'group_segments and group_rows say each group''s value, segment and rows';

DROP FUNCTION pgdl.preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text);
DROP FUNCTION pgdl_internal._preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text);

CREATE FUNCTION pgdl_internal._preprocess(source text, output text, features text, label text,
    key text, buffer_size int4, segments int4, normalizing_const float8, normalization text,
    class_values text[], num_classes int4, feature_shape int4[], seed int8,
    validation_of text, task text, group_by text)
RETURNS SETOF pgdl.packed LANGUAGE plpython3u AS $$
return GD["pgdl"].preprocess(source, output, features, label, key, buffer_size, segments,
                             normalizing_const, normalization, class_values, num_classes,
                             feature_shape, seed, validation_of, task, group_by)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._preprocess(text, text, text, text, text, int4, int4,
    float8, text, text[], int4, int4[], int8, text, text, text) FROM PUBLIC;

CREATE FUNCTION pgdl.preprocess(source text, output text, features text, label text,
    key text DEFAULT NULL, buffer_size int4 DEFAULT NULL, segments int4 DEFAULT NULL,
    normalizing_const float8 DEFAULT NULL, normalization text DEFAULT NULL,
    class_values text[] DEFAULT NULL, num_classes int4 DEFAULT NULL,
    feature_shape int4[] DEFAULT NULL, seed int8 DEFAULT NULL,
    validation_of text DEFAULT NULL, task text DEFAULT NULL, group_by text DEFAULT NULL)
RETURNS SETOF pgdl.packed AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text, text) IS
    'packs table source into output: float32 feature buffers with class-index labels, spread '
    'evenly over segments; features: a bytea column (uint8 values), a numeric array column, '
    'or numeric columns separated by commas; validation_of reuses a packed table''s '
    'normalization and classes; group_by packs each value''s rows apart, for a model per group';

ALTER TABLE pgdl.training_jobs ADD COLUMN group_by text, ADD COLUMN groups int4;
COMMENT ON COLUMN pgdl.training_jobs.groups IS
    'a job over a grouped packed table: how many models it trained, one per value of '
    'group_by; version is the last of them';
ALTER FOREIGN TABLE pgdl.model_training ADD COLUMN group_by text, ADD COLUMN groups int4;

ALTER TABLE pgdl.models ADD COLUMN group_by text, ADD COLUMN group_value text,
    ADD COLUMN group_job int8;
COMMENT ON COLUMN pgdl.models.group_value IS
    'a model per group: the value of column group_by whose rows trained this version; the '
    'versions of training job group_job are the models of every group';

-- The segments of a job over a grouped packed table say which group each row is of.
ALTER FOREIGN TABLE pgdl_internal.training_segments ADD COLUMN group_value text;

------------------------------------------------------------------------------
-- Selection jobs that outlive a cancel.  What a job must not lose is
-- committed apart from its transaction, by a background worker
-- (pgdl_internal.apart): its row, a row per configuration and round that it
-- updates as it runs, every configuration it finished (a version), and the
-- state of those that go on to a later round.  A stopped job resumes with
-- INSERT INTO pgdl.model_selection (job) VALUES (n).
------------------------------------------------------------------------------

CREATE FUNCTION pgdl_internal._in_apart(what text, argument bytea) RETURNS text
LANGUAGE plpython3u AS $$
return GD["pgdl"].in_apart(what, argument)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._in_apart(text, bytea) FROM PUBLIC;

-- the transaction that runs the job: while it is in progress the job runs;
-- a job left 'running' by a transaction that ended is stopped
ALTER TABLE pgdl.selection_jobs ADD COLUMN xact int8, ADD COLUMN resumed int4 NOT NULL DEFAULT 0;
COMMENT ON COLUMN pgdl.selection_jobs.resumed IS
    'how many times the job was resumed after it stopped';

CREATE FUNCTION pgdl.job_status(status text, xact int8) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT CASE WHEN status = 'running' AND
                 pg_catalog.txid_status(xact) IS DISTINCT FROM 'in progress'
            THEN 'stopped' ELSE status END
$$;
COMMENT ON FUNCTION pgdl.job_status(text, int8) IS
    'a selection job''s status as it stands: running while the transaction that runs it '
    'is in progress, stopped (resumable) when that transaction ended without finishing it';

-- Every run is a row from when its round starts: queued, running (with the
-- iteration it reached), finished (with its value, and its version if it
-- stopped there); survived is known when its round is over.
ALTER TABLE pgdl.selection_runs ALTER COLUMN survived DROP NOT NULL,
    ADD COLUMN status text NOT NULL DEFAULT 'finished',
    ADD COLUMN iteration int4, ADD COLUMN loss float8,
    ADD COLUMN updated timestamptz NOT NULL DEFAULT now();

-- the state (weights and optimizer variables) and history of a run whose
-- configuration goes on to a later round: what a resumed job starts it from
CREATE TABLE pgdl_internal.selection_states (
    job int8 NOT NULL,
    bracket int4 NOT NULL,
    round int4 NOT NULL,
    config int4 NOT NULL,
    history jsonb NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (job, bracket, round, config)
);
REVOKE ALL ON pgdl_internal.selection_states FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgdl_internal.selection_states', '');

CREATE VIEW pgdl.selection_progress WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.job, r.config)
       r.job, j.model, j.search, pgdl.job_status(j.status, j.xact) AS job_status, r.config,
       r.bracket, r.round,
       CASE WHEN r.status IN ('queued', 'running') AND
                 pgdl.job_status(j.status, j.xact) <> 'running'
            THEN 'stopped' ELSE r.status END AS status,
       r.iteration, r.iterations, r.total_iterations, r.loss, j.metric, r.value, r.survived,
       r.version, r.updated
FROM pgdl.selection_runs r JOIN pgdl.selection_jobs j ON j.job = r.job
ORDER BY r.job, r.config, r.bracket DESC, r.round DESC;
COMMENT ON VIEW pgdl.selection_progress IS
    'where each configuration of a selection job stands, as it runs (committed apart from '
    'the job, so any session sees it): its latest round, status (queued, running, finished, '
    'stopped), iteration reached, loss, value of the job''s metric, and its version';
GRANT SELECT ON pgdl.selection_progress TO PUBLIC;
