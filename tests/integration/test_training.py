"""INSERT INTO pgdl.model_training: training across segments, as rows."""

import threading
import time

import numpy as np
import psycopg
import pytest

from helpers import COMPILE, architecture, children, eventually, images, segment_server, train
from pgdl_tools.client import stored_model
from pgdl.engine.keras_loader import keras


def test_a_cnn_on_mnist_over_two_segments_reaches_90_percent(db, messages):
    db.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', test_fraction => 0.2, "
               "seed => 1)")
    db.execute("SELECT * FROM pgdl.preprocess('mnist_train', 'mnist_packed', 'image', 'label', "
               "normalizing_const => 255, feature_shape => '{28,28,1}', segments => 2, "
               "seed => 7)")
    k = keras()
    architecture(db, "cnn", [k.layers.Conv2D(16, 3, activation="relu"), k.layers.MaxPooling2D(),
                             k.layers.Flatten(), k.layers.Dense(10, activation="softmax")],
                 (28, 28, 1))
    job = train(db, "mnist_cnn", "cnn", "mnist_packed", iterations=5,
                fit_params={"batch_size": 32, "epochs": 1})
    assert job["status"] == "finished" and job["version"] == 1 and job["segments"] == 2
    assert [m[1] for m in messages if m[1].startswith("iteration ")][-1].startswith(
        "iteration 5 of 5: loss")
    db.commit()
    x, y = images(db, "mnist_test", [28, 28, 1])
    predicted = stored_model(db, "mnist_cnn", 1).predict(x / 255, verbose=0).argmax(axis=1)
    accuracy = float((predicted == y).mean())
    assert accuracy >= 0.90, accuracy
    history = db.execute("SELECT iteration, segment, rows FROM pgdl.training_history "
                         "ORDER BY iteration, segment NULLS LAST").fetchall()
    assert len(history) == 5 * 3
    assert history[:3] == [(1, 0, 2000), (1, 1, 2000), (1, None, 4000)]


def test_averaging_reports_merged_validation_metrics(digits):
    job = train(digits, "d", "dense", "digits_packed", iterations=3,
                validation="digits_test_packed")
    model = digits.execute("SELECT metrics, validation_metrics, segments, method FROM "
                           "pgdl.models WHERE model = 'd'").fetchone()
    assert set(model[0]) == {"loss", "accuracy"} and set(model[1]) == {"loss", "accuracy"}
    assert model[2:] == (2, "average")
    merged = digits.execute("SELECT validation_metrics->>'accuracy' FROM pgdl.training_history "
                            "WHERE segment IS NULL ORDER BY iteration DESC LIMIT 1").fetchone()
    assert float(merged[0]) == pytest.approx(job["validation_metrics"]["accuracy"])
    assert job["fixed_seconds"] > 0 and job["seconds_per_iteration"] > 0
    listed = digits.execute("SELECT model, status, version, compile_params, iterations "
                            "FROM pgdl.model_training").fetchall()
    assert listed == [("d", "finished", 1, COMPILE, 3)]


def test_easgd(digits):
    job = train(digits, "e", "dense", "digits_packed", iterations=6, method="easgd",
                moving_rate=0.4)
    assert job["status"] == "finished" and job["moving_rate"] == 0.4
    digits.commit()
    x, y = images(digits, "digits_test", [8, 8, 1])
    predicted = stored_model(digits, "e", 1).predict(x / 16, verbose=0).argmax(axis=1)
    assert (predicted == y).mean() > 0.5


def test_warm_start_and_transfer_learning(digits):
    first = train(digits, "w", "dense", "digits_packed", iterations=3)
    second = train(digits, "w", "dense", "digits_packed", iterations=1, warm_start=True)
    assert second["version"] == 2
    losses = dict(digits.execute("SELECT version, loss FROM pgdl.training_history "
                                 "WHERE model = 'w' AND segment IS NULL AND iteration = 1"))
    assert losses[2] < losses[1]
    assert digits.execute("SELECT warm_start_version FROM pgdl.models WHERE model = 'w' "
                          "AND version = 2").fetchone() == (1,)
    # the trained weights as an architecture's initial weights
    blob = b"".join(data for data, in digits.execute(
        "SELECT data FROM pgdl.model_weights WHERE model = 'w' AND version = 1 "
        "ORDER BY tensor, chunk"))
    digits.execute("INSERT INTO pgdl.architectures (name, keras_json, initial_weights) "
                   "SELECT 'pretrained', keras_json, %s FROM pgdl.architectures "
                   "WHERE name = 'dense'", (blob,))
    train(digits, "t", "pretrained", "digits_packed", iterations=1)
    transfer = digits.execute("SELECT loss FROM pgdl.training_history WHERE model = 't' "
                              "AND segment IS NULL").fetchone()[0]
    assert transfer < losses[1] and first["loss"] > 0


def test_a_second_version_leaves_the_first_intact(digits):
    train(digits, "v", "dense", "digits_packed", iterations=1)
    before = digits.execute("SELECT tensor, data FROM pgdl.model_weights WHERE model = 'v' "
                            "ORDER BY tensor").fetchall()
    train(digits, "v", "dense", "digits_packed", iterations=1)
    assert digits.execute("SELECT tensor, data FROM pgdl.model_weights WHERE model = 'v' AND "
                          "version = 1 ORDER BY tensor").fetchall() == before
    assert digits.execute("SELECT max(version) FROM pgdl.models WHERE model = 'v'").fetchone() \
        == (2,)


BAD_JOBS = [
    ({"architecture_name": "nothing"}, psycopg.errors.UndefinedObject,
     'architecture "nothing" does not exist'),
    ({"source": "digits_train"}, psycopg.errors.UndefinedTable,
     '"digits_train" is not a packed table'),
    ({"architecture_name": "wide_input"}, psycopg.errors.InvalidParameterValue,
     'architecture "wide_input" takes input of shape [8, 8, 2]; digits_packed holds features '
     "of shape [8, 8, 1]"),
    ({"architecture_name": "three_classes"}, psycopg.errors.InvalidParameterValue,
     'architecture "three_classes" has output shape [3]; digits_packed needs 10 outputs'),
    ({"compile_params": {"optimizer": "adamx", "loss": "mse"}},
     psycopg.errors.InvalidParameterValue, 'unknown optimizer "adamx"'),
    ({"compile_params": {"optimizer": "adam", "loss": "no_such_loss"}},
     psycopg.errors.InvalidParameterValue, 'unknown loss "no_such_loss"'),
    ({"compile_params": {"optimizer": "adam", "loss": "mse", "metrics": ["nope"]}},
     psycopg.errors.InvalidParameterValue, 'unknown metric "nope"'),
    ({"compile_params": {"optimizer": "adam"}}, psycopg.errors.InvalidParameterValue,
     'compile_params of model "bad" have no loss'),
    ({"iterations": 0}, psycopg.errors.InvalidParameterValue, "iterations must be at least 1"),
    ({"segments": 0}, psycopg.errors.InvalidParameterValue, "segments must be at least 1"),
    ({"segments": 40}, psycopg.errors.InvalidParameterValue,
     "40 segments for 8 buffers of digits_packed"),
    ({"method": "gossip"}, psycopg.errors.InvalidParameterValue, 'unknown method "gossip"'),
    ({"fit_params": {"epochs": 1, "verbose": 2}}, psycopg.errors.InvalidParameterValue,
     "unknown fit_params verbose"),
    ({"fit_params": {"batch_size": 0}}, psycopg.errors.InvalidParameterValue,
     "fit_params batch_size must be a whole number of at least 1, not 0"),
    ({"fit_params": {"epochs": 1.5}}, psycopg.errors.InvalidParameterValue,
     "fit_params epochs must be a whole number of at least 1, not 1.5"),
    ({"fit_params": {"validation_split": 1}}, psycopg.errors.InvalidParameterValue,
     "fit_params validation_split must be at least 0 and below 1"),
    ({"method": "easgd", "moving_rate": 0}, psycopg.errors.InvalidParameterValue,
     "moving_rate must be above 0 and below 1, not 0"),
    ({"moving_rate": 0.3}, psycopg.errors.InvalidParameterValue,
     "moving_rate is for method easgd, not average"),
    ({"compile_params": {"optimizer": {"class_name": "SGD",
                                       "config": {"learning_rate": 99999999.5}},
                         "loss": "categorical_crossentropy"}},
     psycopg.errors.FloatingPointException, "loss of segment "),
]


@pytest.mark.parametrize("change, error, message", BAD_JOBS, ids=[m for _, _, m in BAD_JOBS])
def test_a_bad_job_is_an_error_and_leaves_no_version(digits, change, error, message):
    k = keras()
    architecture(digits, "wide_input", [k.layers.Flatten(), k.layers.Dense(10)], (8, 8, 2))
    architecture(digits, "three_classes", [k.layers.Flatten(), k.layers.Dense(3)], (8, 8, 1))
    train(digits, "bad", "dense", "digits_packed", iterations=1)
    digits.commit()
    arguments = {"iterations": 1}
    arguments.update({key: value for key, value in change.items() if key != "architecture_name"})
    with pytest.raises(error) as caught:
        train(digits, "bad", change.get("architecture_name", "dense"),
              arguments.pop("source", "digits_packed"), **arguments)
    assert caught.value.diag.message_primary.startswith(message), \
        caught.value.diag.message_primary
    digits.rollback()
    assert digits.execute("SELECT max(version) FROM pgdl.models WHERE model = 'bad'").fetchone() \
        == (1,)
    assert digits.execute("SELECT count(*) FROM pgdl.training_jobs WHERE status = 'running'"
                          ).fetchone() == (0,)
    assert digits.execute("SELECT 1").fetchone() == (1,)


def _cancelling(db, watcher, notices, after, poll=None, at_cancel=None):
    """A started thread that cancels db's query once a notice starts with
    `after`; poll() runs at every look, at_cancel() just before the cancel."""
    pid = db.info.backend_pid

    def cancel():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if poll:
                poll()
            if any(n.startswith(after) for n in notices):
                if at_cancel:
                    at_cancel()
                watcher.execute("SELECT pg_cancel_backend(%s)", (pid,))
                return
            time.sleep(0.02)
    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


def test_cancel_in_the_third_iteration_leaves_the_previous_version(digits, connect):
    train(digits, "c", "dense", "digits_packed", iterations=1)
    digits.commit()
    digits.autocommit = True
    notices = []
    digits.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    watcher = connect()
    pid = digits.info.backend_pid
    seen = {}

    def activity():
        found = watcher.execute("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
        if found and "pgdl.model_training" in found[0]:
            seen["activity"] = found[0]
    thread = _cancelling(digits, watcher, notices, "iteration 2 of", poll=activity)
    with pytest.raises(psycopg.errors.QueryCanceled):
        train(digits, "c", "dense", "digits_packed", iterations=50,
              fit_params={"batch_size": 8, "epochs": 3})
    thread.join()
    assert "INSERT INTO pgdl.model_training" in seen["activity"]
    assert not any(n.startswith("iteration 4 of") for n in notices)
    assert digits.execute("SELECT max(version) FROM pgdl.models WHERE model = 'c'").fetchone() \
        == (1,)
    assert digits.execute("SELECT count(*) FROM pgdl.training_jobs WHERE model = 'c'").fetchone() \
        == (1,)


def test_each_version_is_exported_to_onnx_and_scores_like_keras(digits):
    train(digits, "o", "dense", "digits_packed", iterations=1)
    digits.commit()
    import onnxruntime
    onnx = b"".join(data for data, in digits.execute(
        "SELECT data FROM pgdl.model_onnx WHERE model = 'o' AND version = 1 ORDER BY chunk"))
    assert digits.execute("SELECT onnx_bytes FROM pgdl.model_versions WHERE model = 'o'"
                          ).fetchone() == (len(onnx),)
    session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    x, _ = images(digits, "digits_test", [8, 8, 1])
    scored = session.run(None, {session.get_inputs()[0].name: x / np.float32(16)})[0]
    expected = stored_model(digits, "o", 1).predict(x / 16, verbose=0)
    np.testing.assert_allclose(scored, expected, atol=1e-5)


def test_ensemble_of_segment_models_under_a_combiner(digits):
    job = train(digits, "ens", "dense", "digits_packed", iterations=4, method="ensemble")
    assert job["status"] == "finished"
    digits.commit()
    net = stored_model(digits, "ens", 1)
    assert net.name == "ensemble"
    assert [layer.name for layer in net.layers][-1] == "combiner"
    assert {"segment_0", "segment_1"} <= {layer.name for layer in net.layers}
    x, y = images(digits, "digits_test", [8, 8, 1])
    accuracy = (net.predict(x / 16, verbose=0).argmax(axis=1) == y).mean()
    members = [(net.get_layer("segment_%d" % i).predict(x / 16, verbose=0).argmax(axis=1) == y)
               .mean() for i in range(2)]
    assert accuracy >= min(members) and accuracy > 0.5, (accuracy, members)
    parameters = digits.execute("SELECT parameters FROM pgdl.models WHERE model = 'ens'"
                                ).fetchone()[0]
    assert parameters == net.count_params()


@pytest.mark.parametrize("method", ["average", "ensemble"])
def test_the_leaders_segment_in_a_process_of_its_own_trains_as_in_the_backend(digits, method):
    """pgdl.leader_segment_process = on (auto does so on GPU machines): the
    leader's segment trains in a child that ends with the job, so a backend
    keeps no GPU memory; the job's results are the backend's own."""
    pid = digits.info.backend_pid
    options = {"method": method, "iterations": 3}
    digits.execute("SET pgdl.leader_segment_process = off")
    assert train(digits, "inside", "dense", "digits_packed", **options)["status"] == "finished"
    digits.execute("SET pgdl.leader_segment_process = on")
    notices = []
    digits.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    assert train(digits, "child", "dense", "digits_packed", **options)["status"] == "finished"
    assert sum(n.startswith("iteration") for n in notices) == 3
    assert children(pid) == []            # the child ended with the job
    digits.commit()
    x, y = images(digits, "digits_test", [8, 8, 1])
    inside, child = (stored_model(digits, m, 1).predict(x / 16, verbose=0) for m in
                     ("inside", "child"))
    np.testing.assert_allclose(child, inside, atol=1e-4)
    assert digits.execute("SELECT count(*) FROM pgdl.training_history WHERE model = 'child' "
                          "AND segment = 0").fetchone() == (3,)


@pytest.mark.parametrize("server", [False, True])
def test_a_cancel_ends_the_leaders_segment_process(digits, connect, server):
    """Without the segment server the leader starts its segment's process
    itself; with it, the server forks it, as it forks the worker's."""
    digits.autocommit = True
    digits.execute("SET pgdl.leader_segment_process = on")
    digits.execute("SET pgdl.segment_server_timeout = %d" % (600 if server else 0))
    notices = []
    digits.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    watcher = connect()
    pid = digits.info.backend_pid
    seen = {}


    def segment_processes():
        if server:
            return children(segment_server(pid))   # the leader's and the worker's
        return children(pid)                       # the leader's
    thread = _cancelling(digits, watcher, notices, "iteration 1 of",
                         at_cancel=lambda: seen.update(children=segment_processes()))
    with pytest.raises(psycopg.errors.QueryCanceled):
        train(digits, "c", "dense", "digits_packed", iterations=50,
              fit_params={"batch_size": 8, "epochs": 3})
    thread.join()
    assert len(seen["children"]) == (2 if server else 1)
    assert eventually(lambda: segment_processes() == [])
    assert digits.execute("SELECT count(*) FROM pgdl.models WHERE model = 'c'").fetchone() \
        == (0,)


def test_a_setting_the_leader_segment_process_does_not_know_is_refused(digits):
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match='invalid value for parameter "pgdl.leader_segment_process"'):
        digits.execute("SET pgdl.leader_segment_process = always")
