"""SELECT from predictions foreign tables: ONNX Runtime scoring next to the data."""

import numpy as np
import psycopg
import pytest

from helpers import architecture, images, logistic_onnx, train
from pgdl_tools.client import stored_model
from pgdl.engine.keras_loader import keras


@pytest.fixture
def scored(digits):
    """digits with a trained model d (version 1) and a predictions table over
    digits_test that passes the label through."""
    train(digits, "d", "dense", "digits_packed", iterations=1, segments=1)
    digits.execute("SELECT pgdl.create_predictions_table('digit_predictions', 'd', "
                   "'digits_test', pass_through => '{label}')")
    digits.commit()
    return digits


def rows(db, sql, *args):
    return db.execute(sql, args).fetchall()


def explain(db, sql):
    return "\n".join(line for line, in db.execute("EXPLAIN (VERBOSE) " + sql))


def test_predictions_match_keras_within_1e_5(scored):
    got = rows(scored, "SELECT id, class, probability, probabilities, top_classes, "
                       "top_probabilities, label, version FROM digit_predictions ORDER BY id")
    x, y = images(scored, "digits_test", [8, 8, 1])
    expected = stored_model(scored, "d", 1).predict(x / 16, verbose=0)
    assert len(got) == len(y) == 449
    np.testing.assert_allclose(np.array([r[3] for r in got]), expected, atol=1e-5)
    assert [r[1] for r in got] == expected.argmax(axis=1).tolist()      # integer class values
    np.testing.assert_allclose([r[2] for r in got], expected.max(axis=1), atol=1e-5)
    assert [r[4][0] for r in got] == [r[1] for r in got] and all(len(r[4]) == 3 for r in got)
    assert all(r[5] == sorted(r[5], reverse=True) for r in got)
    assert [r[6] for r in got] == y.tolist() and {r[7] for r in got} == {1}
    columns = rows(scored, "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = 'digit_predictions'::regclass AND attnum > 0 "
                           "ORDER BY attnum")
    assert columns == [("id", "integer"), ("version", "integer"), ("class", "integer"),
                       ("probability", "double precision"),
                       ("probabilities", "double precision[]"), ("top_classes", "integer[]"),
                       ("top_probabilities", "double precision[]"), ("label", "integer")]


def test_two_segments_score_disjoint_shares_whose_union_is_the_serial_result(scored):
    scored.execute("SET parallel_setup_cost = 0")      # 449 rows would not pay for a worker
    scored.execute("SELECT pgdl.create_predictions_table('split', 'd', 'digits_test', "
                   "segments => 2)")
    serial = rows(scored, "SELECT id, class, probability FROM digit_predictions ORDER BY id")
    plan = "\n".join(line for line, in scored.execute(
        "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, class, probability FROM split"))
    assert "Workers Launched: 1" in plan and "Segments: 2" in plan
    parallel = rows(scored, "SELECT id, class, probability FROM split ORDER BY id")
    assert len(parallel) == len(serial) and len({r[0] for r in parallel}) == len(serial)
    assert [r[:2] for r in parallel] == [r[:2] for r in serial]
    np.testing.assert_allclose([r[2] for r in parallel], [r[2] for r in serial], atol=1e-6)


def test_segments_of_a_view_split_by_a_hash_of_the_key(scored):
    scored.execute("SET parallel_setup_cost = 0")
    scored.execute("CREATE VIEW odd_digits AS SELECT * FROM digits_test WHERE id % 2 = 1")
    scored.execute("SELECT pgdl.create_predictions_table('odd', 'd', 'odd_digits', key => 'id', "
                   "segments => 2)")
    plan = "\n".join(line for line, in scored.execute(
        "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, class FROM odd"))
    assert "Workers Launched: 1" in plan
    parallel = rows(scored, "SELECT id, class FROM odd ORDER BY id")
    serial = rows(scored, "SELECT id, class FROM digit_predictions WHERE id %% 2 = 1 "
                          "ORDER BY id")
    assert parallel == serial and len(serial) > 200


def test_key_quals_become_the_source_where_and_score_only_those_rows(scored):
    scored.execute(r"INSERT INTO digits_test VALUES (100000, '\x00', 0)")    # cannot be scored
    plan = explain(scored, "SELECT id, class FROM digit_predictions WHERE id IN (3, 42)")
    assert """Pushed Down: id = ANY (ARRAY['3', '42']::integer[])""" in plan
    assert "Source Query: SELECT 1, id, image" in plan
    assert "Execution Provider: CPUExecutionProvider" in plan
    assert [r[0] for r in rows(scored, "SELECT id FROM digit_predictions WHERE id IN (3, 42) "
                                       "ORDER BY id")] == [3, 42]
    plan = explain(scored, "SELECT id FROM digit_predictions WHERE id >= 10 AND id < 20")
    assert """Pushed Down: id >= '10'::integer AND id < '20'::integer""" in plan
    assert len(rows(scored, "SELECT id FROM digit_predictions WHERE id >= 10 AND id < 20")) \
        == scored.execute("SELECT count(*) FROM digits_test WHERE id >= 10 AND id < 20"
                          ).fetchone()[0]
    # quals on predicted columns are PostgreSQL's to check
    assert "Pushed Down: (none)" in explain(scored, "SELECT id FROM digit_predictions "
                                                    "WHERE probability > 0.5")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        rows(scored, "SELECT id FROM digit_predictions WHERE id = 100000")
    assert "at id = 100000" in caught.value.diag.message_primary


def test_a_limit_stops_scoring_early(scored):
    scored.execute(r"INSERT INTO digits_test VALUES (100000, '\x00', 0)")    # last in the table
    assert len(rows(scored, "SELECT id, class FROM digit_predictions LIMIT 5")) == 5
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        rows(scored, "SELECT id, class FROM digit_predictions")


def test_the_generic_table_takes_model_and_source_from_where(scored):
    own = rows(scored, "SELECT id::text, class::text, probability FROM digit_predictions "
                       "ORDER BY id")
    generic = rows(scored, "SELECT key, class, probability, model, source, version "
                           "FROM pgdl.predictions WHERE model = 'd' AND source = 'digits_test'")
    assert sorted(r[:3] for r in generic) == sorted(own)
    assert {r[3:] for r in generic} == {("d", "digits_test", 1)}
    assert rows(scored, "SELECT key, class FROM pgdl.predictions WHERE model = 'd' AND "
                        "source = 'digits_test' AND version = 1 AND key = '42'") \
        == [r[:2] for r in own if r[0] == "42"]
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        rows(scored, "SELECT * FROM pgdl.predictions WHERE model = 'd'")
    assert "needs WHERE model = '...' AND source = '...'" in caught.value.diag.message_primary


def test_one_session_per_backend_per_version_is_reused(scored):
    assert "ONNX Session: built for version 1 at the first batch" in explain(
        scored, "SELECT class FROM digit_predictions")
    rows(scored, "SELECT class FROM digit_predictions")
    assert "ONNX Session: reused, version 1" in explain(scored, "SELECT class FROM "
                                                                "digit_predictions")


def test_the_previous_version_serves_after_a_failed_training(scored):
    blowup = {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 99999999.5}},
              "loss": "categorical_crossentropy"}
    with pytest.raises(psycopg.errors.FloatingPointException):
        train(scored, "d", "dense", "digits_packed", iterations=1, compile_params=blowup)
    scored.rollback()
    assert {r[0] for r in rows(scored, "SELECT version FROM digit_predictions")} == {1}
    train(scored, "d", "dense", "digits_packed", iterations=1, segments=1)
    assert {r[0] for r in rows(scored, "SELECT version FROM digit_predictions")} == {2}


def test_evaluate_reports_what_keras_evaluate_does(scored):
    result = rows(scored, "SELECT metric, value, actual, predicted FROM "
                          "pgdl.evaluate('d', 'digits_test')")
    metrics = {m: v for m, v, _, _ in result if m != "confusion"}
    x, y = images(scored, "digits_test", [8, 8, 1])
    net = stored_model(scored, "d", 1)
    net.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    expected = net.evaluate(x / 16, np.eye(10)[y], verbose=0, return_dict=True)
    assert metrics["loss"] == pytest.approx(expected["loss"], rel=1e-4)
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    confusion = [(int(a), int(p), v) for m, v, a, p in result if m == "confusion"]
    assert len(confusion) == 100 and sum(v for _, _, v in confusion) == len(y)
    assert sum(v for a, p, v in confusion if a == p) / len(y) == pytest.approx(
        metrics["accuracy"])


@pytest.fixture
def points(db):
    """Tabular rows: x, y, a text class (above the line y = x / 2 or below) and a target."""
    rng = np.random.default_rng(5)
    db.execute("CREATE TABLE points (id int PRIMARY KEY, x float8, y float8, label text, "
               "target float8, note text)")
    with db.cursor().copy("COPY points FROM STDIN") as copy:
        for i, (x, y) in enumerate(rng.uniform(-1.5, 1.5, (800, 2))):
            copy.write_row((i, x, y, "above" if y > x / 2 else "below",
                            x + 2 * y, "row %d" % i))
    db.execute("SELECT * FROM pgdl.preprocess('points', 'points_packed', 'x, y', 'label', "
               "normalization => 'standard', segments => 1)")
    db.execute("SELECT * FROM pgdl.preprocess('points', 'points_target', 'x, y', 'target', "
               "segments => 1)")
    k = keras()
    architecture(db, "mlp", [k.layers.Dense(16, activation="relu"),
                             k.layers.Dense(2, activation="softmax")], (2,))
    architecture(db, "linear", [k.layers.Dense(1)], (2,))
    db.commit()
    return db


def test_text_classes_and_regression_on_tabular_rows(points):
    train(points, "side", "mlp", "points_packed", iterations=3, segments=1,
          fit_params={"batch_size": 16, "epochs": 3})
    train(points, "sum", "linear", "points_target", iterations=3, segments=1,
          compile_params={"optimizer": {"class_name": "Adam",
                                        "config": {"learning_rate": 0.1}}, "loss": "mse"},
          fit_params={"batch_size": 16, "epochs": 5})
    points.execute("SELECT pgdl.create_predictions_table('side_predictions', 'side', "
                   "'points', pass_through => '{label, note}', segments => 2)")
    points.execute("SELECT pgdl.create_predictions_table('sum_predictions', 'sum', 'points', "
                   "pass_through => '{target}')")
    got = rows(points, "SELECT class, label, note FROM side_predictions ORDER BY id")
    assert {r[0] for r in got} <= {"above", "below"} and got[7][2] == "row 7"
    assert np.mean([r[0] == r[1] for r in got]) > 0.9
    assert rows(points, "SELECT id, note FROM side_predictions WHERE note = 'row 9'") \
        == [(9, "row 9")]
    assert """Pushed Down: note = 'row 9'::text""" in explain(
        points, "SELECT id FROM side_predictions WHERE note = 'row 9'")
    errors = [abs(value - target) for value, target in
              rows(points, "SELECT value, target FROM sum_predictions")]
    assert np.mean(errors) < 0.2
    assert [c for c, in rows(points, "SELECT attname FROM pg_attribute WHERE attrelid = "
                                     "'sum_predictions'::regclass AND attnum > 0")] \
        == ["id", "version", "value", "target"]
    evaluated = dict((m, v) for m, v, _, _ in rows(points, "SELECT * FROM "
                                                           "pgdl.evaluate('sum', 'points')"))
    assert set(evaluated) == {"loss"} and evaluated["loss"] < 0.1


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_an_imported_onnx_model_scores_and_evaluates(points):
    weights, bias = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]]), np.array([0.1, 0.0, -0.1])
    version, = points.execute(
        "SELECT pgdl.import_onnx('logistic', %s, class_values => '{a,b,c}', "
        "features => '{x,y}', normalizing_const => 2)",
        (logistic_onnx(weights, bias),)).fetchone()
    assert version == 1
    assert rows(points, "SELECT origin, task, class_type, feature_shape, parameters FROM "
                        "pgdl.models WHERE model = 'logistic'") \
        == [("import", "classification", "text", [2], 9)]
    points.execute("SELECT pgdl.create_predictions_table('imported', 'logistic', 'points')")
    got = rows(points, "SELECT id, class, probabilities FROM imported ORDER BY id")
    xy = np.array(rows(points, "SELECT x, y FROM points ORDER BY id"))
    expected = softmax((xy / 2) @ weights + bias)
    np.testing.assert_allclose([r[2] for r in got], expected, atol=1e-5)
    assert [r[1] for r in got] == ["abc"[i] for i in expected.argmax(axis=1)]
    # logits, with softmax applied by pgdl: the same probabilities
    points.execute("SELECT pgdl.import_onnx('logistic', %s, class_values => '{a,b,c}', "
                   "features => '{x,y}', normalizing_const => 2, softmax => true)",
                   (logistic_onnx(weights, bias, softmax=False),))
    again = rows(points, "SELECT probabilities, version FROM imported ORDER BY id")
    np.testing.assert_allclose([r[0] for r in again], expected, atol=1e-5)
    assert {r[1] for r in again} == {2}
    points.execute("UPDATE points SET label = (ARRAY['a','b','c'])[1 + id % 3]")
    evaluated = {m: v for m, v, _, _ in rows(points, "SELECT * FROM pgdl.evaluate('logistic', "
                                                     "'points', label => 'label')")
                 if m != "confusion"}
    truth = np.arange(len(xy)) % 3
    assert evaluated["accuracy"] == pytest.approx(np.mean(expected.argmax(axis=1) == truth))
    assert evaluated["loss"] == pytest.approx(
        -np.mean(np.log(expected[np.arange(len(xy)), truth])), rel=1e-4)


BAD_IMPORTS = [
    (b"not an onnx model", {}, "the ONNX model does not load"),
    (None, {"class_values": "{a,b}"}, "2 class values for a model with 3 outputs"),
    (None, {}, "the model has 3 outputs: give its class_values"),
    (None, {"class_values": "{a,b,c}", "input_shape": "{3}"},
     "input_shape [3] does not fit the ONNX input x"),
]


@pytest.mark.parametrize("data, arguments, message", BAD_IMPORTS,
                         ids=[m for _, _, m in BAD_IMPORTS])
def test_a_bad_import_is_an_error_and_stores_nothing(db, data, arguments, message):
    data = data or logistic_onnx(np.ones((2, 3)), np.zeros(3))
    named = "".join(", %s => %%s" % name for name in arguments)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        db.execute("SELECT pgdl.import_onnx('bad', %%s%s)" % named,
                   [data] + list(arguments.values()))
    assert caught.value.diag.message_primary.startswith(message), \
        caught.value.diag.message_primary
    db.rollback()
    assert rows(db, "SELECT count(*) FROM pgdl.models") == [(0,)]


BAD_TABLES = [
    ("'nothing', 'digits_test'", psycopg.errors.UndefinedObject,
     'model "nothing" does not exist'),
    ("'d', 'digits_test', version => 7", psycopg.errors.UndefinedObject,
     'model "d" has no version 7'),
    ("'d', 'no_such_table'", psycopg.errors.UndefinedTable,
     'table "no_such_table" does not exist'),
    ("'d', 'digits_test', pass_through => '{nope}'", psycopg.errors.UndefinedColumn,
     'column "nope" does not exist in table digits_test'),
    ("'d', 'digits_test', key => 'nope'", psycopg.errors.UndefinedColumn,
     'column "nope" does not exist in table digits_test'),
    ("'d', 'digits_test', features => 'nope'", psycopg.errors.UndefinedColumn,
     'column "nope" does not exist in table digits_test'),
]


@pytest.mark.parametrize("arguments, error, message", BAD_TABLES,
                         ids=[m for _, _, m in BAD_TABLES])
def test_unknown_model_version_table_or_column(scored, arguments, error, message):
    with pytest.raises(error) as caught:
        scored.execute("SELECT pgdl.create_predictions_table('bad', %s)" % arguments)
    assert caught.value.diag.message_primary == message


def test_a_table_defined_by_hand_is_checked_when_planned(scored):
    scored.execute("CREATE FOREIGN TABLE by_hand (id int, class int, nope text) SERVER pgdl "
                   "OPTIONS (kind 'predictions', model 'd', source 'digits_test', key 'id')")
    scored.commit()
    with pytest.raises(psycopg.errors.UndefinedColumn) as caught:
        rows(scored, "SELECT class FROM by_hand")
    assert caught.value.diag.message_primary == 'column "nope" does not exist in table ' \
        'digits_test'
    scored.rollback()
    with pytest.raises(psycopg.errors.FdwInvalidOptionName):
        scored.execute("CREATE FOREIGN TABLE half (id int) SERVER pgdl "
                       "OPTIONS (kind 'predictions', model 'd')")


def test_features_that_do_not_fit_the_model(scored):
    scored.execute("CREATE TABLE small (id int PRIMARY KEY, image bytea, a float8, b float8)")
    scored.execute(r"INSERT INTO small VALUES (1, '\x0102', 1, 2), (2, '\x0304', 3, 4)")
    scored.execute("SELECT pgdl.create_predictions_table('small_bytes', 'd', 'small')")
    scored.execute("SELECT pgdl.create_predictions_table('small_columns', 'd', 'small', "
                   "features => 'a, b')")
    scored.commit()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        rows(scored, "SELECT class FROM small_bytes")
    assert caught.value.diag.message_primary == \
        "cannot score the row of small at id = 1: its features (image) holds 2 bytes, not 64"
    scored.rollback()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        rows(scored, "SELECT class FROM small_columns")
    assert caught.value.diag.message_primary == \
        'the features of table small (a, b) hold 2 values; model "d" takes shape [8, 8, 1]'


def test_a_null_feature_is_an_error_naming_the_key_unless_asked_for_nulls(scored):
    scored.execute("ALTER TABLE digits_test ALTER image DROP NOT NULL")
    scored.execute("INSERT INTO digits_test VALUES (100001, NULL, 0)")
    scored.commit()
    with pytest.raises(psycopg.errors.NullValueNotAllowed) as caught:
        rows(scored, "SELECT class FROM digit_predictions")
    assert caught.value.diag.message_primary == \
        "cannot score the row of digits_test at id = 100001: its features (image) is NULL"
    assert "on_error 'null'" in caught.value.diag.message_hint
    scored.rollback()
    scored.execute("ALTER FOREIGN TABLE digit_predictions OPTIONS (ADD on_error 'null')")
    got = dict((i, (c, p)) for i, c, p in rows(scored, "SELECT id, class, probability "
                                                       "FROM digit_predictions"))
    assert got[100001] == (None, None) and len(got) == 450
    assert all(c is not None for i, (c, _) in got.items() if i != 100001)


def test_permissions_of_the_source_and_the_model_hold(scored, plain):
    scored.execute("GRANT SELECT ON digit_predictions TO plain")
    scored.commit()
    with pytest.raises(psycopg.errors.UndefinedObject) as caught:
        plain.execute("SELECT class FROM digit_predictions")
    assert caught.value.diag.message_primary == 'model "d" does not exist'
    assert plain.execute("SELECT count(*) FROM pgdl.model_onnx").fetchone() == (0,)
    scored.execute("SELECT pgdl.share_model('d', 'plain')")
    scored.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as direct:
        plain.execute("SELECT * FROM digits_test")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as through:
        plain.execute("SELECT class FROM digit_predictions")
    assert through.value.diag.message_primary == direct.value.diag.message_primary \
        == "permission denied for table digits_test"
    scored.execute("GRANT SELECT ON digits_test TO plain")
    scored.commit()
    assert plain.execute("SELECT count(class) FROM digit_predictions").fetchone() == (449,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        plain.execute("SELECT pgdl.share_model('d')")
    assert caught.value.diag.message_primary == 'model "d" belongs to role postgres'


@pytest.mark.parametrize("change, call, error, message", [
    (None, "'nothing', 'digits_test'", psycopg.errors.UndefinedObject,
     'model "nothing" does not exist'),
    (None, "'d', 'digits_test', label => 'nope'", psycopg.errors.UndefinedColumn,
     'column "nope" does not exist in table digits_test'),
    ("UPDATE digits_test SET label = 42 WHERE id = 3", "'d', 'digits_test'",
     psycopg.errors.InvalidParameterValue,
     'label 42 of table digits_test at id = 3 is not a class of model "d"'),
    (r"UPDATE digits_test SET image = '\x00' WHERE id = 3", "'d', 'digits_test'",
     psycopg.errors.InvalidParameterValue,
     "cannot score the row of digits_test at id = 3: its features (image) holds 1 bytes, "
     "not 64"),
])
def test_evaluate_refuses_bad_input(scored, change, call, error, message):
    if change:
        scored.execute(change)
    with pytest.raises(error) as caught:
        scored.execute("SELECT * FROM pgdl.evaluate(%s)" % call)
    assert caught.value.diag.message_primary == message


def test_explain_says_which_execution_provider_runs(scored, connect):
    fresh = connect()       # a backend with no session of the model yet
    before = explain(fresh, "SELECT class FROM digit_predictions")
    assert "Execution Provider: CPUExecutionProvider (asked for; the session says at the " \
           "first batch)" in before
    assert "ONNX Session: built for version 1 at the first batch" in before
    analyzed = "\n".join(line for line, in fresh.execute(
        "EXPLAIN (ANALYZE, COSTS off) SELECT class FROM digit_predictions"))
    # after the scan: the providers ONNX Runtime says the session runs on
    assert "Execution Provider: CPUExecutionProvider\n" in analyzed + "\n"
    assert "(asked for" not in analyzed


def test_a_null_in_numeric_feature_columns_is_an_error_or_a_null_row(points):
    """Numeric feature columns reach the scan as one buffer per column
    (scored.FeatureColumns); a NULL among them names its row."""
    weights, bias = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]]), np.array([0.1, 0.0, -0.1])
    points.execute("SELECT pgdl.import_onnx('logistic', %s, class_values => '{a,b,c}', "
                   "features => '{x,y}')", (logistic_onnx(weights, bias),))
    points.execute("SELECT pgdl.create_predictions_table('imported', 'logistic', 'points')")
    points.execute("UPDATE points SET y = NULL WHERE id = 5")
    points.commit()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        points.execute("SELECT class FROM imported").fetchall()
    assert caught.value.diag.message_primary == \
        "cannot score the row of points at id = 5: its features (x, y) has a NULL element"
    points.rollback()
    points.execute("ALTER FOREIGN TABLE imported OPTIONS (ADD on_error 'null')")
    got = dict(rows(points, "SELECT id, probability FROM imported"))
    assert got[5] is None and len(got) == 800
    x, y = points.execute("SELECT x, y FROM points WHERE id = 6").fetchone()
    expected = softmax(np.array([[x, y]]) @ weights + bias).max()
    assert abs(got[6] - expected) < 1e-5
