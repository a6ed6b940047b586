"""Model selection: search spaces as rows (pgdl.generate_model_configs,
pgdl.model_configs) and selection jobs (INSERT INTO pgdl.model_selection)
that train every configuration with model hopper parallelism."""

import json
import threading
import time

import numpy as np
import psycopg
import pytest

from helpers import architecture
from pgdl import kernels
from pgdl.engine.keras_loader import keras
from pgdl_tools.client import stored_model

LOSS = {"loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def generate(db, search, architectures, compile_params, fit_params=None, **options):
    named = "".join(", %s => %%s" % key for key in options)
    return db.execute(
        "SELECT config, architecture, compile_params, fit_params "
        "FROM pgdl.generate_model_configs(%%s, %%s, %%s, %%s%s)" % named,
        [search, architectures, json.dumps(compile_params), json.dumps(fit_params or {})]
        + list(options.values())).fetchall()


def select(db, model, search, iterations=2, segments=2, **extra):
    columns = dict({"model": model, "search": search, "source": "digits_packed",
                    "iterations": iterations, "segments": segments, "seed": 5}, **extra)
    columns = {key: value for key, value in columns.items() if value is not None}
    cur = db.execute("INSERT INTO pgdl.model_selection (%s) VALUES (%s) RETURNING *"
                     % (", ".join(columns), ", ".join(["%s"] * len(columns))),
                     list(columns.values()))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


@pytest.fixture
def search(digits):
    k = keras()
    architecture(digits, "wide", [k.layers.Flatten(), k.layers.Dense(64, activation="relu"),
                                  k.layers.Dense(10, activation="softmax")], (8, 8, 1))
    rates = {"class_name": "Adam", "config": {"learning_rate": {"choice": [0.001, 0.01]}}}
    generate(digits, "s", ["dense", "wide"], dict(LOSS, optimizer=rates))
    return digits


def test_a_grid_becomes_rows_the_user_can_edit(search):
    rows = search.execute("SELECT config, architecture, compile_params, fit_params, owner "
                          "FROM pgdl.model_configs WHERE search = 's' ORDER BY config").fetchall()
    assert [(r[0], r[1], r[2]["optimizer"]["config"]["learning_rate"]) for r in rows] == [
        (1, "dense", 0.001), (2, "dense", 0.01), (3, "wide", 0.001), (4, "wide", 0.01)]
    assert {r[4] for r in rows} == {"postgres"} and all(r[3] == {} for r in rows)
    search.execute("UPDATE pgdl.model_configs SET fit_params = '{\"batch_size\": 8}' "
                   "WHERE search = 's' AND config = 4")
    more = generate(search, "s", ["dense"], LOSS, {"batch_size": {"int_uniform": [8, 64]}},
                    method="random", samples=3, seed=1)
    assert [r[0] for r in more] == [5, 6, 7]        # numbered after the search's own
    again = generate(search, "again", ["dense"], LOSS, {"batch_size": {"int_uniform": [8, 64]}},
                     method="random", samples=3, seed=1)
    assert [r[0] for r in again] == [1, 2, 3]
    assert [r[1:] for r in again] == [r[1:] for r in more]      # the same seed, the same draws


def test_selection_ranks_every_configuration_and_the_best_serves_predictions(search):
    job = select(search, "sel", "s", validation_source="digits_test_packed", metric="accuracy")
    assert (job["status"], job["schedule"], job["configs"]) == ("finished", "hopper", 4)
    ranked = search.execute("SELECT version, config, value, rank FROM "
                            "pgdl.model_selection_results WHERE job = %s ORDER BY rank",
                            (job["job"],)).fetchall()
    assert [r[3] for r in ranked] == [1, 2, 3, 4]
    values = [r[2] for r in ranked]
    assert values == sorted(values, reverse=True) and values[0] == job["best_value"]
    assert ranked[0][0] == job["best_version"]
    models = search.execute("SELECT version, origin, method, search, config, selection_job, "
                            "validation_metrics->>'accuracy' FROM pgdl.models "
                            "WHERE model = 'sel' ORDER BY version").fetchall()
    assert [(m[1], m[2], m[3], m[5]) for m in models] == [
        ("selection", "hopper", "s", job["job"])] * 4
    assert sorted(m[4] for m in models) == [1, 2, 3, 4]
    # per configuration: the merged history and each segment's, every iteration
    assert search.execute("SELECT version, count(*) FILTER (WHERE segment IS NULL), "
                          "count(*) FILTER (WHERE segment IS NOT NULL) "
                          "FROM pgdl.training_history WHERE model = 'sel' "
                          "GROUP BY version ORDER BY version").fetchall() == [
        (v, 2, 4) for v in range(1, 5)]
    search.execute("SELECT pgdl.create_predictions_table('best', 'sel', 'digits_test', "
                   "version => %s)", (job["best_version"],))
    accuracy = search.execute("SELECT avg((p.class = t.label)::int) FROM best p "
                              "JOIN digits_test t ON t.id = p.id").fetchone()[0]
    assert abs(float(accuracy) - job["best_value"]) < 1e-6
    assert job["best_value"] > 0.8


def _segment_buffers(db, segment, count):
    """What segment `segment` of `count` trains on, as the hopper reads it."""
    rows = db.execute("SELECT features, labels FROM digits_packed WHERE segment %% %s = %s "
                      "ORDER BY buffer_id", (count, segment)).fetchall()
    x = np.frombuffer(b"".join(r[0] for r in rows), "<f4").reshape(-1, 8, 8, 1)
    y = kernels.one_hot(np.frombuffer(b"".join(r[1] for r in rows), "<i4"), 10)
    return x, y


def _as_the_job_starts(db, model, version, config):
    """A Keras model of the version, compiled, with the weights its
    configuration started from (select's seed 5 + the configuration)."""
    k = keras()
    keras_json, compile_params = db.execute(
        "SELECT keras_json, compile_params FROM pgdl.models WHERE model = %s "
        "AND version = %s", (model, version)).fetchone()
    k.utils.set_random_seed(5 + config)
    start = k.models.model_from_json(keras_json).get_weights()
    net = k.models.model_from_json(keras_json)
    net.compile(**compile_params)
    net.set_weights(start)
    return net


def test_model_hopper_trains_each_configuration_as_keras_does_over_all_the_data(digits):
    """Without shuffling, configuration j's version equals a Keras model that
    trains on segment j's buffers, then segment j - 1's, and so on, carrying
    its optimizer's state: the weights and the optimizer moved together."""
    fit = {"batch_size": 32, "shuffle": False}
    generate(digits, "exact", ["dense"],
             dict(LOSS, optimizer={"class_name": "Adam",
                                   "config": {"learning_rate": {"choice": [0.01, 0.003]}}}), fit)
    select(digits, "exact", "exact", iterations=2)
    parts = [_segment_buffers(digits, s, 2) for s in range(2)]
    for config, j in ((1, 0), (2, 1)):
        version, = digits.execute("SELECT version FROM pgdl.models WHERE model = 'exact' "
                                  "AND config = %s", (config,)).fetchone()
        net = _as_the_job_starts(digits, "exact", version, config)
        for segment in [j, (j - 1) % 2] * 2:
            net.fit(*parts[segment], verbose=0, **fit)
        for got, expected in zip(stored_model(digits, "exact", version).get_weights(),
                                 net.get_weights()):
            np.testing.assert_allclose(got, expected, atol=1e-5)


def test_fewer_configurations_than_segments_train_with_averaging(digits):
    generate(digits, "one", ["dense"], dict(LOSS, optimizer="adam"))
    job = select(digits, "few", "one", segments=2)
    assert (job["schedule"], job["configs"], job["best_version"]) == ("average", 1, 1)
    assert digits.execute("SELECT method, segments, origin FROM pgdl.models "
                          "WHERE model = 'few'").fetchall() == [("average", 2, "selection")]
    assert job["metric"] == "loss" and job["higher_is_better"] is False


def test_a_configuration_that_does_not_fit_fails_before_any_training(search, messages):
    k = keras()
    architecture(search, "flat16", [k.layers.Dense(10, activation="softmax")], (16,))
    search.execute("INSERT INTO pgdl.model_configs (search, config, architecture, "
                   "compile_params) VALUES ('s', 9, 'flat16', %s)", (json.dumps(LOSS),))
    search.commit()
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        select(search, "bad", "s")
    assert caught.value.diag.message_primary.startswith(
        'configuration 9 of search "s": architecture "flat16" takes input of shape [16]')
    search.rollback()
    assert not any("iteration" in m for _, m, _ in messages)
    assert search.execute("SELECT count(*) FROM pgdl.models WHERE model = 'bad'"
                          ).fetchone() == (0,)


@pytest.mark.parametrize("sql, error, message", [
    ("SELECT * FROM pgdl.generate_model_configs('x', '{}', '{\"loss\": \"mse\"}')",
     psycopg.errors.InvalidParameterValue, "a search space needs at least one architecture"),
    ("SELECT * FROM pgdl.generate_model_configs('x', '{nope}', '{\"loss\": \"mse\"}')",
     psycopg.errors.UndefinedObject, 'architecture "nope" does not exist'),
    ("SELECT * FROM pgdl.generate_model_configs('x', '{dense}', '{\"optimizer\": \"adam\"}')",
     psycopg.errors.InvalidParameterValue, "compile_params have no loss"),
    ("SELECT * FROM pgdl.generate_model_configs('x', '{dense}', '{\"loss\": \"mse\"}', "
     "'{\"batch_size\": {\"choice\": [0, 8]}}')",
     psycopg.errors.InvalidParameterValue, "fit_params batch_size must be a whole number"),
    ("SELECT * FROM pgdl.generate_model_configs('x', '{dense}', '{\"loss\": \"mse\", "
     "\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
     "{\"log_uniform\": [0, 1]}}}}', method => 'random', samples => 4)",
     psycopg.errors.InvalidParameterValue, "compile_params.optimizer.config.learning_rate: "
                                           "log_uniform needs bounds above 0"),
    ("SELECT * FROM pgdl.generate_model_configs(NULL, '{dense}', '{\"loss\": \"mse\"}')",
     psycopg.errors.NullValueNotAllowed, "pgdl.generate_model_configs needs a search name"),
    ("INSERT INTO pgdl.model_selection (model, search, source) "
     "VALUES ('m', 'none', 'digits_packed')",
     psycopg.errors.UndefinedObject, 'search "none" has no configurations'),
    ("INSERT INTO pgdl.model_selection (model, source) VALUES ('m', 'digits_packed')",
     psycopg.errors.NotNullViolation, "a selection job needs a search"),
    ("INSERT INTO pgdl.model_selection (model, search, source, metric) "
     "VALUES ('m', 's', 'digits_packed', 'auc')",
     psycopg.errors.InvalidParameterValue, 'metric "auc" is not among the metrics'),
])
def test_bad_input_is_a_clear_error(search, sql, error, message):
    with pytest.raises(error) as caught:
        search.execute(sql)
    assert caught.value.diag.message_primary.startswith(message), \
        caught.value.diag.message_primary


def test_configurations_and_jobs_belong_to_their_role(search, plain):
    assert plain.execute("SELECT count(*) FROM pgdl.model_configs").fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain.execute("INSERT INTO pgdl.model_configs (search, config, architecture, "
                      "compile_params, owner) VALUES ('s', 1, 'dense', '{}', 'postgres')")
    plain.execute("INSERT INTO pgdl.model_configs (search, config, architecture, "
                  "compile_params) VALUES ('s', 1, 'dense', '{}')")
    assert plain.execute("SELECT owner FROM pgdl.model_configs").fetchall() == [("plain",)]
    for sql in ("INSERT INTO pgdl.selection_jobs (model, search, source, iterations, "
                "segments, schedule, metric, higher_is_better, status, configs) "
                "VALUES ('m', 's', 'x', 1, 1, 'hopper', 'loss', false, 'finished', 1)",
                "UPDATE pgdl.models SET origin = 'selection'"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            plain.execute(sql)
    assert search.execute("SELECT count(*) FROM pgdl.model_configs WHERE owner = 'postgres'"
                          ).fetchone() == (4,)


def test_random_trains_a_seeded_sample_of_the_search(search):
    job = select(search, "sampled", "s", method="random", samples=3, iterations=1)
    configs = [c for c, in search.execute(
        "SELECT config FROM pgdl.models WHERE model = 'sampled' ORDER BY version")]
    assert job["configs"] == 3 and len(set(configs)) == 3 and set(configs) <= {1, 2, 3, 4}
    again = select(search, "sampled_again", "s", method="random", samples=3, iterations=1)
    assert again["configs"] == 3
    assert configs == [c for c, in search.execute(
        "SELECT config FROM pgdl.models WHERE model = 'sampled_again' ORDER BY version")]
    assert search.execute("SELECT bracket, round, count(*), bool_or(survived) "
                          "FROM pgdl.selection_runs WHERE job = %s GROUP BY 1, 2",
                          (job["job"],)).fetchall() == [(0, 0, 3, False)]


def test_hyperband_runs_its_brackets_and_survivors_go_on(search):
    generate(search, "many", ["dense", "wide"],
             dict(LOSS, optimizer={"class_name": "Adam", "config": {
                 "learning_rate": {"log_uniform": [0.0005, 0.02]}}}),
             method="random", samples=6, seed=2)
    job = select(search, "hb", "many", method="hyperband", hyperband_r=3, eta=3,
                 iterations=None, validation_source="digits_test_packed", metric="accuracy")
    assert (job["method"], job["configs"], job["iterations"]) == ("hyperband", 5, 3)
    runs = search.execute("SELECT bracket, round, config, iterations, total_iterations, value, "
                          "survived, version FROM pgdl.selection_runs WHERE job = %s "
                          "ORDER BY bracket DESC, round, config", (job["job"],)).fetchall()
    first = [r for r in runs if (r[0], r[1]) == (1, 0)]
    going = [r for r in runs if (r[0], r[1]) == (1, 1)]
    last = [r for r in runs if r[0] == 0]
    assert [(len(first), {r[3] for r in first}), (len(going), going[0][3:5]),
            (len(last), {r[3:5] for r in last})] == [(3, {1}), (1, (2, 3)), (2, {(3, 3)})]
    # the best of the first round went on, and only it
    best = max(first, key=lambda r: r[5])
    assert [r[2] for r in first if r[6]] == [best[2]] == [going[0][2]]
    # one version per configuration, its history over every round it ran
    assert len({r[7] for r in runs}) == 5 and None not in {r[7] for r in runs}
    history = search.execute("SELECT iteration, loss FROM pgdl.training_history "
                             "WHERE model = 'hb' AND version = %s AND segment IS NULL "
                             "ORDER BY iteration", (going[0][7],)).fetchall()
    assert [h[0] for h in history] == [1, 2, 3]
    assert search.execute("SELECT iterations, origin FROM pgdl.models WHERE model = 'hb' "
                          "AND version = %s", (going[0][7],)).fetchone() == (3, "selection")
    assert job["best_value"] == max(r[5] for r in runs if not r[6])


def test_a_hyperband_survivor_goes_on_from_its_weights_and_optimizer(digits, connect):
    """On one segment without shuffling, a survivor's version equals a Keras
    model fitted once per iteration of every round it ran, in one go: also
    when the job stopped between its rounds and resumed from the state it
    kept."""
    fit = {"batch_size": 32, "shuffle": False}
    generate(digits, "hb1", ["dense"],
             dict(LOSS, optimizer={"class_name": "Adam",
                                   "config": {"learning_rate": {"choice": [0.01, 0.003, 0.001,
                                                                           0.03]}}}), fit)
    digits.commit()
    digits.autocommit = True
    notices = []
    digits.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    watcher = connect()

    def cancel():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(n.startswith("bracket 1, round 1:")
                                                      for n in notices):
            time.sleep(0.01)
        watcher.execute("SELECT pg_cancel_backend(%s)", (digits.info.backend_pid,))
    thread = threading.Thread(target=cancel)
    thread.start()
    with pytest.raises(psycopg.errors.QueryCanceled):
        select(digits, "hb1", "hb1", method="hyperband", hyperband_r=2, eta=2,
               iterations=None, segments=1)
    thread.join()
    job, = digits.execute("SELECT job FROM pgdl.model_selection WHERE model = 'hb1' "
                          "AND status = 'stopped'").fetchone()
    notices.clear()
    digits.execute("INSERT INTO pgdl.model_selection (job) VALUES (%s)", (job,))
    assert notices[1:3] == ["bracket 1, round 0: 2 configurations, 1 iterations each "
                            "(2 finished before)",
                            "bracket 1, round 1: 1 configurations, 1 iterations each"]
    config, version = digits.execute(
        "SELECT config, version FROM pgdl.selection_runs WHERE job = %s AND bracket = 1 "
        "AND round = 1", (job,)).fetchone()
    net = _as_the_job_starts(digits, "hb1", version, config)
    x, y = _segment_buffers(digits, 0, 1)
    for _ in range(2):
        net.fit(x, y, verbose=0, **fit)
    for got, expected in zip(stored_model(digits, "hb1", version).get_weights(),
                             net.get_weights()):
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("options, error, message", [
    ({"method": "hyperband", "hyperband_r": 9, "iterations": None},
     psycopg.errors.InvalidParameterValue, "method hyperband needs 17 configurations; "
                                           "search \"s\" has 4"),
    ({"method": "hyperband", "eta": 1, "iterations": None},
     psycopg.errors.InvalidParameterValue, "eta must be between 2 and 100, not 1"),
    ({"method": "hyperband", "hyperband_r": 0, "iterations": None},
     psycopg.errors.InvalidParameterValue, "hyperband_r must be between 1 and 10000, not 0"),
    ({"method": "hyperband", "hyperband_r": 3, "skip_last": 2, "iterations": None},
     psycopg.errors.InvalidParameterValue, "skip_last 2 leaves no round to run"),
    ({"method": "hyperband", "iterations": 3},
     psycopg.errors.InvalidParameterValue, "iterations is not for method hyperband"),
    ({"eta": 3}, psycopg.errors.InvalidParameterValue, "eta is for method hyperband, not all"),
    ({"samples": 3}, psycopg.errors.InvalidParameterValue, "samples is for method random"),
    ({"method": "random"}, psycopg.errors.InvalidParameterValue,
     "method random needs samples"),
    ({"method": "random", "samples": 5}, psycopg.errors.InvalidParameterValue,
     "method random needs 5 configurations"),
    ({"method": "tpe"}, psycopg.errors.InvalidParameterValue, 'unknown selection method "tpe"'),
    ({"iterations": 0}, psycopg.errors.InvalidParameterValue, "iterations must be between 1"),
])
def test_bad_selection_options_are_clear_errors(search, options, error, message):
    with pytest.raises(error) as caught:
        select(search, "bad", "s", **options)
    assert caught.value.diag.message_primary.startswith(message), \
        caught.value.diag.message_primary


def test_a_cancel_keeps_every_finished_configuration_and_the_job_resumes(search, connect,
                                                                         plain):
    """Model hopper trains configurations 1 and 2 first, then 3 and 4; each
    is stored as it finishes, committed apart from the job, and its
    progress row is there for any session to read while the job runs."""
    search.commit()
    search.autocommit = True
    notices = []
    search.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    watcher = connect()
    seen = []

    def cancel():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                n.startswith("configuration 2 finished") for n in notices):
            seen.extend(watcher.execute("SELECT config, status, iteration FROM "
                                        "pgdl.selection_progress WHERE model = 'cancelled'"))
            time.sleep(0.05)
        watcher.execute("SELECT pg_cancel_backend(%s)", (search.info.backend_pid,))
    thread = threading.Thread(target=cancel)
    thread.start()
    with pytest.raises(psycopg.errors.QueryCanceled):
        select(search, "cancelled", "s", iterations=3)
    thread.join()
    assert {(config, status) for config, status, _ in seen} >= {
        (1, "queued"), (1, "running"), (3, "queued")}
    assert max(iteration or 0 for _, _, iteration in seen) >= 1
    assert search.execute("SELECT config, version FROM pgdl.models WHERE model = 'cancelled' "
                          "ORDER BY version").fetchall() == [(1, 1), (2, 2)]
    job, status = search.execute("SELECT job, status FROM pgdl.model_selection "
                                 "WHERE model = 'cancelled'").fetchone()
    assert status == "stopped"
    assert search.execute("SELECT config, status, version FROM pgdl.selection_progress "
                          "WHERE job = %s ORDER BY config", (job,)).fetchall() == [
        (1, "finished", 1), (2, "finished", 2), (3, "stopped", None), (4, "stopped", None)]

    with pytest.raises(psycopg.errors.InvalidParameterValue, match="give only its job number"):
        search.execute("INSERT INTO pgdl.model_selection (job, model) VALUES (%s, 'x')", (job,))
    with pytest.raises(psycopg.errors.UndefinedObject):       # not the job of role plain
        plain.execute("INSERT INTO pgdl.model_selection (job) VALUES (%s)", (job,))
    notices.clear()
    resumed = search.execute("INSERT INTO pgdl.model_selection (job) VALUES (%s) "
                             "RETURNING status, best_version", (job,)).fetchone()
    assert resumed[0] == "finished" and resumed[1] in (1, 2, 3, 4)
    assert "bracket 0, round 0: 4 configurations, 3 iterations each (2 finished before)" \
        in notices
    assert search.execute("SELECT config, version FROM pgdl.models WHERE model = 'cancelled' "
                          "ORDER BY version").fetchall() == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert search.execute("SELECT count(*) FROM pgdl.model_selection_results WHERE job = %s",
                          (job,)).fetchone() == (4,)
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="is finished"):
        search.execute("INSERT INTO pgdl.model_selection (job) VALUES (%s)", (job,))
