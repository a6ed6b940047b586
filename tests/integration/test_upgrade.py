"""ALTER EXTENSION pgdl UPDATE: a 0.1.0 database with a trained model, its
sharing, packed data and a predictions table keeps working on every later
version."""

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from helpers import train
from pgdl_tools.client import stored_model

COPIED = {
    "models": "model, version, origin, architecture, keras_json, source, validation_source, "
              "compile_params, fit_params, method, segments, iterations, seed, "
              "warm_start_version, task, class_values, class_type, feature_shape, features, "
              "feature_kind, label, key, normalization, normalizing_const, feature_mean, "
              "feature_std, apply_softmax, metrics, validation_metrics, parameters, "
              "training_seconds, owner, created",
    "model_weights": "model, version, tensor, chunk, name, shape, data",
    "model_onnx": "model, version, chunk, data",
    "training_history": "model, version, iteration, segment, rows, loss, metrics, "
                        "validation_loss, validation_metrics, seconds",
}


@pytest.fixture
def old_database(digits, cluster, connect):
    """A database made with pgdl 0.1.0, holding model d (trained here, its
    rows as 0.1.0 stored them), shared with plain, and a predictions table."""
    train(digits, "d", "dense", "digits_packed", iterations=1, segments=1)
    digits.commit()
    admin = connect()
    admin.execute("DROP DATABASE IF EXISTS pgdl_old")
    admin.execute("CREATE DATABASE pgdl_old")
    admin.execute("DO $$ BEGIN CREATE ROLE plain LOGIN; "
                  "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    old = psycopg.connect(host=cluster.host, port=cluster.port, user="postgres",
                          dbname="pgdl_old", autocommit=True)
    try:
        old.execute("CREATE EXTENSION pgdl VERSION '0.1.0' CASCADE")
        old.execute("CREATE TABLE digits_test (id int4 PRIMARY KEY, image bytea, label int4)")
        for row in digits.execute("SELECT id, image, label FROM digits_test ORDER BY id"):
            old.execute("INSERT INTO digits_test VALUES (%s, %s, %s)", row)
        for table, columns in COPIED.items():
            for row in digits.execute("SELECT %s FROM pgdl.%s" % (columns, table)):
                row = [Jsonb(v) if isinstance(v, dict) else v for v in row]
                old.execute("INSERT INTO pgdl.%s (%s) VALUES (%s)"
                            % (table, columns, ", ".join(["%s"] * len(row))), row)
        old.execute("INSERT INTO pgdl.model_access (model, grantee) VALUES ('d', 'plain')")
        old.execute("CREATE TABLE gone (x int)")
        old.execute("INSERT INTO pgdl.packed (output, source, features, feature_kind, "
                    "feature_shape, label, task, normalization, buffer_size, segments, "
                    "rows_per_segment, buffers_per_segment, total_rows) VALUES ('gone', 'x', "
                    "'{x}', 'float8', '{1}', 'y', 'regression', 'none', 1, 1, '{1}', '{1}', 1)")
        old.execute("DROP TABLE gone")
        old.execute("CREATE FOREIGN TABLE d_predictions (id int4, version int4, class int4, "
                    "probabilities float8[]) SERVER pgdl OPTIONS (kind 'predictions', "
                    "model 'd', source 'digits_test', key 'id')")
        old.execute("GRANT SELECT ON d_predictions, digits_test TO plain")
        yield old
    finally:
        old.close()
        admin.execute("DROP DATABASE pgdl_old")


def test_an_upgraded_database_keeps_its_models_and_predictions(old_database, digits, cluster):
    old = old_database
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.2.0'")
    assert old.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgdl'"
                       ).fetchone() == ("0.2.0",)
    got = old.execute("SELECT id, class, probabilities, version FROM d_predictions ORDER BY id"
                      ).fetchall()
    expected = np.array([r[0] for r in digits.execute(
        "SELECT probabilities FROM pgdl.predictions WHERE model = 'd' "
        "AND source = 'digits_test' ORDER BY key::int")])
    net = stored_model(digits, "d", 1)
    assert len(got) == 449 and {r[3] for r in got} == {1}
    np.testing.assert_allclose([r[2] for r in got], expected, atol=1e-6)
    assert [r[1] for r in got] == expected.argmax(axis=1).tolist()
    assert len(net.get_weights()) == old.execute(
        "SELECT count(*) FROM pgdl.model_weights WHERE owner = 'postgres' AND model = 'd'"
    ).fetchone()[0]
    assert old.execute("SELECT count(*) FROM pgdl.training_history WHERE owner = 'postgres'"
                       ).fetchone()[0] >= 2
    # the source is pinned, the stale summary gone, the share kept
    options = old.execute("SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = "
                          "'d_predictions'::regclass").fetchone()[0]
    assert "source=public.digits_test" in options
    assert old.execute("SELECT count(*) FROM pgdl.packed").fetchone() == (0,)
    with psycopg.connect(host=cluster.host, port=cluster.port, user="plain",
                         dbname="pgdl_old") as plain:
        assert plain.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
        assert plain.execute("SELECT owner, model FROM pgdl.models").fetchall() == \
            [("postgres", "d")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            plain.execute("INSERT INTO pgdl.model_access (model, grantee) VALUES ('d', NULL)")

    # 0.3.0: the owner's anchor and the grantee's USAGE on it, sharing by role name
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.3.0'")
    assert old.execute("SELECT c.relname, pg_get_userbyid(c.relowner), "
                       "has_sequence_privilege('plain', c.oid, 'USAGE') FROM pg_class c "
                       "WHERE c.relnamespace = 'pgdl_model_owners'::regnamespace"
                       ).fetchall() == [("postgres", "postgres", True)]
    assert old.execute("SELECT model, grantee FROM pgdl.model_access").fetchall() == \
        [("d", "plain")]
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        old.execute("DROP ROLE plain")
    with psycopg.connect(host=cluster.host, port=cluster.port, user="plain",
                         dbname="pgdl_old") as plain:
        assert plain.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
        assert plain.execute("SELECT count(*) FROM d_predictions p JOIN digits_test s "
                             "USING (id) WHERE s.id < 50").fetchone()[0] > 0

    # 0.4.0: packed tables say where their segments live (nowhere: one node);
    # the model, its predictions and packing keep working
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.4.0'")
    old.execute("SELECT * FROM pgdl.preprocess('digits_test', 'test_packed', 'image', 'label', "
                "normalizing_const => 16, segments => 1)")
    assert old.execute("SELECT segment_ids, segment_nodes, total_rows FROM pgdl.packed "
                       "WHERE output = 'test_packed'::regclass").fetchall() == [(None, None, 449)]
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        old.execute("SET ROLE plain; SELECT pgdl_internal.segment_task(0, 0, 'end', '')")
    old.execute("RESET ROLE")

    # 0.5.0: model selection; the model and its predictions keep working, and
    # a selection job adds versions next to the trained one
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.5.0'")
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
    assert old.execute("SELECT origin, search, config FROM pgdl.models WHERE model = 'd'"
                       ).fetchall() == [("training", None, None)]
    old.execute("INSERT INTO pgdl.architectures (name, keras_json) "
                "SELECT architecture, keras_json FROM pgdl.models WHERE model = 'd'")
    old.execute("SELECT * FROM pgdl.preprocess('digits_test', 'small_packed', 'image', 'label', "
                "normalizing_const => 16, feature_shape => '{8,8,1}', segments => 2, "
                "buffer_size => 100)")
    configs = old.execute("SELECT config FROM pgdl.generate_model_configs('up', "
                          "ARRAY[(SELECT architecture FROM pgdl.models WHERE model = 'd')], "
                          "'{\"loss\": \"categorical_crossentropy\", \"optimizer\": "
                          "{\"choice\": [\"adam\", \"sgd\"]}}')").fetchall()
    assert configs == [(1,), (2,)]
    # the code installed keeps selection jobs apart from their transaction,
    # which needs the objects of 0.6.0
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="needs pgdl 0.6.0"):
        old.execute("INSERT INTO pgdl.model_selection (model, search, source, segments) "
                    "VALUES ('d', 'up', 'small_packed', 2)")
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.6.0'")
    job = old.execute("INSERT INTO pgdl.model_selection (model, search, source, segments) "
                      "VALUES ('d', 'up', 'small_packed', 2) RETURNING schedule, best_version"
                      ).fetchone()
    assert job[0] == "hopper" and job[1] in (2, 3)
    assert old.execute("SELECT version, origin FROM pgdl.models WHERE model = 'd' "
                       "ORDER BY version").fetchall() == [
        (1, "training"), (2, "selection"), (3, "selection")]
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)

    # 0.6.0: a model per group, next to the models trained before
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
    old.execute("CREATE TABLE halves AS SELECT *, id % 2 AS half FROM digits_test")
    old.execute("ALTER TABLE halves ADD PRIMARY KEY (id)")
    assert old.execute("SELECT group_values FROM pgdl.preprocess('halves', 'halves_packed', "
                       "'image', 'label', normalizing_const => 16, feature_shape => '{8,8,1}', "
                       "segments => 2, class_values => ARRAY(SELECT generate_series(0, 9)::text), "
                       "group_by => 'half')").fetchone() == (["0", "1"],)
    assert old.execute("INSERT INTO pgdl.model_training (model, architecture, source, "
                       "compile_params) SELECT 'halves', architecture, 'halves_packed', "
                       "compile_params FROM pgdl.models WHERE model = 'd' AND version = 1 "
                       "RETURNING groups").fetchone() == (2,)
    old.execute("SELECT pgdl.create_predictions_table('halves_predicted', 'halves', 'halves')")
    assert old.execute("SELECT count(class), count(DISTINCT version) FROM halves_predicted"
                       ).fetchone() == (449, 2)
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)

    # 0.7.0: multicorn2's writable API.  At 0.6.0 the code installed reads and
    # inserts through a wrapper class as before, and asks for the update to write
    old.execute("""CREATE SERVER journal FOREIGN DATA WRAPPER pgdl_fdw
                   OPTIONS (wrapper 'writable_style.JournalFDW');
                   CREATE FOREIGN TABLE people (id int4, name text) SERVER journal
                   OPTIONS (store 'upgrade')""")
    old.execute("INSERT INTO people VALUES (1, 'one'), (2, 'two')")
    with pytest.raises(psycopg.errors.UndefinedFunction, match="_fdw_write of pgdl is missing"):
        old.execute("UPDATE people SET name = 'deux' WHERE id = 2")
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.7.0'")
    old.execute("UPDATE people SET name = 'deux' WHERE id = 2")
    old.execute("DELETE FROM people WHERE id = 1")
    assert old.execute("SELECT id, name FROM people").fetchall() == [(2, "deux")]
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
    assert old.execute("SELECT count(class), count(DISTINCT version) FROM halves_predicted"
                       ).fetchone() == (449, 2)

    # 0.8.0: every server names what serves it.  A server of pgdl's kinds made
    # before (as 0.7.0 made it, without wrapper) still serves; the update names
    # 'pgdl' on it, so that it can be altered (and dumped and restored) again
    old.execute("""CREATE SERVER split FOREIGN DATA WRAPPER pgdl_fdw
                   OPTIONS (wrapper 'pgdl', segments '2');
                   UPDATE pg_foreign_server SET srvoptions = '{segments=2}'
                   WHERE srvname = 'split';
                   CREATE FOREIGN TABLE counted (value int8, segment int4) SERVER split
                   OPTIONS (kind 'series', start '1', stop '4')""")
    assert old.execute("SELECT segment, sum(value) FROM counted GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [(0, 3), (1, 7)]
    with pytest.raises(psycopg.errors.FdwDynamicParameterValueNeeded,
                       match="The wrapper parameter is mandatory"):
        old.execute("ALTER SERVER split OPTIONS (SET segments '1')")
    old.execute("ALTER EXTENSION pgdl UPDATE TO '0.8.0'")
    assert old.execute("SELECT srvname, srvoptions FROM pg_foreign_server ORDER BY 1"
                       ).fetchall() == [
        ("journal", ["wrapper=writable_style.JournalFDW"]), ("pgdl", ["wrapper=pgdl"]),
        ("split", ["segments=2", "wrapper=pgdl"])]
    old.execute("ALTER SERVER split OPTIONS (SET segments '1')")
    assert old.execute("SELECT segment, sum(value) FROM counted GROUP BY 1").fetchall() == [
        (0, 10)]
    assert old.execute("SELECT id, name FROM people").fetchall() == [(2, "deux")]
    assert old.execute("SELECT count(class) FROM d_predictions").fetchone() == (449,)
    assert old.execute("SELECT count(class), count(DISTINCT version) FROM halves_predicted"
                       ).fetchone() == (449, 2)
    old.execute("SELECT pgdl.drop_model('halves', cascade => true)")
    old.execute("SELECT pgdl.drop_model('d', 3)")
    old.execute("SELECT pgdl.drop_model('d', 2)")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        old.execute("SELECT pgdl.drop_model('d', 1)")
    old.execute("SELECT pgdl.drop_model('d', 1, cascade => true)")
    assert old.execute("SELECT count(*) FROM pgdl.model_onnx").fetchone() == (0,)
    assert old.execute("SELECT to_regclass('d_predictions')").fetchone() == (None,)
    assert old.execute("SELECT count(*) FROM pg_class "
                       "WHERE relnamespace = 'pgdl_model_owners'::regnamespace").fetchone() == (0,)
