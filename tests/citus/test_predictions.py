"""Predictions over a distributed source on a Citus cluster: the same SQL
as on one node, the same predictions."""

import psycopg
import pytest

from helpers import DEFAULT_VERSION, import_digit_model

ROWS = ("SELECT count(*), md5(string_agg(concat_ws(',', id, version, class, probability), "
        "'|' ORDER BY id)) FROM %s")


def test_the_cluster_has_citus_and_pgdl_on_every_node(coordinator):
    nodes = coordinator.execute("SELECT count(*) FROM pg_dist_node WHERE isactive "
                                "AND noderole = 'primary'").fetchone()[0]
    versions = coordinator.execute(
        "SELECT result FROM run_command_on_workers($$SELECT extversion FROM pg_extension "
        "WHERE extname = 'pgdl'$$) ORDER BY nodeport").fetchall()
    own = coordinator.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgdl'"
                              ).fetchone()[0]
    assert nodes == 3 and versions == [(own,), (own,)] and own == DEFAULT_VERSION


@pytest.fixture
def distributed_digits(coordinator):
    """digits_test on the coordinator, dist_digits distributed by id over the
    workers, and model m imported on the coordinator."""
    db = coordinator
    db.execute("SELECT * FROM pgdl.load_dataset('digits', 'digits', test_fraction => 0.25)")
    db.execute("CREATE TABLE dist_digits AS SELECT * FROM digits_test")
    db.execute("ALTER TABLE dist_digits ADD PRIMARY KEY (id)")
    db.execute("SELECT create_distributed_table('dist_digits', 'id')")
    import_digit_model(db, "m")
    db.execute("SELECT pgdl.create_predictions_table('local_p', 'm', 'digits_test')")
    return db


@pytest.mark.parametrize("segments", [1, 2])
def test_a_model_from_the_coordinator_scores_a_distributed_source_as_one_node_does(
        distributed_digits, segments):
    db = distributed_digits
    db.execute("SET parallel_setup_cost = 0")
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits', "
               "segments => %s)", (segments,))
    shards = db.execute("SELECT count(DISTINCT nodeport) FROM citus_shards "
                        "WHERE table_name = 'dist_digits'::regclass").fetchone()[0]
    assert shards == 2
    assert db.execute(ROWS % "dist_p").fetchone() == db.execute(ROWS % "local_p").fetchone()
    assert db.execute("SELECT class, probability FROM dist_p WHERE id = 5").fetchone() == \
        db.execute("SELECT class, probability FROM local_p WHERE id = 5").fetchone()
    joined = db.execute("SELECT count(*) FROM dist_p p JOIN dist_digits s USING (id) "
                        "WHERE s.id < 40").fetchone()[0]
    assert joined == db.execute("SELECT count(*) FROM digits_test WHERE id < 40").fetchone()[0]


def test_evaluate_on_a_distributed_source_gives_the_local_figures(distributed_digits):
    db = distributed_digits
    query = "SELECT metric, round(value::numeric, 9), actual, predicted FROM pgdl.evaluate(" \
            "'m', %s, label => 'label') ORDER BY 1, 3, 4"
    assert db.execute(query, ("dist_digits",)).fetchall() == \
        db.execute(query, ("digits_test",)).fetchall()


def explain(db, query, analyze=False):
    return "\n".join(row for row, in db.execute(
        "EXPLAIN (ANALYZE %s, COSTS off, TIMING off, SUMMARY off) %s"
        % ("on" if analyze else "off", query)))


def test_the_workers_score_their_shards_and_only_predictions_travel(distributed_digits):
    db = distributed_digits
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    plan = explain(db, "SELECT * FROM dist_p")
    assert "Scored On: Citus workers" in plan
    assert "Worker Tasks: 32 shards on 2 workers" in plan
    analyzed = explain(db, "SELECT id, class, probability FROM dist_p", analyze=True)
    rows = db.execute("SELECT count(*) FROM digits_test").fetchone()[0]
    answers = [line for line in analyzed.splitlines() if "Worker Answers:" in line]
    assert len(answers) == 1 and "32 shards from 2 workers, %d rows" % rows in answers[0]
    sent = int(answers[0].split(" in ")[1].split()[0])
    features = db.execute("SELECT sum(pg_column_size(image)) FROM digits_test").fetchone()[0]
    assert sent < features / 2
    # every column, as on one node
    everything = ("SELECT md5(string_agg(p::text, '|' ORDER BY id)) FROM %s p")
    assert db.execute(everything % "dist_p").fetchone() == \
        db.execute(everything % "local_p").fetchone()
    # a plain EXPLAIN later shows no answers of its own
    assert "Worker Answers" not in explain(db, "SELECT * FROM dist_p")


def test_a_key_routes_to_the_one_shard_that_holds_it(distributed_digits):
    db = distributed_digits
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    shard, port = db.execute(
        "SELECT s.shardid, s.nodeport FROM citus_shards s WHERE s.table_name = "
        "'dist_digits'::regclass AND s.shardid = "
        "get_shard_id_for_distribution_column('dist_digits', 5)").fetchone()
    plan = explain(db, "SELECT * FROM dist_p WHERE id = 5")
    assert "Worker Tasks: shard %d on 127.0.0.1:%d, routed by id = 5" % (shard, port) in plan
    analyzed = explain(db, "SELECT * FROM dist_p WHERE id = 5", analyze=True)
    assert "Worker Answers: 1 shard from 1 worker, 1 rows" in analyzed
    picked = db.execute("SELECT count(DISTINCT get_shard_id_for_distribution_column("
                        "'dist_digits', v)) FROM unnest('{1,2,3}'::int[]) v").fetchone()[0]
    analyzed = explain(db, "SELECT * FROM dist_p WHERE id IN (1, 2, 3)", analyze=True)
    assert "Worker Answers: %d shard%s" % (picked, "" if picked == 1 else "s") in analyzed
    assert db.execute("SELECT id, class FROM dist_p WHERE id IN (1, 2, 3) ORDER BY id"
                      ).fetchall() == db.execute("SELECT id, class FROM local_p "
                                                 "WHERE id IN (1, 2, 3) ORDER BY id").fetchall()
    # a key no shard holds: no rows; a prepared lookup routes each time
    assert db.execute("SELECT count(*) FROM dist_p WHERE id = -1").fetchone() == (0,)
    db.execute("PREPARE one(int) AS SELECT class FROM dist_p WHERE id = $1")
    for _ in range(7):
        assert db.execute("EXECUTE one(5)").fetchone() == \
            db.execute("SELECT class FROM local_p WHERE id = 5").fetchone()


def test_the_generic_table_and_pass_through_columns_score_on_the_workers(distributed_digits):
    db = distributed_digits
    generic = ("SELECT md5(string_agg(concat_ws(',', key, class, probability), '|' "
               "ORDER BY key::int)) FROM pgdl.predictions WHERE model = 'm' AND source = %s")
    assert db.execute(generic, ("dist_digits",)).fetchone() == \
        db.execute(generic, ("digits_test",)).fetchone()
    db.execute("SELECT pgdl.create_predictions_table('dist_l', 'm', 'dist_digits', "
               "pass_through => '{label}')")
    db.execute("SELECT pgdl.create_predictions_table('local_l', 'm', 'digits_test', "
               "pass_through => '{label}')")
    query = "SELECT count(*) FILTER (WHERE class = label), count(*) FROM %s WHERE label < 5"
    assert db.execute(query % "dist_l").fetchone() == db.execute(query % "local_l").fetchone()


def test_a_row_a_worker_cannot_score_is_named_or_null(distributed_digits):
    db = distributed_digits
    db.execute("UPDATE dist_digits SET image = NULL WHERE id = 7")
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    with pytest.raises(psycopg.errors.NullValueNotAllowed,
                       match="cannot score the row of dist_digits at id = 7: its features "
                             r"\(image\) is NULL"):
        db.execute("SELECT count(class) FROM dist_p").fetchone()
    db.execute("SELECT pgdl.create_predictions_table('dist_n', 'm', 'dist_digits', "
               "on_error => 'null')")
    total = db.execute("SELECT count(*) FROM digits_test").fetchone()[0]
    assert db.execute("SELECT count(*), count(class) FROM dist_n").fetchone() == \
        (total, total - 1)


def test_an_ordinary_role_scores_on_the_workers_with_its_own_rights(distributed_digits,
                                                                     coordinator_uri):
    db = distributed_digits
    db.execute("DO $$ BEGIN CREATE ROLE viewer LOGIN; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("SELECT pgdl.share_model('m', 'viewer')")
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    db.execute("GRANT SELECT ON dist_p TO viewer")
    with psycopg.connect(coordinator_uri, user="viewer", autocommit=True) as viewer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="dist_digits"):
            viewer.execute("SELECT count(*) FROM dist_p").fetchone()
    db.execute("GRANT SELECT ON dist_digits TO viewer")
    with psycopg.connect(coordinator_uri, user="viewer", autocommit=True) as viewer:
        assert viewer.execute(ROWS % "dist_p").fetchone() == \
            db.execute(ROWS % "local_p").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            viewer.execute("SELECT pgdl_internal.segment_task(0, 1, 'score', '')")
    # what the role changed in its transaction, the tasks (run on Citus's
    # connections of another user) cannot see: an error, not missing rows
    db.execute("GRANT INSERT ON dist_digits TO viewer")
    with psycopg.connect(coordinator_uri, user="viewer") as viewer:
        viewer.execute("INSERT INTO dist_digits SELECT id + 100000, image, label "
                       "FROM dist_digits WHERE id < 50")
        with pytest.raises(psycopg.errors.FeatureNotSupported,
                           match="public.dist_digits changed in this transaction"):
            viewer.execute("SELECT count(*) FROM dist_p").fetchone()
        viewer.rollback()
    db.execute("SELECT pgdl.unshare_model('m', 'viewer')")
    with psycopg.connect(coordinator_uri, user="viewer", autocommit=True) as viewer:
        with pytest.raises(psycopg.errors.UndefinedObject, match='model "m"'):
            viewer.execute("SELECT count(*) FROM dist_p").fetchone()
    db.execute("REVOKE ALL ON dist_digits, dist_p FROM viewer")


def test_reference_tables_and_tables_without_a_primary_key(distributed_digits):
    db = distributed_digits
    db.execute("CREATE TABLE ref_digits AS SELECT * FROM digits_test")
    db.execute("ALTER TABLE ref_digits ADD PRIMARY KEY (id)")
    db.execute("SELECT create_reference_table('ref_digits')")
    db.execute("SELECT pgdl.create_predictions_table('ref_p', 'm', 'ref_digits')")
    assert "Scored On" not in explain(db, "SELECT * FROM ref_p")
    assert db.execute(ROWS % "ref_p").fetchone() == db.execute(ROWS % "local_p").fetchone()
    db.execute("CREATE TABLE nokey_digits AS SELECT * FROM digits_test")
    db.execute("SELECT create_distributed_table('nokey_digits', 'id')")
    with pytest.raises(psycopg.errors.InvalidColumnReference,
                       match="table nokey_digits has no primary key"):
        db.execute("SELECT pgdl.create_predictions_table('nokey_p', 'm', 'nokey_digits')")
    db.execute("SELECT pgdl.create_predictions_table('nokey_p', 'm', 'nokey_digits', "
               "key => 'id')")
    assert db.execute(ROWS % "nokey_p").fetchone() == db.execute(ROWS % "local_p").fetchone()
    assert db.execute("SELECT count(*) FROM pgdl.evaluate('m', 'nokey_digits', "
                      "label => 'label') WHERE metric = 'accuracy'").fetchone() == (1,)


def test_evaluate_names_a_bad_label_a_worker_found(distributed_digits):
    db = distributed_digits
    db.execute("UPDATE dist_digits SET label = NULL WHERE id = 9")
    with pytest.raises(psycopg.errors.NullValueNotAllowed,
                       match='NULL label in column "label" of table dist_digits at id = 9'):
        db.execute("SELECT * FROM pgdl.evaluate('m', 'dist_digits', label => 'label')")
    db.execute("UPDATE dist_digits SET label = 11 WHERE id = 9")
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="label 11 of table dist_digits at id = 9 is not a class"):
        db.execute("SELECT * FROM pgdl.evaluate('m', 'dist_digits', label => 'label')")


def test_a_table_with_row_security_is_read_through_the_coordinator(distributed_digits):
    db = distributed_digits
    db.execute("ALTER TABLE dist_digits ENABLE ROW LEVEL SECURITY")
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    assert "Scored On" not in explain(db, "SELECT * FROM dist_p")
    assert db.execute(ROWS % "dist_p").fetchone() == db.execute(ROWS % "local_p").fetchone()


def test_a_worker_without_pgdl_is_named(distributed_digits, citus_cluster):
    db = distributed_digits
    db.execute("SELECT pgdl.create_predictions_table('dist_p', 'm', 'dist_digits')")
    worker = citus_cluster.workers[1]
    with psycopg.connect(worker.uri("pgdl_citus"), autocommit=True) as there:
        there.execute("SET allow_system_table_mods = on")
        there.execute("UPDATE pg_extension SET extversion = '0.3.0' WHERE extname = 'pgdl'")
        try:
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                               match="Citus node 127.0.0.1:%d has pgdl 0.3.0" % worker.port):
                db.execute("SELECT count(*) FROM dist_p").fetchone()
        finally:
            there.execute("UPDATE pg_extension SET extversion = %s WHERE extname = 'pgdl'",
                          (DEFAULT_VERSION,))
    assert db.execute("SELECT count(*) FROM dist_p").fetchone() == \
        db.execute("SELECT count(*) FROM digits_test").fetchone()


def test_a_shard_whose_first_page_is_empty_is_still_scored(distributed_digits, citus_cluster):
    db = distributed_digits
    db.execute("CREATE TABLE many (LIKE digits_test INCLUDING ALL)")
    db.execute("SELECT create_distributed_table('many', 'id')")
    db.execute("INSERT INTO many SELECT c * 10000 + id, image, label FROM digits_test, "
               "generate_series(0, 19) c")
    db.execute("SELECT pgdl.create_predictions_table('many_p', 'm', 'many')")
    shard, port = db.execute("SELECT shard_name, nodeport FROM citus_shards WHERE table_name "
                             "= 'many'::regclass ORDER BY shardid LIMIT 1").fetchone()
    worker = [w for w in citus_cluster.workers if w.port == port][0]
    with psycopg.connect(worker.uri("pgdl_citus"), autocommit=True) as there:
        there.execute("SET citus.enable_manual_changes_to_shards = on")
        gone = there.execute('DELETE FROM "%s" WHERE ctid < \'(1,0)\'' % shard).rowcount
        assert gone > 0 and there.execute('SELECT count(*) FROM "%s"' % shard).fetchone()[0] > 0
    total = db.execute("SELECT count(*) FROM many").fetchone()[0]
    assert db.execute("SELECT count(*), count(class) FROM many_p").fetchone() == (total, total)
    assert "32 shards from 2 workers, %d rows" % total in explain(
        db, "SELECT class FROM many_p", analyze=True)
