-- pgdl 0.1.0: deep learning inside PostgreSQL.
\echo Use "CREATE EXTENSION pgdl CASCADE" to load this file. \quit

------------------------------------------------------------------------------
-- The Python bridge
--
-- Every foreign table of pgdl_fdw is served by a Python class.  The C
-- handler reaches Python only through the pgdl._fdw_* functions below, which
-- hand their arguments to pgdl.dispatch inside the venv named by the
-- pgdl.venv setting.  They are internal: nobody but the handler (which calls
-- them through fmgr, without a permission check) may execute them.
------------------------------------------------------------------------------

CREATE FUNCTION pgdl.site_packages() RETURNS text
    AS 'MODULE_PATHNAME', 'pgdl_site_packages' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION pgdl.site_packages() IS
    'the site-packages folder of the pgdl.venv setting, from which the server imports pgdl';

-- A value handed to Python: the slot that fits its type holds it.
CREATE TYPE pgdl.datum AS (
    name text, op text, quantifier text,
    i int8, f float8, n numeric, b bool, t text, y bytea,
    ia int8[], fa float8[], na numeric[], ba bool[], ta text[], ya bytea[]
);
COMMENT ON TYPE pgdl.datum IS
    'a qual or column value on its way to Python, in the slot of its natural Python type';

-- Puts the venv first on sys.path and loads pgdl.dispatch into GD.  The C
-- handler calls it through fmgr once per backend before any other _fdw_*
-- function: in a parallel worker PL/Python cannot run SQL (plpy.execute
-- opens a subtransaction), so nothing here may.
CREATE FUNCTION pgdl._python_boot(path text) RETURNS void LANGUAGE plpython3u AS $$
import sys
if path not in sys.path:
    import site
    site.addsitedir(path)
    sys.path.remove(path)
    sys.path.insert(0, path)
from pgdl import dispatch
dispatch.attach(plpy)
GD["pgdl"] = dispatch
$$;

CREATE FUNCTION pgdl._fdw_plan(tabledef text, quals pgdl.datum[], columns text[],
    OUT rows float8, OUT width int4, OUT segments int4, OUT parallel_safe bool,
    OUT has_source bool, OUT exchange_bytes int8, OUT state text, OUT columnar bool)
LANGUAGE plpython3u AS $$
return GD["pgdl"].plan(tabledef, quals, columns)
$$;

-- (tabledef, quals, columns, segment, segments, plan state, source rows).
-- The arguments are unnamed: PL/Python re-binds named arguments of a
-- set-returning function on every row it returns.  The plan state is what
-- the wrapper worked out at plan time (JSON), for processes that cannot
-- read the catalogs.
CREATE FUNCTION pgdl._fdw_scan(text, pgdl.datum[], text[], int4, int4, text, pgdl.datum[])
RETURNS SETOF record LANGUAGE plpython3u AS $$
return GD["pgdl"].scan(*args)
$$;

-- The same, for wrappers that return batches of rows as columns: each value
-- is a batch, one pgdl.datum per column (fdw/columns.c).
CREATE FUNCTION pgdl._fdw_scan_columns(text, pgdl.datum[], text[], int4, int4, text,
    pgdl.datum[])
RETURNS SETOF pgdl.datum[] LANGUAGE plpython3u AS $$
return GD["pgdl"].scan_columns(*args)
$$;

-- The query whose rows a segment's wrapper reads, and in batches of how many
-- (starting at first_batch rows and doubling, when given).
CREATE FUNCTION pgdl._fdw_source(tabledef text, quals pgdl.datum[], columns text[],
    segment int4, segments int4, state text, OUT sql text, OUT batch_size int4,
    OUT first_batch int4)
LANGUAGE plpython3u AS $$
return GD["pgdl"].source(tabledef, quals, columns, segment, segments, state)
$$;

-- The error that ended a _fdw_scan generator, if any.
CREATE FUNCTION pgdl._fdw_take_error(OUT message text, OUT detail text, OUT hint text,
    OUT sqlstate text, OUT context text)
LANGUAGE plpython3u AS $$
return GD["pgdl"].take_error()
$$;

CREATE FUNCTION pgdl._fdw_explain(tabledef text, quals pgdl.datum[], columns text[],
    verbose bool, state text) RETURNS text[]
LANGUAGE plpython3u AS $$
return GD["pgdl"].explain(tabledef, quals, columns, verbose, state)
$$;

-- (tabledef, values): the row the wrapper's insert() returns, if any.
CREATE FUNCTION pgdl._fdw_insert(text, pgdl.datum[]) RETURNS SETOF record
LANGUAGE plpython3u AS $$
return GD["pgdl"].insert(*args)
$$;

CREATE FUNCTION pgdl._fdw_validate(kind text, options text[]) RETURNS void
LANGUAGE plpython3u AS $$
GD["pgdl"].validate(kind, options)
$$;

CREATE FUNCTION pgdl._fdw_import_schema(server text, wrapper text, server_options text[],
    remote_schema text, local_schema text, options text[], restriction text, tables text[])
RETURNS text[] LANGUAGE plpython3u AS $$
return GD["pgdl"].import_schema(server, wrapper, server_options, remote_schema,
                                local_schema, options, restriction, tables)
$$;

REVOKE ALL ON FUNCTION pgdl._python_boot(text), pgdl._fdw_plan(text, pgdl.datum[], text[]),
    pgdl._fdw_scan(text, pgdl.datum[], text[], int4, int4, text, pgdl.datum[]),
    pgdl._fdw_scan_columns(text, pgdl.datum[], text[], int4, int4, text, pgdl.datum[]),
    pgdl._fdw_source(text, pgdl.datum[], text[], int4, int4, text), pgdl._fdw_take_error(),
    pgdl._fdw_explain(text, pgdl.datum[], text[], bool, text),
    pgdl._fdw_insert(text, pgdl.datum[]), pgdl._fdw_validate(text, text[]),
    pgdl._fdw_import_schema(text, text, text[], text, text, text[], text, text[])
    FROM PUBLIC;

------------------------------------------------------------------------------
-- The foreign-data wrapper and its server
------------------------------------------------------------------------------

CREATE FUNCTION pgdl.fdw_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'pgdl_fdw_handler' LANGUAGE C STRICT;
COMMENT ON FUNCTION pgdl.fdw_handler() IS 'handler of the pgdl_fdw foreign-data wrapper';

CREATE FUNCTION pgdl.fdw_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'pgdl_fdw_validator' LANGUAGE C STRICT;
COMMENT ON FUNCTION pgdl.fdw_validator(text[], oid) IS
    'option validator of the pgdl_fdw foreign-data wrapper';

CREATE FOREIGN DATA WRAPPER pgdl_fdw HANDLER pgdl.fdw_handler VALIDATOR pgdl.fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER pgdl_fdw IS
    'foreign tables served by Python classes written against the Multicorn API';

CREATE SERVER pgdl FOREIGN DATA WRAPPER pgdl_fdw;
COMMENT ON SERVER pgdl IS
    'pgdl''s own tables: the option "kind" of a foreign table picks what it serves';

------------------------------------------------------------------------------
-- Who may use pgdl
--
-- Everyone may use the schema and create tables of pgdl's own kinds on
-- server pgdl; naming Python code (a server's wrapper option) stays with
-- superusers, and the internal functions above with nobody.
------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgdl TO PUBLIC;
GRANT USAGE ON FOREIGN SERVER pgdl TO PUBLIC;

------------------------------------------------------------------------------
-- Packed training data
--
-- pgdl.preprocess packs a table into float32 buffers spread over segments
-- and records how (shape, normalization, classes) in pgdl.packed, which
-- training and prediction read.  Functions written in Python are C
-- trampolines (pgdl.f calls the internal PL/Python pgdl._f), so that their
-- errors reach the client as Python raised them.
------------------------------------------------------------------------------

CREATE TABLE pgdl.packed (
    output regclass PRIMARY KEY,
    source text NOT NULL,
    features text[] NOT NULL,
    feature_kind text NOT NULL,
    feature_shape int4[] NOT NULL,
    label text NOT NULL,
    key text,
    task text NOT NULL CHECK (task IN ('classification', 'regression')),
    class_values text[],
    class_type text,
    num_classes int4,
    normalization text NOT NULL CHECK (normalization IN ('none', 'constant', 'standard')),
    normalizing_const float8,
    feature_mean real[],
    feature_std real[],
    buffer_size int4 NOT NULL,
    segments int4 NOT NULL,
    rows_per_segment int8[] NOT NULL,
    buffers_per_segment int4[] NOT NULL,
    total_rows int8 NOT NULL,
    seed int8,
    validation_of text,
    owner name NOT NULL DEFAULT current_user,
    created timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgdl.packed IS
    'one row per packed table: how pgdl.preprocess packed it (shape, normalization, classes, segments)';
SELECT pg_catalog.pg_extension_config_dump('pgdl.packed', '');

-- Everyone sees every summary; each role writes only its own.
ALTER TABLE pgdl.packed ENABLE ROW LEVEL SECURITY;
CREATE POLICY packed_read ON pgdl.packed FOR SELECT USING (true);
CREATE POLICY packed_write ON pgdl.packed FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY packed_delete ON pgdl.packed FOR DELETE USING (pg_has_role(owner, 'MEMBER'));
GRANT SELECT, INSERT, DELETE ON pgdl.packed TO PUBLIC;

CREATE FUNCTION pgdl._preprocess(source text, output text, features text, label text,
    key text, buffer_size int4, segments int4, normalizing_const float8, normalization text,
    class_values text[], num_classes int4, feature_shape int4[], seed int8,
    validation_of text, task text)
RETURNS SETOF pgdl.packed LANGUAGE plpython3u AS $$
return GD["pgdl"].preprocess(source, output, features, label, key, buffer_size, segments,
                             normalizing_const, normalization, class_values, num_classes,
                             feature_shape, seed, validation_of, task)
$$;
REVOKE ALL ON FUNCTION pgdl._preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text) FROM PUBLIC;

CREATE FUNCTION pgdl.preprocess(source text, output text, features text, label text,
    key text DEFAULT NULL, buffer_size int4 DEFAULT NULL, segments int4 DEFAULT NULL,
    normalizing_const float8 DEFAULT NULL, normalization text DEFAULT NULL,
    class_values text[] DEFAULT NULL, num_classes int4 DEFAULT NULL,
    feature_shape int4[] DEFAULT NULL, seed int8 DEFAULT NULL,
    validation_of text DEFAULT NULL, task text DEFAULT NULL)
RETURNS SETOF pgdl.packed AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text) IS
    'packs table source into output: float32 feature buffers with class-index labels, spread '
    'evenly over segments; features: a bytea column (uint8 values), a numeric array column, '
    'or numeric columns separated by commas; validation_of reuses a packed table''s '
    'normalization and classes';

CREATE FUNCTION pgdl._load_dataset(name text, target text, path text, test_fraction float8,
    seed int8)
RETURNS TABLE (table_name text, "rows" int8, image_shape int4[]) LANGUAGE plpython3u AS $$
return GD["pgdl"].load_dataset(name, target, path, test_fraction, seed)
$$;
REVOKE ALL ON FUNCTION pgdl._load_dataset(text, text, text, float8, int8) FROM PUBLIC;

CREATE FUNCTION pgdl.load_dataset(name text, target text, path text DEFAULT NULL,
    test_fraction float8 DEFAULT NULL, seed int8 DEFAULT 0)
RETURNS TABLE (table_name text, "rows" int8, image_shape int4[])
AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.load_dataset(text, text, text, float8, int8) IS
    'loads a data set (digits, mnist, cifar10 from path, images from a folder per class) into '
    'table target (id, image bytea of uint8 height x width x channels, label), shuffled with '
    'seed; with test_fraction, into target_train and target_test';

------------------------------------------------------------------------------
-- Model architectures
--
-- Keras 3 JSON (what model.to_json() returns), checked on the way in by
-- building the model; the input and output shapes and the parameter count
-- are filled in from it.  initial_weights, if given, are the model's
-- get_weights() as one little-endian float32 blob (transfer learning).
------------------------------------------------------------------------------

CREATE TABLE pgdl.architectures (
    name text PRIMARY KEY,
    keras_json text NOT NULL,
    description text,
    initial_weights bytea,
    input_shape int4[],
    output_shape int4[],
    parameters int8,
    owner name NOT NULL DEFAULT current_user,
    created timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgdl.architectures IS
    'Keras 3 model architectures (JSON), checked by building them; shapes and parameter '
    'count are derived';
SELECT pg_catalog.pg_extension_config_dump('pgdl.architectures', '');
ALTER TABLE pgdl.architectures ENABLE ROW LEVEL SECURITY;
CREATE POLICY architectures_read ON pgdl.architectures FOR SELECT USING (true);
CREATE POLICY architectures_insert ON pgdl.architectures FOR INSERT
    WITH CHECK (owner = current_user);
CREATE POLICY architectures_change ON pgdl.architectures FOR UPDATE
    USING (pg_has_role(owner, 'MEMBER'));
CREATE POLICY architectures_delete ON pgdl.architectures FOR DELETE
    USING (pg_has_role(owner, 'MEMBER'));
GRANT SELECT, INSERT, UPDATE, DELETE ON pgdl.architectures TO PUBLIC;

CREATE FUNCTION pgdl._check_architecture() RETURNS trigger LANGUAGE plpython3u AS $$
return GD["pgdl"].check_architecture(TD["new"])
$$;
REVOKE ALL ON FUNCTION pgdl._check_architecture() FROM PUBLIC;
CREATE FUNCTION pgdl.check_architecture() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
CREATE TRIGGER check_architecture BEFORE INSERT OR UPDATE ON pgdl.architectures
    FOR EACH ROW EXECUTE FUNCTION pgdl.check_architecture();

------------------------------------------------------------------------------
-- Models, as rows
--
-- Every finished training job adds an immutable version of its model: the
-- architecture, parameters, what it was trained on (classes, shape,
-- normalization from the packed summary) and metrics in pgdl.models; the
-- weights in pgdl.model_weights, one row per tensor or chunk of a tensor,
-- so no model meets the 1 GB field limit; per-iteration metrics in
-- pgdl.training_history (segment NULL: the merged model).  A failed job
-- leaves no version behind: it all happens in the job's transaction.
------------------------------------------------------------------------------

CREATE TABLE pgdl.models (
    model text NOT NULL,
    version int4 NOT NULL,
    origin text NOT NULL DEFAULT 'training' CHECK (origin IN ('training', 'import')),
    architecture text,
    keras_json text,
    source text,
    validation_source text,
    compile_params jsonb,
    fit_params jsonb,
    method text,
    segments int4,
    iterations int4,
    seed int8,
    warm_start_version int4,
    task text NOT NULL,
    class_values text[],
    class_type text,
    feature_shape int4[] NOT NULL,
    features text[],
    feature_kind text,
    label text,
    key text,
    normalization text NOT NULL,
    normalizing_const float8,
    feature_mean real[],
    feature_std real[],
    apply_softmax bool NOT NULL DEFAULT false,
    metrics jsonb,
    validation_metrics jsonb,
    parameters int8 NOT NULL,
    training_seconds float8,
    owner name NOT NULL DEFAULT current_user,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version)
);
COMMENT ON TABLE pgdl.models IS
    'one row per version of a model: how it was trained (or imported), on what columns and '
    'classes, and how well';

CREATE TABLE pgdl.model_weights (
    model text NOT NULL,
    version int4 NOT NULL,
    tensor int4 NOT NULL,
    chunk int4 NOT NULL,
    name text NOT NULL,
    shape int4[] NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (model, version, tensor, chunk),
    FOREIGN KEY (model, version) REFERENCES pgdl.models ON DELETE CASCADE
);
COMMENT ON TABLE pgdl.model_weights IS
    'the weights of each model version: one row per tensor (or 64 MB chunk of one), '
    'little-endian float32 in the order of Keras get_weights()';

CREATE TABLE pgdl.model_onnx (
    model text NOT NULL,
    version int4 NOT NULL,
    chunk int4 NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (model, version, chunk),
    FOREIGN KEY (model, version) REFERENCES pgdl.models ON DELETE CASCADE
);
COMMENT ON TABLE pgdl.model_onnx IS
    'each model version exported to ONNX, in 64 MB chunks; in chunk order they make the file';

CREATE VIEW pgdl.model_versions WITH (security_invoker = true) AS
    SELECT m.model, m.version, m.method, m.segments, m.metrics, m.validation_metrics,
           m.parameters, m.created,
           (SELECT sum(length(o.data)) FROM pgdl.model_onnx o
            WHERE (o.model, o.version) = (m.model, m.version)) AS onnx_bytes
    FROM pgdl.models m;
GRANT SELECT ON pgdl.model_versions TO PUBLIC;

CREATE TABLE pgdl.training_history (
    model text NOT NULL,
    version int4 NOT NULL,
    iteration int4 NOT NULL,
    segment int4,
    "rows" int8 NOT NULL,
    loss float8,
    metrics jsonb,
    validation_loss float8,
    validation_metrics jsonb,
    seconds float8 NOT NULL,
    FOREIGN KEY (model, version) REFERENCES pgdl.models ON DELETE CASCADE
);
COMMENT ON TABLE pgdl.training_history IS
    'per iteration of each training job: loss and metrics of every segment and (segment '
    'NULL) of the merged model, with elapsed seconds';
CREATE INDEX ON pgdl.training_history (model, version, iteration);

CREATE TABLE pgdl.training_jobs (
    job int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model text NOT NULL,
    version int4,
    architecture text NOT NULL,
    source text NOT NULL,
    validation_source text,
    compile_params jsonb NOT NULL,
    fit_params jsonb NOT NULL,
    iterations int4 NOT NULL,
    segments int4 NOT NULL,
    method text NOT NULL,
    seed int8,
    warm_start bool NOT NULL,
    moving_rate float8,
    status text NOT NULL,
    iteration int4,
    loss float8,
    metrics jsonb,
    validation_metrics jsonb,
    seconds float8,
    seconds_per_iteration float8,
    fixed_seconds float8,
    owner name NOT NULL DEFAULT current_user,
    started timestamptz NOT NULL DEFAULT now(),
    finished timestamptz
);
COMMENT ON TABLE pgdl.training_jobs IS 'the jobs behind pgdl.model_training';

-- Who may use a model besides its owner (grantee NULL: everyone).
CREATE TABLE pgdl.model_access (
    model text NOT NULL,
    grantee regrole,
    owner name NOT NULL DEFAULT current_user,
    UNIQUE NULLS NOT DISTINCT (model, grantee)
);
COMMENT ON TABLE pgdl.model_access IS
    'models shared with other roles: INSERT (model, grantee) to let grantee (NULL: everyone) '
    'see and score every version of a model you own';
SELECT pg_catalog.pg_extension_config_dump('pgdl.model_access', '');

-- Whether role owns a model (reads pgdl.models past its row security,
-- which depends on pgdl.model_access).
CREATE FUNCTION pgdl._owns_model(name text, role name) RETURNS bool
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT EXISTS (SELECT 1 FROM pgdl.models WHERE model = name
               AND pg_has_role(role, owner, 'MEMBER'))
$$;
ALTER TABLE pgdl.model_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_read ON pgdl.model_access FOR SELECT USING (true);
CREATE POLICY access_grant ON pgdl.model_access FOR INSERT
    WITH CHECK (owner = current_user AND pgdl._owns_model(model, current_user));
CREATE POLICY access_revoke ON pgdl.model_access FOR DELETE USING (pg_has_role(owner, 'MEMBER'));
GRANT SELECT, INSERT, DELETE ON pgdl.model_access TO PUBLIC;

-- A model's versions are visible to its owner and to the roles it is shared
-- with; its weights, ONNX export and history go with the version.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['models', 'model_weights', 'model_onnx', 'training_history',
                             'training_jobs'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump('pgdl.' || t, '');
        EXECUTE format('ALTER TABLE pgdl.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT, INSERT ON pgdl.%I TO PUBLIC', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['model_weights', 'model_onnx', 'training_history'] LOOP
        EXECUTE format('CREATE POLICY %I ON pgdl.%I FOR SELECT USING (EXISTS (SELECT 1 FROM '
                       'pgdl.models m WHERE (m.model, m.version) = (%I.model, %I.version)))',
                       t || '_read', t, t, t);
    END LOOP;
END $$;
CREATE POLICY models_read ON pgdl.models FOR SELECT USING (pg_has_role(owner, 'MEMBER')
    OR EXISTS (SELECT 1 FROM pgdl.model_access a WHERE a.model = models.model
               AND (a.grantee IS NULL OR pg_has_role(a.grantee, 'MEMBER'))));
CREATE POLICY training_jobs_read ON pgdl.training_jobs FOR SELECT
    USING (pg_has_role(owner, 'MEMBER'));
CREATE POLICY models_write ON pgdl.models FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY jobs_write ON pgdl.training_jobs FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY weights_write ON pgdl.model_weights FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM pgdl.models m WHERE (m.model, m.version) = (model_weights.model, model_weights.version)
    AND m.owner = current_user));
CREATE POLICY onnx_write ON pgdl.model_onnx FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM pgdl.models m WHERE (m.model, m.version) = (model_onnx.model, model_onnx.version)
    AND m.owner = current_user));
CREATE POLICY history_write ON pgdl.training_history FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM pgdl.models m WHERE (m.model, m.version) = (training_history.model, training_history.version)
    AND m.owner = current_user));
GRANT USAGE ON SEQUENCE pgdl.training_jobs_job_seq TO PUBLIC;

------------------------------------------------------------------------------
-- Training: INSERT INTO pgdl.model_training runs a job
--
-- The insert trains across segments: one parallel scan of
-- pgdl._training_segments, whose participants (segment k of n) each read
-- their own packed buffers, train, and merge weights in lockstep after every
-- iteration.  Reading pgdl.model_training lists the jobs.
------------------------------------------------------------------------------

CREATE FOREIGN TABLE pgdl.model_training (
    job int8,
    model text,
    version int4,
    architecture text,
    source text,
    validation_source text,
    compile_params jsonb,
    fit_params jsonb,
    iterations int4,
    segments int4,
    method text,
    seed int8,
    warm_start bool,
    moving_rate float8,
    status text,
    iteration int4,
    loss float8,
    metrics jsonb,
    validation_metrics jsonb,
    seconds float8,
    seconds_per_iteration float8,
    fixed_seconds float8,
    owner name,
    started timestamptz,
    finished timestamptz
) SERVER pgdl OPTIONS (kind 'model_training');
COMMENT ON FOREIGN TABLE pgdl.model_training IS
    'INSERT a row to train a model across segments; SELECT to see the jobs';
GRANT SELECT, INSERT ON pgdl.model_training TO PUBLIC;

-- Internal: the segments of a running job.  Its spec and starting weights
-- travel as rows (pgdl.training_runs), never in the query text.
CREATE FOREIGN TABLE pgdl._training_segments (
    job int8,
    train text,
    validation text,
    segments int4,
    parameters int8,
    segment int4,
    iteration int4,
    "rows" int8,
    loss float8,
    metrics text,
    validation_loss float8,
    validation_metrics text,
    seconds float8,
    tensor int4,
    data bytea
) SERVER pgdl OPTIONS (kind 'training_segments');
GRANT SELECT ON pgdl._training_segments TO PUBLIC;

-- Internal: the spec and starting weights of a running job, for its segments
-- to read as rows.  Written and removed inside the job's transaction.
CREATE TABLE pgdl.training_runs (
    job int8 PRIMARY KEY,
    spec text NOT NULL,
    weights bytea NOT NULL,
    owner name NOT NULL DEFAULT current_user
);
ALTER TABLE pgdl.training_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY training_runs_own ON pgdl.training_runs USING (owner = current_user);
GRANT SELECT, INSERT, DELETE ON pgdl.training_runs TO PUBLIC;

------------------------------------------------------------------------------
-- Predictions: SELECT from a foreign table of kind 'predictions'
--
-- Each segment scores its share of the source rows in batches with ONNX
-- Runtime (one session per backend per model version).  A table per model
-- (pgdl.create_predictions_table) has typed columns and pass-through source
-- columns; pgdl.predictions serves any model and source named in WHERE.
------------------------------------------------------------------------------

CREATE FOREIGN TABLE pgdl.predictions (
    model text,
    version int4,
    source text,
    key text,
    class text,
    probability float8,
    probabilities float8[],
    top_classes text[],
    top_probabilities float8[],
    value float8
) SERVER pgdl OPTIONS (kind 'predictions');
COMMENT ON FOREIGN TABLE pgdl.predictions IS
    'predictions of any model on any table: WHERE model = ''...'' AND source = ''...'' '
    '(and optionally version = n) pick them; key is the source row''s key as text';
GRANT SELECT ON pgdl.predictions TO PUBLIC;

CREATE FUNCTION pgdl._create_predictions_table(name text, model text, source text, key text,
    version int4, pass_through text[], segments int4, features text, on_error text,
    top_k int4, batch_size int4)
RETURNS regclass LANGUAGE plpython3u AS $$
return GD["pgdl"].create_predictions_table(name, model, source, key, version, pass_through,
                                           segments, features, on_error, top_k, batch_size)
$$;
REVOKE ALL ON FUNCTION pgdl._create_predictions_table(text, text, text, text, int4, text[],
    int4, text, text, int4, int4) FROM PUBLIC;
CREATE FUNCTION pgdl.create_predictions_table(name text, model text, source text,
    key text DEFAULT NULL, version int4 DEFAULT NULL, pass_through text[] DEFAULT NULL,
    segments int4 DEFAULT NULL, features text DEFAULT NULL, on_error text DEFAULT NULL,
    top_k int4 DEFAULT NULL, batch_size int4 DEFAULT NULL)
RETURNS regclass AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.create_predictions_table(text, text, text, text, int4, text[], int4,
    text, text, int4, int4) IS
    'creates foreign table name: predictions of model (version: default latest) on table '
    'source, with the key, class, probability, probabilities, top_classes, top_probabilities, '
    'value and version columns typed for the model, and the pass_through source columns';

CREATE FUNCTION pgdl._import_onnx(model text, onnx bytea, class_values text[],
    input_shape int4[], features text[], normalizing_const float8, feature_mean real[],
    feature_std real[], softmax bool, class_type text)
RETURNS int4 LANGUAGE plpython3u AS $$
return GD["pgdl"].import_onnx(model, onnx, class_values, input_shape, features,
                              normalizing_const, feature_mean, feature_std, softmax, class_type)
$$;
REVOKE ALL ON FUNCTION pgdl._import_onnx(text, bytea, text[], int4[], text[], float8, real[],
    real[], bool, text) FROM PUBLIC;
CREATE FUNCTION pgdl.import_onnx(model text, onnx bytea, class_values text[] DEFAULT NULL,
    input_shape int4[] DEFAULT NULL, features text[] DEFAULT NULL,
    normalizing_const float8 DEFAULT NULL, feature_mean real[] DEFAULT NULL,
    feature_std real[] DEFAULT NULL, softmax bool DEFAULT false, class_type text DEFAULT NULL)
RETURNS int4 AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.import_onnx(text, bytea, text[], int4[], text[], float8, real[], real[],
    bool, text) IS
    'stores an ONNX model as the next version of model and returns it: class_values (NULL: '
    'regression), input_shape (default: the ONNX input''s), the feature columns it reads, its '
    'normalization (normalizing_const, or feature_mean and feature_std), softmax if it '
    'outputs logits';

CREATE FUNCTION pgdl._evaluate(model text, source text, version int4, label text,
    features text)
RETURNS TABLE (metric text, value float8, actual text, predicted text)
LANGUAGE plpython3u AS $$
return GD["pgdl"].evaluate(model, source, version, label, features)
$$;
REVOKE ALL ON FUNCTION pgdl._evaluate(text, text, int4, text, text) FROM PUBLIC;
CREATE FUNCTION pgdl.evaluate(model text, source text, version int4 DEFAULT NULL,
    label text DEFAULT NULL, features text DEFAULT NULL)
RETURNS TABLE (metric text, value float8, actual text, predicted text)
AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.evaluate(text, text, int4, text, text) IS
    'scores table source with model (version: default latest) against its label column: '
    'rows of loss and each compiled metric (metric, value), then the confusion matrix '
    '(metric ''confusion'', actual, predicted, value = rows)';
