"""Predictions over a distributed source on a Citus cluster: the same SQL
as on one node, the same predictions."""

import pytest

from helpers import import_digit_model

ROWS = ("SELECT count(*), md5(string_agg(concat_ws(',', id, version, class, probability), "
        "'|' ORDER BY id)) FROM %s")


def test_the_cluster_has_citus_and_pgdl_on_every_node(coordinator):
    nodes = coordinator.execute("SELECT count(*) FROM pg_dist_node WHERE isactive "
                                "AND noderole = 'primary'").fetchone()[0]
    versions = coordinator.execute(
        "SELECT result FROM run_command_on_workers($$SELECT extversion FROM pg_extension "
        "WHERE extname = 'pgdl'$$) ORDER BY nodeport").fetchall()
    assert nodes == 3 and versions == [("0.4.0",), ("0.4.0",)]


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
