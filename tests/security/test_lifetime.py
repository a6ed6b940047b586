"""Concurrent jobs each get their own version, dropped versions stop serving,
and the summary of a dropped packed table goes with it."""

import json
import threading

import psycopg
import pytest

from helpers import COMPILE, import_digit_model
from pgdl.engine.keras_loader import keras

JOB = ("INSERT INTO pgdl.model_training (model, architecture, source, compile_params, "
       "fit_params, iterations, segments, seed) VALUES ('same', 'tiny', 'digits_packed', %s, "
       "'{\"batch_size\": 64, \"epochs\": 1}', 1, 1, 1) RETURNING version")


@pytest.fixture
def packed(alice_digits):
    alice, bob = alice_digits
    alice.execute("SELECT * FROM pgdl.preprocess('digits_train', 'digits_packed', 'image', "
                  "'label', normalizing_const => 16, feature_shape => '{8,8,1}', segments => 1)")
    k = keras()
    net = k.Sequential([k.Input((8, 8, 1)), k.layers.Flatten(),
                        k.layers.Dense(10, activation="softmax")])
    alice.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('tiny', %s)",
                  (net.to_json(),))
    return alice, bob


def test_concurrent_jobs_for_one_model_each_get_a_version(packed, connect):
    versions, errors = [], []

    def job():
        try:
            with connect("alice") as conn:
                versions.append(conn.execute(JOB, (json.dumps(COMPILE),)).fetchone()[0])
        except psycopg.Error as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(versions) == [1, 2]
    alice, _ = packed
    assert alice.execute("SELECT version, status FROM pgdl.training_jobs ORDER BY version"
                         ).fetchall() == [(1, "finished"), (2, "finished")]


def test_a_dropped_version_stops_serving_warm_backends(alice_digits):
    alice, bob = alice_digits
    import_digit_model(alice, "m", seed=5)                      # version 2
    assert alice.execute("SELECT DISTINCT version FROM m_predictions").fetchall() == [(2,)]
    assert alice.execute("SELECT pgdl.drop_model('m', 2)").fetchone() == (1,)
    assert alice.execute("SELECT DISTINCT version FROM m_predictions").fetchall() == [(1,)]
    generic = ("SELECT count(class) FROM pgdl.predictions WHERE model = 'm' "
               "AND source = 'digits_test' AND version = 1")
    assert alice.execute(generic).fetchone() == (449,)        # warm: its session cached
    assert alice.execute("SELECT pgdl.drop_model('m', cascade => true)").fetchone() == (1,)
    with pytest.raises(psycopg.errors.UndefinedObject):
        alice.execute(generic).fetchall()


def test_a_dropped_packed_table_takes_its_summary(packed, db):
    alice, bob = packed
    assert alice.execute("SELECT count(*) FROM pgdl.packed").fetchone() == (1,)
    alice.execute("DROP TABLE digits_packed")
    assert db.execute("SELECT count(*) FROM pgdl.packed").fetchone() == (0,)
    alice.execute("CREATE TABLE digits_packed (x int)")       # may reuse nothing
    with pytest.raises(psycopg.errors.UndefinedTable):
        alice.execute(JOB, (json.dumps(COMPILE),))
