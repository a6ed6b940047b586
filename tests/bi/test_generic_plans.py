"""Prepared statements past the point where PostgreSQL picks a generic plan."""

import psycopg
import pytest


def test_psycopg_prepared_statements_keep_working_after_the_5th_execution(digits_model, connect):
    conn = connect()
    expected = {key: cls for key, cls in conn.execute(
        "SELECT id, class FROM m_p WHERE id <= 12 ORDER BY id")}
    query = ("SELECT class FROM pgdl.predictions "
             "WHERE model = %s AND source = %s AND key = %s")
    for key in sorted(expected):
        # prepare=True: the 6th execution on runs PostgreSQL's generic plan
        got = conn.execute(query, ("m", "digits_test", str(key)), prepare=True).fetchall()
        assert got == [(str(expected[key]),)]
    per_table = "SELECT class, probability FROM m_p WHERE id = %s"
    for key in sorted(expected):
        assert conn.execute(per_table, (key,), prepare=True).fetchone()[0] == expected[key]


@pytest.fixture
def generic(db):
    db.execute("SET plan_cache_mode = force_generic_plan")
    return db


def test_a_generic_plan_resolves_model_source_and_version_when_the_scan_starts(digits_model,
                                                                             generic):
    db = generic
    db.execute("PREPARE q(text, text, int, text) AS SELECT version, class FROM pgdl.predictions "
               "WHERE model = $1 AND source = $2 AND version = $3 AND key = $4")
    direct = db.execute("SELECT class FROM m_p WHERE id = 7").fetchone()[0]
    assert db.execute("EXECUTE q('m', 'digits_test', 1, '7')").fetchall() == [(1, str(direct))]
    with pytest.raises(psycopg.errors.UndefinedObject, match='model "nope"'):
        db.execute("EXECUTE q('nope', 'digits_test', 1, '7')")
    db.rollback()


def test_explain_of_a_generic_plan_shows_what_is_pushed(digits_model, generic):
    db = generic
    db.execute("PREPARE g(text, text, text) AS SELECT class FROM pgdl.predictions "
               "WHERE model = $1 AND source = $2 AND key = $3")
    plan = "\n".join(r[0] for r in
                     db.execute("EXPLAIN (VERBOSE) EXECUTE g('m', 'digits_test', '5')"))
    assert "Model: $1, latest version (resolved when the scan starts)" in plan
    assert "Source: $2" in plan
    assert "Pushed Down: key::text = $3" in plan
    db.execute("PREPARE k(int) AS SELECT class FROM m_p WHERE id = $1")
    plan = "\n".join(r[0] for r in db.execute("EXPLAIN (VERBOSE) EXECUTE k(5)"))
    assert "Pushed Down: id = $1" in plan
    assert db.execute("EXECUTE k(5)").fetchone()[0] == \
        db.execute("SELECT class FROM m_p WHERE id = 5").fetchone()[0]
