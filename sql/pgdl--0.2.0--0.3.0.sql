\echo Use "ALTER EXTENSION pgdl UPDATE TO '0.3.0'" to load this file. \quit

-- pgdl 0.3.0: models survive every kind of restore, roles that own or use
-- models follow PostgreSQL's rules for roles, and what pgdl makes depends
-- on what it is made from.

------------------------------------------------------------------------------
-- Restores: no foreign keys between pgdl's tables (pg_restore -j loads each
-- table's rows in its own transaction, in any order); pgdl alone writes
-- them and keeps them whole.  The job counter is dumped with the jobs.
------------------------------------------------------------------------------

ALTER TABLE pgdl.model_weights DROP CONSTRAINT model_weights_owner_model_version_fkey;
ALTER TABLE pgdl.model_onnx DROP CONSTRAINT model_onnx_owner_model_version_fkey;
ALTER TABLE pgdl.training_history DROP CONSTRAINT training_history_owner_model_version_fkey;
SELECT pg_catalog.pg_extension_config_dump('pgdl.training_jobs_job_seq', '');

-- DROP EXTENSION pgdl leaves the schema it was created in (PostgreSQL
-- creates it for the extension but never makes it a member): it says so.
CREATE FUNCTION pgdl_internal.say_what_stays() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgdl_say_what_stays' LANGUAGE C;
CREATE EVENT TRIGGER pgdl_say_what_stays ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION pgdl_internal.say_what_stays();

------------------------------------------------------------------------------
-- Roles.  Each role that owns models owns a sequence named after it in
-- schema pgdl_model_owners, its anchor, and the roles its models are
-- shared with have USAGE on it.  So DROP ROLE refuses while a role owns or
-- uses models (in any database), DROP OWNED drops a role's models (and its
-- access to others'), and REASSIGN OWNED hands the models named under a
-- role to another: the anchor's owner controls them.
------------------------------------------------------------------------------

-- The schema and its anchors are not members of the extension, so that
-- pg_dump dumps them with their owners and grants (and pg_restore reports
-- each role it cannot find).  sync_anchor creates the schema when needed.

CREATE FUNCTION pgdl_internal.anchor(owner name) RETURNS oid
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'pgdl_model_owners' AND c.relname = owner AND c.relkind = 'S'
$$;

CREATE FUNCTION pgdl.controls(owner name) RETURNS bool
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT COALESCE((SELECT pg_catalog.pg_has_role(c.relowner, 'MEMBER')
                 FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'pgdl_model_owners' AND c.relname = owner
                   AND c.relkind = 'S'),
                pgdl.acts_as(owner))
$$;
COMMENT ON FUNCTION pgdl.controls(name) IS
    'whether the current role controls the models named under owner: it is (a member of) '
    'the role owning their anchor, pgdl_model_owners.<owner>';

CREATE FUNCTION pgdl.shared_with_me(owner name, grantee name) RETURNS bool
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT grantee IS NULL OR (pgdl.acts_as(grantee) AND COALESCE(
    (SELECT pg_catalog.has_sequence_privilege(grantee, c.oid, 'USAGE')
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'pgdl_model_owners' AND c.relname = owner AND c.relkind = 'S'), false))
$$;
COMMENT ON FUNCTION pgdl.shared_with_me(name, name) IS
    'whether a pgdl.model_access grant to grantee (NULL: everyone) reaches the current role';

-- Grantees by name, so that a restore without one of them keeps the others.
DROP POLICY models_read ON pgdl.models;
DROP POLICY access_read ON pgdl.model_access;
DROP POLICY training_jobs_read ON pgdl.training_jobs;
DELETE FROM pgdl.model_access a WHERE a.grantee IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = a.grantee);
ALTER TABLE pgdl.model_access
    ALTER COLUMN grantee TYPE name USING pg_catalog.pg_get_userbyid(grantee);

CREATE POLICY models_read ON pgdl.models FOR SELECT USING (pgdl.controls(owner)
    OR EXISTS (SELECT 1 FROM pgdl.model_access a
               WHERE (a.owner, a.model) = (models.owner, models.model)
               AND pgdl.shared_with_me(a.owner, a.grantee)));
CREATE POLICY access_read ON pgdl.model_access FOR SELECT
    USING (pgdl.controls(owner) OR pgdl.shared_with_me(owner, grantee));
CREATE POLICY training_jobs_read ON pgdl.training_jobs FOR SELECT
    USING (pgdl.acts_as(owner) OR pgdl.controls(owner));

-- Makes owner's anchor match pgdl's tables: there while owner has models,
-- with USAGE for exactly the roles they are shared with.
CREATE FUNCTION pgdl_internal.sync_anchor(owner name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    anchor oid := pgdl_internal.anchor(owner);
    grantee_name name;
    shared_with_all bool;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pgdl.models m WHERE m.owner = sync_anchor.owner) THEN
        IF anchor IS NOT NULL THEN
            EXECUTE format('DROP SEQUENCE pgdl_model_owners.%I', owner);
        END IF;
        RETURN;
    END IF;
    IF anchor IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = owner) THEN
            RETURN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgdl_model_owners') THEN
            CREATE SCHEMA pgdl_model_owners;
            COMMENT ON SCHEMA pgdl_model_owners IS
                'pgdl: one sequence per role that owns models, named after the role and owned '
                'by whoever controls those models; roles they are shared with have USAGE on it';
        END IF;
        EXECUTE format('CREATE SEQUENCE pgdl_model_owners.%I', owner);
        EXECUTE format('ALTER SEQUENCE pgdl_model_owners.%I OWNER TO %I', owner, owner);
        EXECUTE format('COMMENT ON SEQUENCE pgdl_model_owners.%I IS %L', owner,
                       format('the pgdl models of role %s: drop them (pgdl.drop_model, DROP '
                              'OWNED) or hand them over (REASSIGN OWNED) before DROP ROLE', owner));
        anchor := pgdl_internal.anchor(owner);
    END IF;
    FOR grantee_name IN SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'public'
                                     ELSE quote_ident(pg_get_userbyid(a.grantee)) END
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = anchor AND a.grantee <> c.relowner LOOP
        EXECUTE format('REVOKE ALL ON SEQUENCE pgdl_model_owners.%I FROM %s', owner, grantee_name);
    END LOOP;
    FOR grantee_name IN SELECT DISTINCT a.grantee FROM pgdl.model_access a
                JOIN pg_roles r ON r.rolname = a.grantee
                WHERE a.owner = sync_anchor.owner LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE pgdl_model_owners.%I TO %I', owner, grantee_name);
    END LOOP;
    SELECT EXISTS (SELECT 1 FROM pgdl.model_access a
                   WHERE a.owner = sync_anchor.owner AND a.grantee IS NULL)
        INTO shared_with_all;
    IF shared_with_all THEN
        EXECUTE format('GRANT USAGE ON SEQUENCE pgdl_model_owners.%I TO PUBLIC', owner);
    END IF;
END $$;

-- Grants written into pgdl.model_access give USAGE on the anchor at once:
-- a restore loads them before it replays the anchors' ACLs, which stop at
-- the first role the cluster lacks, so those that exist keep their access.
-- Nothing is revoked or dropped here (the models may not be loaded yet).
CREATE FUNCTION pgdl_internal.grant_anchor_usage() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT DISTINCT n.owner, n.grantee FROM new_rows n
             WHERE pgdl_internal.anchor(n.owner) IS NOT NULL
               AND (n.grantee IS NULL
                    OR EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = n.grantee)) LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE pgdl_model_owners.%I TO %s', r.owner,
                       CASE WHEN r.grantee IS NULL THEN 'PUBLIC'
                            ELSE quote_ident(r.grantee) END);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER access_grants_usage AFTER INSERT ON pgdl.model_access
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION pgdl_internal.grant_anchor_usage();

-- An anchor dropped (DROP OWNED, or by hand) takes the models named under
-- its role along; a role that lost its USAGE loses its grants.
CREATE OR REPLACE FUNCTION pgdl_internal.forget_packed() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owners name[];
BEGIN
    DELETE FROM pgdl.packed WHERE output::oid IN (
        SELECT objid FROM pg_event_trigger_dropped_objects()
        WHERE classid = 'pg_class'::regclass AND objsubid = 0);
    SELECT array_agg(d.object_name) INTO owners FROM pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_class'::regclass AND d.schema_name = 'pgdl_model_owners'
      AND d.object_type = 'sequence';
    IF owners IS NOT NULL THEN
        DELETE FROM pgdl.model_access WHERE owner = ANY (owners);
        DELETE FROM pgdl.model_weights WHERE owner = ANY (owners);
        DELETE FROM pgdl.model_onnx WHERE owner = ANY (owners);
        DELETE FROM pgdl.training_history WHERE owner = ANY (owners);
        DELETE FROM pgdl.models WHERE owner = ANY (owners);
    END IF;
END $$;

CREATE FUNCTION pgdl_internal.forget_grants() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM pgdl.model_access a WHERE a.grantee IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_roles r WHERE r.rolname = a.grantee
        AND has_sequence_privilege(r.oid, pgdl_internal.anchor(a.owner), 'USAGE'));
END $$;
CREATE EVENT TRIGGER pgdl_forget_grants ON ddl_command_end WHEN TAG IN ('DROP OWNED')
    EXECUTE FUNCTION pgdl_internal.forget_grants();

DO $$
DECLARE o name;
BEGIN
    FOR o IN SELECT DISTINCT owner FROM pgdl.models LOOP
        PERFORM pgdl_internal.sync_anchor(o);
    END LOOP;
    -- made while updating the extension, they joined it: they must not
    FOR o IN SELECT c.relname FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'pgdl_model_owners' LOOP
        EXECUTE pg_catalog.format('ALTER EXTENSION pgdl DROP SEQUENCE pgdl_model_owners.%I', o);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgdl_model_owners') THEN
        ALTER EXTENSION pgdl DROP SCHEMA pgdl_model_owners;
    END IF;
END $$;

------------------------------------------------------------------------------
-- Dependencies: a packed table depends on the extension (DROP EXTENSION
-- refuses, or with CASCADE drops it), recorded as its summary is written,
-- by preprocess or by a restore.
------------------------------------------------------------------------------

CREATE FUNCTION pgdl_internal.pin_packed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgdl_pin_packed' LANGUAGE C;
CREATE TRIGGER packed_depends_on_pgdl AFTER INSERT OR UPDATE OF output ON pgdl.packed
    FOR EACH ROW EXECUTE FUNCTION pgdl_internal.pin_packed();
UPDATE pgdl.packed SET output = output;

-- pgdl.drop_model refuses while predictions tables score the model, unless
-- told to drop them too.
DROP FUNCTION pgdl.drop_model(text, int4);
DROP FUNCTION pgdl_internal._drop_model(text, int4);
CREATE FUNCTION pgdl_internal._drop_model(model text, version int4, "cascade" bool)
RETURNS int4 LANGUAGE plpython3u AS $$
return GD["pgdl"].drop_model(model, version, cascade)
$$;
CREATE FUNCTION pgdl.drop_model(model text, version int4 DEFAULT NULL,
                                "cascade" bool DEFAULT false) RETURNS int4
    AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.drop_model(text, int4, bool) IS
    'drops a version of your model (NULL: every version, and its sharing); returns how many '
    'versions went.  It refuses while predictions tables need what it drops, unless cascade';

------------------------------------------------------------------------------
-- Planning: what a parallel participant costs, and the columns a wrapper
-- looks rows up by (parameterized paths for joins; fdw/plan.c)
------------------------------------------------------------------------------

DROP FUNCTION pgdl_internal._fdw_plan(text, pgdl.datum[], text[]);
CREATE FUNCTION pgdl_internal._fdw_plan(tabledef text, quals pgdl.datum[], columns text[],
    OUT rows float8, OUT width int4, OUT segments int4, OUT parallel_safe bool,
    OUT has_source bool, OUT exchange_bytes int8, OUT state text, OUT columnar bool,
    OUT participant_cost float8, OUT path_keys text)
LANGUAGE plpython3u AS $$
return GD["pgdl"].plan(tabledef, quals, columns)
$$;

-- A predictions table can come with a view over it, for the BI tools that
-- list tables and views but not foreign tables.
DROP FUNCTION pgdl.create_predictions_table(text, text, text, text, int4, text[], int4, text,
    text, int4, int4);
DROP FUNCTION pgdl_internal._create_predictions_table(text, text, text, text, int4, text[],
    int4, text, text, int4, int4);
CREATE FUNCTION pgdl_internal._create_predictions_table(name text, model text, source text,
    key text, version int4, pass_through text[], segments int4, features text, on_error text,
    top_k int4, batch_size int4, "view" text)
RETURNS regclass LANGUAGE plpython3u AS $$
return GD["pgdl"].create_predictions_table(name, model, source, key, version, pass_through,
                                           segments, features, on_error, top_k, batch_size,
                                           view)
$$;
CREATE FUNCTION pgdl.create_predictions_table(name text, model text, source text,
    key text DEFAULT NULL, version int4 DEFAULT NULL, pass_through text[] DEFAULT NULL,
    segments int4 DEFAULT NULL, features text DEFAULT NULL, on_error text DEFAULT NULL,
    top_k int4 DEFAULT NULL, batch_size int4 DEFAULT NULL, "view" text DEFAULT NULL)
RETURNS regclass AS 'MODULE_PATHNAME', 'pgdl_trampoline' LANGUAGE C;
COMMENT ON FUNCTION pgdl.create_predictions_table(text, text, text, text, int4, text[], int4,
    text, text, int4, int4, text) IS
    'creates foreign table name: predictions of model (version: default latest) on table '
    'source, with the key, class, probability, probabilities, top_classes, top_probabilities, '
    'value and version columns typed for the model, and the pass_through source columns; '
    'view: also a view of that name over it, which BI tools list as they list tables';

-- EXPLAIN learns how many processes run the scan, so it can say what each does.
DROP FUNCTION pgdl_internal._fdw_explain(text, pgdl.datum[], text[], bool, text);
CREATE FUNCTION pgdl_internal._fdw_explain(tabledef text, quals pgdl.datum[], columns text[],
    verbose bool, state text, participants int4) RETURNS text[]
LANGUAGE plpython3u AS $$
return GD["pgdl"].explain(tabledef, quals, columns, verbose, state, participants)
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgdl_internal FROM PUBLIC;
