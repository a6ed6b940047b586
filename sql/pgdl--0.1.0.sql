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
    OUT has_source bool, OUT exchange_bytes int8)
LANGUAGE plpython3u AS $$
return GD["pgdl"].plan(tabledef, quals, columns)
$$;

-- (tabledef, quals, columns, segment, segments, source rows).  The arguments
-- are unnamed: PL/Python re-binds named arguments of a set-returning
-- function on every row it returns.
CREATE FUNCTION pgdl._fdw_scan(text, pgdl.datum[], text[], int4, int4, pgdl.datum[])
RETURNS SETOF record LANGUAGE plpython3u AS $$
return GD["pgdl"].scan(*args)
$$;

-- The query whose rows a segment's wrapper reads, and in batches of how many.
CREATE FUNCTION pgdl._fdw_source(tabledef text, quals pgdl.datum[], columns text[],
    segment int4, segments int4, OUT sql text, OUT batch_size int4)
LANGUAGE plpython3u AS $$
return GD["pgdl"].source(tabledef, quals, columns, segment, segments)
$$;

-- The error that ended a _fdw_scan generator, if any.
CREATE FUNCTION pgdl._fdw_take_error(OUT message text, OUT detail text, OUT hint text,
    OUT sqlstate text, OUT context text)
LANGUAGE plpython3u AS $$
return GD["pgdl"].take_error()
$$;

CREATE FUNCTION pgdl._fdw_explain(tabledef text, quals pgdl.datum[], columns text[],
    verbose bool) RETURNS text[]
LANGUAGE plpython3u AS $$
return GD["pgdl"].explain(tabledef, quals, columns, verbose)
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
    pgdl._fdw_scan(text, pgdl.datum[], text[], int4, int4, pgdl.datum[]),
    pgdl._fdw_source(text, pgdl.datum[], text[], int4, int4), pgdl._fdw_take_error(),
    pgdl._fdw_explain(text, pgdl.datum[], text[], bool),
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
