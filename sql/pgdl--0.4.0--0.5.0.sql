-- pgdl 0.4.0 -> 0.5.0: model selection.  Search spaces as rows
-- (pgdl.model_configs, pgdl.generate_model_configs) and selection jobs
-- (INSERT INTO pgdl.model_selection) that train every configuration with
-- model hopper parallelism and store each as a version of one model.

\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.5.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Configurations: rows a user reads and edits before running them
------------------------------------------------------------------------------

CREATE TABLE pgdl.model_configs (
    search text NOT NULL,
    config int4 NOT NULL CHECK (config >= 1),
    architecture text NOT NULL,
    compile_params jsonb NOT NULL,
    fit_params jsonb NOT NULL DEFAULT '{}',
    owner name NOT NULL DEFAULT current_user,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, search, config)
);
COMMENT ON TABLE pgdl.model_configs IS
    'configurations of a model search: an architecture of pgdl.architectures with its '
    'compile and fit params; pgdl.generate_model_configs makes them, INSERT INTO '
    'pgdl.model_selection trains them';
SELECT pg_catalog.pg_extension_config_dump('pgdl.model_configs', '');
ALTER TABLE pgdl.model_configs ENABLE ROW LEVEL SECURITY;
CREATE POLICY model_configs_own ON pgdl.model_configs
    USING (pgdl.acts_as(owner)) WITH CHECK (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE ON pgdl.model_configs TO PUBLIC;

CREATE FUNCTION pgdl_internal._generate_model_configs(search text, architectures text[],
    compile_params jsonb, fit_params jsonb, method text, samples int4, seed int8)
RETURNS SETOF pgdl.model_configs LANGUAGE plpython3u AS $$
return GD["pgdl"].generate_model_configs(search, architectures, compile_params, fit_params,
                                         method, samples, seed)
$$;
REVOKE ALL ON FUNCTION pgdl_internal._generate_model_configs(text, text[], jsonb, jsonb, text,
    int4, int8) FROM PUBLIC;
CREATE FUNCTION pgdl.generate_model_configs(search text, architectures text[],
    compile_params jsonb, fit_params jsonb DEFAULT '{}', method text DEFAULT 'grid',
    samples int4 DEFAULT NULL, seed int8 DEFAULT NULL)
RETURNS SETOF pgdl.model_configs AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.generate_model_configs(text, text[], jsonb, jsonb, text, int4, int8) IS
    'adds the configurations of a search space to pgdl.model_configs: architectures x '
    'compile_params x fit_params, where a value may be {"choice": [...]}, {"uniform": [a, b]}, '
    '{"log_uniform": [a, b]} or {"int_uniform": [a, b]}; method grid (every combination of '
    'choices) or random (samples draws, seeded)';

------------------------------------------------------------------------------
-- Selection jobs: INSERT INTO pgdl.model_selection trains every
-- configuration of a search; each becomes a version of the job's model
------------------------------------------------------------------------------

CREATE TABLE pgdl.selection_jobs (
    job int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model text NOT NULL,
    search text NOT NULL,
    source text NOT NULL,
    validation_source text,
    iterations int4 NOT NULL,
    segments int4 NOT NULL,
    schedule text NOT NULL,
    method text NOT NULL,
    samples int4,
    hyperband_r int4,
    eta int4,
    skip_last int4,
    metric text NOT NULL,
    higher_is_better bool NOT NULL,
    seed int8,
    status text NOT NULL,
    configs int4 NOT NULL,
    best_version int4,
    best_value float8,
    seconds float8,
    owner name NOT NULL DEFAULT current_user,
    started timestamptz NOT NULL DEFAULT now(),
    finished timestamptz
);
COMMENT ON TABLE pgdl.selection_jobs IS 'the jobs behind pgdl.model_selection';
COMMENT ON COLUMN pgdl.selection_jobs.schedule IS
    'hopper (model hopper parallelism: each segment trains another configuration on its own '
    'buffers, then the configurations move on) or average (fewer configurations than '
    'segments: each trains over all segments with model averaging, one after another); for '
    'hyperband, that of its first round';
COMMENT ON COLUMN pgdl.selection_jobs.method IS
    'all (every configuration of the search), random (samples of them, drawn with seed) or '
    'hyperband (brackets of successive halving: hyperband_r, eta, skip_last)';
SELECT pg_catalog.pg_extension_config_dump('pgdl.selection_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('pgdl.selection_jobs_job_seq', '');
ALTER TABLE pgdl.selection_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY selection_jobs_read ON pgdl.selection_jobs FOR SELECT
    USING (pgdl.acts_as(owner) OR pgdl.controls(owner));
GRANT SELECT ON pgdl.selection_jobs TO PUBLIC;

-- Every run of a selection job: a configuration trained for some iterations
-- in a round of a bracket (one round, bracket 0, unless method hyperband).
CREATE TABLE pgdl.selection_runs (
    job int8 NOT NULL,
    bracket int4 NOT NULL,
    round int4 NOT NULL,
    config int4 NOT NULL,
    schedule text NOT NULL,
    iterations int4 NOT NULL,
    total_iterations int4 NOT NULL,
    value float8,
    survived bool NOT NULL,
    version int4,
    owner name NOT NULL DEFAULT current_user,
    PRIMARY KEY (job, bracket, round, config)
);
COMMENT ON TABLE pgdl.selection_runs IS
    'every run of a selection job: bracket, round, configuration, iterations given, the '
    'job''s metric after it, whether it went on, and the version it ended as';
SELECT pg_catalog.pg_extension_config_dump('pgdl.selection_runs', '');
ALTER TABLE pgdl.selection_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY selection_runs_read ON pgdl.selection_runs FOR SELECT
    USING (pgdl.acts_as(owner) OR pgdl.controls(owner));
GRANT SELECT ON pgdl.selection_runs TO PUBLIC;

ALTER TABLE pgdl.models DROP CONSTRAINT models_origin_check,
    ADD CONSTRAINT models_origin_check CHECK (origin IN ('training', 'import', 'selection')),
    ADD COLUMN search text, ADD COLUMN config int4, ADD COLUMN selection_job int8;
COMMENT ON COLUMN pgdl.models.selection_job IS
    'the pgdl.selection_jobs job that trained this version (origin selection), with its '
    'search and config';

CREATE FOREIGN TABLE pgdl.model_selection (
    job int8,
    model text,
    search text,
    source text,
    validation_source text,
    iterations int4,
    segments int4,
    schedule text,
    method text,
    samples int4,
    hyperband_r int4,
    eta int4,
    skip_last int4,
    metric text,
    higher_is_better bool,
    seed int8,
    status text,
    configs int4,
    best_version int4,
    best_value float8,
    seconds float8,
    owner name,
    started timestamptz,
    finished timestamptz
) SERVER pgdl OPTIONS (kind 'model_selection');
COMMENT ON FOREIGN TABLE pgdl.model_selection IS
    'INSERT a row to train every configuration of a search (pgdl.model_configs) as a version '
    'of model; SELECT to see the jobs; pgdl.model_selection_results ranks them';
GRANT SELECT, INSERT ON pgdl.model_selection TO PUBLIC;

-- The segments of a model hopper job say which configuration each row is of.
ALTER FOREIGN TABLE pgdl_internal.training_segments ADD COLUMN config int4;

CREATE VIEW pgdl.model_selection_results WITH (security_invoker = true) AS
SELECT j.job, m.owner, m.model, m.version, m.config, m.architecture, m.compile_params,
       m.fit_params, j.metric, v.value,
       rank() OVER (PARTITION BY j.job ORDER BY
                    CASE WHEN j.higher_is_better THEN -v.value ELSE v.value END NULLS LAST)
           AS rank,
       m.metrics, m.validation_metrics, m.training_seconds
FROM pgdl.selection_jobs j
JOIN pgdl.models m ON m.owner = j.owner AND m.selection_job = j.job
CROSS JOIN LATERAL (SELECT (COALESCE(m.validation_metrics, m.metrics) ->> j.metric)::float8
                    AS value) v;
COMMENT ON VIEW pgdl.model_selection_results IS
    'every configuration a selection job trained, ranked by the job''s metric (on the '
    'validation source when it had one)';
GRANT SELECT ON pgdl.model_selection_results TO PUBLIC;
