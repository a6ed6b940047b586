"""Plans a dashboard gets: serial when a worker would not pay, lookups for
joins on the key, parameters resolved when the scan starts."""

import pytest


def plan_of(db, sql):
    return "\n".join(line for line, in db.execute("EXPLAIN " + sql))


def reads_of_big(db):
    """Rows of big read so far in this transaction, by scans and by index lookups."""
    return db.execute("SELECT seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables "
                      "WHERE relname = 'big'").fetchone()


@pytest.fixture
def two_segments(digits_model):
    digits_model.execute("SELECT pgdl.create_predictions_table('m_p2', 'm', 'digits_test', "
                         "segments => 2)")
    digits_model.commit()
    return digits_model


@pytest.mark.parametrize("query", [
    "SELECT id FROM m_p2 LIMIT 10",
    "SELECT class, count(*) FROM m_p2 GROUP BY class",
    "SELECT class FROM m_p2 WHERE id = 5",
    "SELECT class FROM m_p2 WHERE id IN (1, 2, 3)",
])
def test_small_limited_and_keyed_queries_on_two_segments_stay_serial(two_segments, query):
    plan = plan_of(two_segments, query)
    assert "Gather" not in plan, plan
    assert plan_of(two_segments, query.replace("m_p2", "m_p")).count("\n") == plan.count("\n")


def test_parallel_setup_cost_zero_still_buys_the_parallel_plan(two_segments):
    two_segments.execute("SET parallel_setup_cost = 0")
    assert "Gather" in plan_of(two_segments, "SELECT class, count(*) FROM m_p2 GROUP BY class")


@pytest.fixture
def big(digits_model):
    """big: 100,000 rows of digits, keyed by id, and its predictions table."""
    db = digits_model
    db.execute("CREATE TABLE big AS SELECT g AS id, d.image, d.label "
               "FROM generate_series(1, 100000) g "
               "JOIN digits_test d ON d.id = (SELECT min(id) FROM digits_test)")
    db.execute("ALTER TABLE big ADD PRIMARY KEY (id)")
    db.execute("ANALYZE big")
    db.execute("SELECT pgdl.create_predictions_table('big_p', 'm', 'big', segments => 2)")
    db.commit()
    return db


@pytest.mark.parametrize("where, matched", [("s.id < 100", 99), ("s.id IN (1, 2, 3)", 3)])
def test_a_join_on_the_key_scores_only_about_the_joined_rows(big, where, matched):
    db = big
    query = ("SELECT p.id, p.class, s.label FROM big_p p JOIN big s USING (id) WHERE %s"
             % where)
    plan = plan_of(db, "(VERBOSE) " + query)
    assert "Nested Loop" in plan and "Pushed Down: id = (a value of the outer query)" in plan
    before = reads_of_big(db)
    found = db.execute(query).fetchall()
    after = reads_of_big(db)
    # the source rows read: index lookups (the outer side's, and the scorer's windows,
    # which grow by doubling: at most twice the rows joined), no scan
    assert len(found) == matched and after[0] == before[0]
    assert after[1] - before[1] <= 3 * matched + 2
    direct = db.execute("SELECT id, class FROM big_p WHERE id = ANY (%s) ORDER BY id",
                        ([r[0] for r in found],)).fetchall()
    assert sorted((r[0], r[1]) for r in found) == direct
    db.rollback()


def test_a_join_through_a_view_keeps_the_lookup(big):
    db = big
    db.execute("CREATE VIEW scored AS SELECT p.id, p.class, s.label "
               "FROM big_p p JOIN big s USING (id)")
    plan = plan_of(db, "SELECT * FROM scored WHERE id IN (7, 8)")
    assert "Nested Loop" in plan or "Foreign Scan on big_p" in plan
    before = reads_of_big(db)
    assert db.execute("SELECT count(*) FROM scored WHERE id IN (7, 8)").fetchone() == (2,)
    assert reads_of_big(db)[0] == before[0]
    db.rollback()


def test_lookups_in_key_order_read_the_source_in_growing_windows(big):
    db = big
    db.execute("DELETE FROM big WHERE id % 10 = 3")              # gaps in the keys
    query = ("SELECT p.id, p.class, p.probability FROM big_p p "
             "JOIN generate_series(1, 110) k ON p.id = k ORDER BY p.id")
    assert "Nested Loop" in plan_of(db, query)
    scans = "SELECT idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'big'"
    before = db.execute(scans).fetchone()[0]
    joined = db.execute(query).fetchall()
    windows = db.execute(scans).fetchone()[0] - before
    direct = db.execute("SELECT id, class, probability FROM big_p WHERE id <= 110 "
                        "ORDER BY id").fetchall()
    assert joined == direct and len(joined) == 99
    # windows of 1, 2, 4, ... 64 rows, not one source query per key (each query's
    # plan probes the index once more, for its estimate of id >= k)
    assert windows <= 2 * 7
    db.rollback()


def test_lookups_in_any_order_and_after_a_change_score_what_the_statement_sees(big):
    db = big
    keys = [70, 3, 3, 99999, 12, 100001, 4]
    query = ("SELECT k, p.class, p.probability FROM unnest(%s::int[]) WITH ORDINALITY u(k, n) "
             "JOIN big_p p ON p.id = u.k ORDER BY u.n")
    first = db.execute(query, (keys,)).fetchall()
    assert [r[0] for r in first] == [70, 3, 3, 99999, 12, 4]
    # another image for key 12: the next statement scores the new row
    other = db.execute("SELECT d.id FROM m_p d JOIN m_p e ON e.id = (SELECT min(id) "
                       "FROM digits_test) WHERE d.class <> e.class LIMIT 1").fetchone()[0]
    db.execute("UPDATE big SET image = (SELECT image FROM digits_test WHERE id = %s) "
               "WHERE id = 12", (other,))
    again = dict((r[0], r[1:]) for r in db.execute(query, (keys,)).fetchall())
    assert again[12] == db.execute("SELECT class, probability FROM m_p WHERE id = %s",
                                   (other,)).fetchone()
    assert again[12] != dict((r[0], r[1:]) for r in first)[12]
    assert again[70] == dict((r[0], r[1:]) for r in first)[70]
    db.rollback()
