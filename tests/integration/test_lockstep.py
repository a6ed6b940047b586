"""Segments in lockstep (pgdl.exchange): one process per segment, all at
once, a shared slot each and a barrier; how training merges weights after
every iteration without ending the scan."""

import threading
import time

import psycopg
import pytest


@pytest.fixture
def lockstep(db):
    db.execute("""CREATE SERVER lock FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.LockstepFDW')""")
    db.commit()

    def table(name, **options):
        text = ", ".join("%s '%s'" % item for item in options.items())
        db.execute("CREATE FOREIGN TABLE %s (segment int, round int, total float8, pid int) "
                   "SERVER lock OPTIONS (%s)" % (name, text))
        db.commit()
    return table


def test_segments_meet_at_the_barrier_every_round(db, lockstep):
    lockstep("ls", segments=3, rounds=4)
    rows = db.execute("SELECT segment, round, total, pid FROM ls").fetchall()
    assert sorted((s, r, t) for s, r, t, _ in rows) == sorted(
        (s, r, 6.0 * (r + 1)) for s in range(3) for r in range(4))
    pids = {s: {p for s2, _, _, p in rows if s2 == s} for s in range(3)}
    assert all(len(p) == 1 for p in pids.values()) and len(set.union(*pids.values())) == 3
    leader = db.execute("SELECT pg_backend_pid()").fetchone()[0]
    assert pids[0] == {leader}


def test_a_single_segment_runs_without_workers(db, lockstep):
    lockstep("one", segments=1)
    assert db.execute("SELECT total FROM one ORDER BY round").fetchall() == \
        [(1.0,), (2.0,), (3.0,)]


@pytest.mark.parametrize("failing", [0, 2])
def test_a_failing_segment_stops_the_others_and_its_error_arrives(db, lockstep, failing):
    lockstep("bad", segments=3, fail_segment=failing)
    started = time.monotonic()
    with pytest.raises(psycopg.errors.ExternalRoutineException,
                       match="Error in python: ValueError") as caught:
        db.execute("SELECT * FROM bad").fetchall()
    assert caught.value.diag.message_detail == "segment %d gave up" % failing
    assert time.monotonic() - started < 5
    db.rollback()
    assert db.execute("SELECT count(*) FROM bad WHERE false").fetchone() == (0,)


def test_without_a_parallel_plan_it_says_what_it_needs(db, lockstep):
    lockstep("ls", segments=3)
    db.execute("SET max_parallel_workers_per_gather = 0")
    with pytest.raises(psycopg.errors.InsufficientResources) as caught:
        db.execute("SELECT * FROM ls")
    assert caught.value.diag.message_primary == \
        "this scan runs 3 segments at once and needs a parallel plan"


def test_when_workers_cannot_start_it_says_so(db, lockstep):
    lockstep("ls", segments=3)
    db.execute("SET max_parallel_workers = 1")
    with pytest.raises(psycopg.errors.InsufficientResources,
                       match="only 2 of 3 segments could start"):
        db.execute("SELECT * FROM ls").fetchall()


def test_cancel_while_segments_wait_at_the_barrier(db, lockstep, connect):
    lockstep("busy", segments=3, spin=1)
    db.autocommit = True
    other = connect()
    pid = db.info.backend_pid

    def cancel():
        time.sleep(1.0)
        other.execute("SELECT pg_cancel_backend(%s)", (pid,))
    thread = threading.Thread(target=cancel)
    thread.start()
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        db.execute("SELECT * FROM busy").fetchall()
    thread.join()
    assert time.monotonic() - started < 2.0
    assert db.execute("SELECT 1").fetchone() == (1,)
