-- pgdl 0.1.0 -> 0.2.0: safe on a server that many roles share.
--
-- Ordinary roles read pgdl's catalog tables through row security but write
-- none of them: training, importing, sharing and dropping go through pgdl,
-- whose Python code writes the rows in a privileged section (fdw/privilege.c)
-- after checking, as the user, what the user may do.  Model names belong to
-- their owner: (owner, model, version) is a version's key.  The internal
-- machinery moves to schema pgdl_internal, which nobody else may use.
-- Relations that options name are pinned by OID (fdw/depend.c).  SECURITY.md
-- tells the whole trust model.
\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Internal machinery, out of reach
------------------------------------------------------------------------------

CREATE SCHEMA pgdl_internal;
REVOKE ALL ON SCHEMA pgdl_internal FROM PUBLIC;
COMMENT ON SCHEMA pgdl_internal IS
    'pgdl''s internal functions and tables; only pgdl itself (and superusers) use them';

ALTER FUNCTION pgdl._python_boot(text) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_plan(text, pgdl.datum[], text[]) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_scan(text, pgdl.datum[], text[], int4, int4, text, pgdl.datum[])
    SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_scan_columns(text, pgdl.datum[], text[], int4, int4, text,
    pgdl.datum[]) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_source(text, pgdl.datum[], text[], int4, int4, text)
    SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_take_error() SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_explain(text, pgdl.datum[], text[], bool, text)
    SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_insert(text, pgdl.datum[]) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_validate(text, text[]) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._fdw_import_schema(text, text, text[], text, text, text[], text, text[])
    SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._preprocess(text, text, text, text, text, int4, int4, float8, text,
    text[], int4, int4[], int8, text, text) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._load_dataset(text, text, text, float8, int8) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._check_architecture() SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._create_predictions_table(text, text, text, text, int4, text[], int4,
    text, text, int4, int4) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._import_onnx(text, bytea, text[], int4[], text[], float8, real[], real[],
    bool, text) SET SCHEMA pgdl_internal;
ALTER FUNCTION pgdl._evaluate(text, text, int4, text, text) SET SCHEMA pgdl_internal;

-- A job's spec and starting weights now reach its segments through the
-- scan's shared memory, from the process that runs the job.
DROP TABLE pgdl.training_runs;
DROP FOREIGN TABLE pgdl._training_segments;
CREATE FOREIGN TABLE pgdl_internal.training_segments (
    job int8,
    segments int4,
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
COMMENT ON FOREIGN TABLE pgdl_internal.training_segments IS
    'the segments of a running training job, in lockstep; pgdl queries it for the job';

------------------------------------------------------------------------------
-- Who acts as a role
--
-- pg_has_role(name, ...) fails for a role that no longer exists, which
-- would make every query of a table with such an owner fail; a dropped
-- owner simply owns nothing here.
------------------------------------------------------------------------------

CREATE FUNCTION pgdl.acts_as(role name) RETURNS bool LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT COALESCE(pg_catalog.pg_has_role(
    pg_catalog.to_regrole(pg_catalog.quote_ident(role))::pg_catalog.oid, 'MEMBER'), false)
$$;
COMMENT ON FUNCTION pgdl.acts_as(name) IS
    'whether the current role is role or a member of it (false for a role that is gone)';

------------------------------------------------------------------------------
-- Catalog tables: readable through row security, written only by pgdl
------------------------------------------------------------------------------

DROP POLICY models_write ON pgdl.models;
DROP POLICY jobs_write ON pgdl.training_jobs;
DROP POLICY weights_write ON pgdl.model_weights;
DROP POLICY onnx_write ON pgdl.model_onnx;
DROP POLICY history_write ON pgdl.training_history;
DROP POLICY packed_write ON pgdl.packed;
DROP POLICY packed_delete ON pgdl.packed;
DROP POLICY access_grant ON pgdl.model_access;
DROP POLICY access_revoke ON pgdl.model_access;
DROP POLICY access_read ON pgdl.model_access;
DROP POLICY models_read ON pgdl.models;
DROP POLICY model_weights_read ON pgdl.model_weights;
DROP POLICY model_onnx_read ON pgdl.model_onnx;
DROP POLICY training_history_read ON pgdl.training_history;
DROP POLICY training_jobs_read ON pgdl.training_jobs;
DROP FUNCTION pgdl._owns_model(text, name);

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON pgdl.models, pgdl.model_weights, pgdl.model_onnx,
    pgdl.training_history, pgdl.training_jobs, pgdl.model_access, pgdl.packed FROM PUBLIC;
REVOKE ALL ON SEQUENCE pgdl.training_jobs_job_seq FROM PUBLIC;

-- A model name belongs to its owner: alice's "m" and bob's "m" are two models.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['model_weights', 'model_onnx', 'training_history'] LOOP
        EXECUTE format('ALTER TABLE pgdl.%I ADD COLUMN owner name', t);
        EXECUTE format('UPDATE pgdl.%I x SET owner = m.owner FROM pgdl.models m '
                       'WHERE (m.model, m.version) = (x.model, x.version)', t);
        EXECUTE format('ALTER TABLE pgdl.%I ALTER COLUMN owner SET NOT NULL, '
                       'DROP CONSTRAINT %I', t, t || '_model_version_fkey');
    END LOOP;
END $$;
ALTER TABLE pgdl.models DROP CONSTRAINT models_pkey, ADD PRIMARY KEY (owner, model, version);
ALTER TABLE pgdl.model_weights DROP CONSTRAINT model_weights_pkey,
    ADD PRIMARY KEY (owner, model, version, tensor, chunk),
    ADD FOREIGN KEY (owner, model, version) REFERENCES pgdl.models ON DELETE CASCADE;
ALTER TABLE pgdl.model_onnx DROP CONSTRAINT model_onnx_pkey,
    ADD PRIMARY KEY (owner, model, version, chunk),
    ADD FOREIGN KEY (owner, model, version) REFERENCES pgdl.models ON DELETE CASCADE;
ALTER TABLE pgdl.training_history
    ADD FOREIGN KEY (owner, model, version) REFERENCES pgdl.models ON DELETE CASCADE;
CREATE INDEX ON pgdl.training_history (owner, model, version, iteration);
ALTER TABLE pgdl.model_access DROP CONSTRAINT model_access_model_grantee_key,
    ADD UNIQUE NULLS NOT DISTINCT (owner, model, grantee);
COMMENT ON TABLE pgdl.model_access IS
    'models shared with other roles (grantee NULL: everyone), who may then see and score '
    'every version; pgdl.share_model and pgdl.unshare_model change it';

CREATE POLICY models_read ON pgdl.models FOR SELECT USING (pgdl.acts_as(owner)
    OR EXISTS (SELECT 1 FROM pgdl.model_access a
               WHERE (a.owner, a.model) = (models.owner, models.model)
               AND (a.grantee IS NULL OR pg_catalog.pg_has_role(a.grantee, 'MEMBER'))));
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['model_weights', 'model_onnx', 'training_history'] LOOP
        EXECUTE format('CREATE POLICY %I ON pgdl.%I FOR SELECT USING (EXISTS (SELECT 1 FROM '
                       'pgdl.models m WHERE (m.owner, m.model, m.version) = '
                       '(%I.owner, %I.model, %I.version)))', t || '_read', t, t, t, t);
    END LOOP;
END $$;
CREATE POLICY training_jobs_read ON pgdl.training_jobs FOR SELECT USING (pgdl.acts_as(owner));
CREATE POLICY access_read ON pgdl.model_access FOR SELECT USING (pgdl.acts_as(owner)
    OR grantee IS NULL OR pg_catalog.pg_has_role(grantee, 'MEMBER'));

-- A packed summary shows to its owner and to whoever may read the packed table.
DROP POLICY packed_read ON pgdl.packed;
CREATE POLICY packed_read ON pgdl.packed FOR SELECT USING (pgdl.acts_as(owner)
    OR COALESCE(pg_catalog.has_table_privilege(output::pg_catalog.oid, 'SELECT'), false));
DELETE FROM pgdl.packed p WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                            WHERE c.oid = p.output::pg_catalog.oid);

DROP POLICY architectures_change ON pgdl.architectures;
DROP POLICY architectures_delete ON pgdl.architectures;
CREATE POLICY architectures_change ON pgdl.architectures FOR UPDATE USING (pgdl.acts_as(owner))
    WITH CHECK (pgdl.acts_as(owner));
CREATE POLICY architectures_delete ON pgdl.architectures FOR DELETE USING (pgdl.acts_as(owner));

CREATE OR REPLACE VIEW pgdl.model_versions WITH (security_invoker = true) AS
    SELECT m.model, m.version, m.method, m.segments, m.metrics, m.validation_metrics,
           m.parameters, m.created,
           (SELECT sum(length(o.data)) FROM pgdl.model_onnx o
            WHERE (o.owner, o.model, o.version) = (m.owner, m.model, m.version)) AS onnx_bytes,
           m.owner
    FROM pgdl.models m;

------------------------------------------------------------------------------
-- Managing models: pgdl's functions, not writes to its tables
------------------------------------------------------------------------------

CREATE FUNCTION pgdl_internal._share_model(model text, grantee regrole) RETURNS void
LANGUAGE plpython3u AS $$
GD["pgdl"].share_model(model, grantee)
$$;
CREATE FUNCTION pgdl.share_model(model text, grantee regrole DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.share_model(text, regrole) IS
    'lets grantee (NULL: everyone) see and score every version of your model; sharing grants '
    'use, never the right to add versions, share or drop';

CREATE FUNCTION pgdl_internal._unshare_model(model text, grantee regrole) RETURNS void
LANGUAGE plpython3u AS $$
GD["pgdl"].unshare_model(model, grantee)
$$;
CREATE FUNCTION pgdl.unshare_model(model text, grantee regrole DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.unshare_model(text, regrole) IS
    'takes back what pgdl.share_model(model, grantee) gave';

CREATE FUNCTION pgdl_internal._drop_model(model text, version int4) RETURNS int4
LANGUAGE plpython3u AS $$
return GD["pgdl"].drop_model(model, version)
$$;
CREATE FUNCTION pgdl.drop_model(model text, version int4 DEFAULT NULL) RETURNS int4
    AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.drop_model(text, int4) IS
    'drops a version of your model (NULL: every version, and its sharing); returns how many '
    'versions went';

------------------------------------------------------------------------------
-- Relations named in options, pinned by OID (fdw/depend.c); packed
-- summaries go with their tables
------------------------------------------------------------------------------

CREATE FUNCTION pgdl_internal.pin_relations() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgdl_pin_relations' LANGUAGE C;
CREATE EVENT TRIGGER pgdl_pin_relations ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION pgdl_internal.pin_relations();

CREATE FUNCTION pgdl_internal.forget_packed() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM pgdl.packed WHERE output::oid IN (
        SELECT objid FROM pg_event_trigger_dropped_objects()
        WHERE classid = 'pg_class'::regclass AND objsubid = 0);
END $$;
CREATE EVENT TRIGGER pgdl_forget_packed ON sql_drop
    EXECUTE FUNCTION pgdl_internal.forget_packed();

-- Tables made before 0.2.0: their relations resolved from the table's own
-- schema, then public.
DO $$
DECLARE
    t record;
    named oid;
BEGIN
    FOR t IN SELECT c.oid, n.nspname, o.option_name, o.option_value
             FROM pg_catalog.pg_foreign_table f
             JOIN pg_catalog.pg_class c ON c.oid = f.ftrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver
             JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
             CROSS JOIN LATERAL pg_catalog.pg_options_to_table(f.ftoptions) o
             WHERE w.fdwname = 'pgdl_fdw'
               AND ((o.option_name = 'source' AND f.ftoptions @> '{kind=predictions}')
                    OR (o.option_name = 'packed' AND f.ftoptions @> '{kind=buffers}')) LOOP
        PERFORM pg_catalog.set_config('search_path', pg_catalog.format('%I, public', t.nspname),
                                      true);
        named := pg_catalog.to_regclass(t.option_value);
        IF named IS NULL THEN
            RAISE WARNING 'foreign table % names relation "%", which does not exist',
                t.oid::regclass, t.option_value;
            CONTINUE;
        END IF;
        EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %s OPTIONS (SET %I %L)', t.oid::regclass,
            t.option_name, pg_catalog.format('%I.%I',
            (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = (
                SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = named)),
            (SELECT relname FROM pg_catalog.pg_class WHERE oid = named)));
    END LOOP;
END $$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgdl_internal FROM PUBLIC;
