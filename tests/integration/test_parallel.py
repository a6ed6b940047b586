"""Parallel-aware scans: participants split a table's rows into segments."""

import pytest


@pytest.fixture
def numbers(db):
    db.execute("""CREATE FOREIGN TABLE numbers (value int8, segment int4, pid int4)
                  SERVER pgdl OPTIONS (kind 'series', start '1', stop '300000', segments '3')""")
    db.commit()
    return db


def plan(db, sql):
    return "\n".join(row[0] for row in db.execute("EXPLAIN (VERBOSE, COSTS OFF) " + sql))


def test_two_workers_and_the_leader_each_run_their_own_segment(numbers):
    sql = "SELECT segment, pid, count(*), min(value), max(value) FROM numbers GROUP BY 1, 2"
    text = plan(numbers, sql)
    assert "Workers Planned: 2" in text and "Parallel Foreign Scan" in text
    assert "Segments: 3" in text
    leader = numbers.execute("SELECT pg_backend_pid()").fetchone()[0]
    rows = sorted(numbers.execute(sql).fetchall())
    assert [row[0] for row in rows] == [0, 1, 2]          # each segment once
    assert len({row[1] for row in rows}) == 3               # each by its own participant
    assert leader in {row[1] for row in rows}
    assert [(row[2], row[3], row[4]) for row in rows] == [
        (100000, 1, 100000), (100000, 100001, 200000), (100000, 200001, 300000)]


def test_every_row_comes_back_exactly_once(numbers):
    total, distinct, low, high = numbers.execute(
        "SELECT count(*), count(DISTINCT value), min(value), max(value) FROM numbers").fetchone()
    assert (total, distinct, low, high) == (300000, 300000, 1, 300000)


@pytest.mark.parametrize("setting", [
    "max_parallel_workers_per_gather = 0",   # a serial plan runs all segments
    "max_parallel_workers = 0",              # planned workers that never start
])
def test_all_segments_run_when_workers_do_not(numbers, setting):
    numbers.execute("SET " + setting)
    rows = sorted(numbers.execute(
        "SELECT segment, count(*) FROM numbers GROUP BY 1").fetchall())
    assert rows == [(0, 100000), (1, 100000), (2, 100000)]


def test_workers_are_capped_but_segments_are_not(numbers):
    numbers.execute("SET max_parallel_workers_per_gather = 1")
    assert "Workers Planned: 1" in plan(numbers, "SELECT count(*) FROM numbers")
    rows = sorted(numbers.execute(
        "SELECT segment, count(*) FROM numbers GROUP BY 1").fetchall())
    assert rows == [(0, 100000), (1, 100000), (2, 100000)]


def test_segments_from_the_server_option(db):
    db.execute("CREATE SERVER split FOREIGN DATA WRAPPER pgdl_fdw OPTIONS (wrapper 'pgdl', segments '2')")
    db.execute("""CREATE FOREIGN TABLE halves (value int8, segment int4) SERVER split
                  OPTIONS (kind 'series', start '1', stop '10')""")
    assert "Workers Planned: 1" in plan(db, "SELECT * FROM halves")
    rows = db.execute("SELECT segment, array_agg(value ORDER BY value) FROM halves "
                      "GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [(0, [1, 2, 3, 4, 5]), (1, [6, 7, 8, 9, 10])]


def test_a_single_segment_scan_is_not_parallel(db):
    db.execute("""CREATE FOREIGN TABLE one (value int8) SERVER pgdl
                  OPTIONS (kind 'series', start '1', stop '1000')""")
    text = plan(db, "SELECT count(*) FROM one")
    assert "Gather" not in text and "Segments" not in text


def test_a_wrapper_that_cannot_split_never_runs_in_a_worker(db):
    db.execute("""CREATE SERVER constant FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.ConstantFDW', segments '4')""")
    db.execute("CREATE FOREIGN TABLE c (a text) SERVER constant OPTIONS (rows '100000')")
    text = plan(db, "SELECT count(*) FROM c")
    assert "Gather" not in text
    assert db.execute("SELECT count(*) FROM c").fetchone() == (100000,)


def test_rescan_runs_every_segment_again(numbers):
    rows = numbers.execute("""
        SELECT k, (SELECT count(*) FROM numbers WHERE value <= k * 10)
        FROM generate_series(1, 3) k""").fetchall()
    assert rows == [(1, 10), (2, 20), (3, 30)]
