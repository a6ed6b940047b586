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
