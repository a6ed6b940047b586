"""A cancel or statement_timeout stops a long scan within a second, with
PostgreSQL's usual cancel error, and the session stays usable."""

import threading
import time

import psycopg
import pytest


def cancel_after(conn_to_cancel, other, seconds):
    pid = conn_to_cancel.info.backend_pid

    def cancel():
        time.sleep(seconds)
        other.execute("SELECT pg_cancel_backend(%s)", (pid,))
    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


def timed_cancel(conn, connect, sql, delay=0.5):
    thread = cancel_after(conn, connect(), delay)
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as caught:
        conn.execute(sql).fetchall()
    elapsed = time.monotonic() - started - delay
    thread.join()
    assert caught.value.diag.message_primary == "canceling statement due to user request"
    assert elapsed < 1.0, "the scan went on %.2f s after the cancel" % elapsed
    assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def endless(db):
    db.execute("""CREATE FOREIGN TABLE endless (value int8) SERVER pgdl
                  OPTIONS (kind 'series', start '1', stop '1000000000000')""")
    db.commit()
    db.autocommit = True
    return db


def test_cancel_stops_a_scan_that_streams_rows(endless, connect):
    timed_cancel(endless, connect, "SELECT count(*) FROM endless")


def test_cancel_stops_a_parallel_scan(endless, connect):
    endless.execute("ALTER FOREIGN TABLE endless OPTIONS (ADD segments '3')")
    plan = endless.execute("EXPLAIN SELECT count(*) FROM endless").fetchall()
    assert any("Gather" in line for line, in plan)
    timed_cancel(endless, connect, "SELECT count(*) FROM endless")
    assert endless.execute("SELECT count(*) FROM endless WHERE value <= 5").fetchone() == (5,)


def test_statement_timeout_stops_a_scan(endless):
    endless.execute("SET statement_timeout = '300ms'")
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled,
                       match="canceling statement due to statement timeout"):
        endless.execute("SELECT count(*) FROM endless")
    assert time.monotonic() - started < 1.3
    endless.execute("RESET statement_timeout")
    assert endless.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("mode", ["spin", "sleep"])
def test_cancel_stops_python_that_never_yields(db, connect, mode):
    db.execute("""CREATE SERVER busy FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.BusyFDW')""")
    db.execute("CREATE FOREIGN TABLE busy (x text) SERVER busy OPTIONS (mode '%s')" % mode)
    db.commit()
    db.autocommit = True
    timed_cancel(db, connect, "SELECT * FROM busy")
    # the watcher's pending exception does not leak into later Python code
    assert db.execute("SELECT count(*) FROM (SELECT 1) s").fetchone() == (1,)
    db.execute("DO $$ x = sum(range(100000)) $$ LANGUAGE plpython3u")
