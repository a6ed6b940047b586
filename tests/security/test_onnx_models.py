"""Stored ONNX models are bytes and nothing else: no file they name is ever
read, and no model runs past a cancel or statement_timeout."""

import time

import psycopg
import pytest

from helpers import digit_model, external_data_onnx, hungry_onnx, looping_onnx

IMPORT = ("SELECT pgdl.import_onnx(%s, %s, class_values => '{0,1,2,3,4,5,6,7,8,9}', "
          "features => '{image}', normalizing_const => 16)")


def replace_onnx(db, owner, model, version, data):
    """What an import can no longer store, written by a superuser: as rows
    an older pgdl, a restore or a mistake may have left."""
    db.execute("DELETE FROM pgdl.model_onnx WHERE (owner, model, version) = (%s, %s, %s)",
               (owner, model, version))
    db.execute("INSERT INTO pgdl.model_onnx (owner, model, version, chunk, data) "
               "VALUES (%s, %s, %s, 0, %s)", (owner, model, version, data))
    db.commit()


def test_external_data_is_refused_on_import_and_never_read(alice_digits, db):
    alice, bob = alice_digits
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        alice.execute(IMPORT, ("stolen", external_data_onnx()))
    assert caught.value.diag.message_primary == \
        'tensor "W" of the ONNX model keeps its data in an external file'
    assert alice.execute("SELECT count(*) FROM pgdl.models WHERE model = 'stolen'"
                         ).fetchone() == (0,)
    replace_onnx(db, "alice", "m", 1, external_data_onnx())
    for sql in ("SELECT probabilities FROM m_predictions",
                "SELECT * FROM pgdl.evaluate('m', 'digits_test', label => 'label')"):
        with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
            alice.execute(sql).fetchall()
        assert "keeps its data in an external file" in caught.value.diag.message_primary


def test_loops_are_refused_on_import(alice_digits):
    alice, bob = alice_digits
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        alice.execute(IMPORT, ("spinner", looping_onnx()))
    assert caught.value.diag.message_primary.startswith(
        "the ONNX model has a Loop operator")


@pytest.mark.parametrize("sql", [
    "SELECT count(class) FROM m_predictions",
    "SELECT * FROM pgdl.evaluate('m', 'digits_test', label => 'label')",
])
def test_a_model_that_never_returns_stops_at_the_timeout(alice_digits, db, sql):
    alice, bob = alice_digits
    replace_onnx(db, "alice", "m", 1, looping_onnx())
    alice.execute("SET statement_timeout = '1s'")
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        alice.execute(sql).fetchall()
    assert time.monotonic() - started < 4
    alice.execute("RESET statement_timeout")
    assert alice.execute("SELECT 1").fetchone() == (1,)


def test_a_model_that_never_returns_stops_at_a_terminate(alice_digits, db, connect):
    alice, bob = alice_digits
    replace_onnx(db, "alice", "m", 1, looping_onnx())
    pid = alice.info.backend_pid
    watcher = connect()
    started = time.monotonic()

    def terminate_soon():
        time.sleep(1)
        watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))

    import threading
    thread = threading.Thread(target=terminate_soon)
    thread.start()
    with pytest.raises(psycopg.OperationalError):
        alice.execute("SELECT count(class) FROM m_predictions").fetchall()
    thread.join()
    assert time.monotonic() - started < 5
    # the server did not restart: other sessions carry on
    assert watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                           (pid,)).fetchone() == (0,)
    assert db.execute("SELECT 1").fetchone() == (1,)


def test_a_model_takes_no_more_memory_than_allowed(roles, db):
    alice, bob = roles
    alice.execute("SELECT pgdl.site_packages()")               # loads pgdl
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        alice.execute("SET pgdl.onnx_memory_limit = '100GB'")
    db.execute("SET pgdl.onnx_memory_limit = '64MB'")      # before this backend scores
    with pytest.raises(psycopg.errors.OutOfMemory) as caught:
        db.execute(IMPORT, ("hungry", hungry_onnx(2 ** 26)))    # 256 MB
    assert caught.value.diag.message_primary == \
        "the ONNX model needs more memory than pgdl.onnx_memory_limit (64 MB) allows"
    db.rollback()
    assert db.execute(IMPORT, ("fits", hungry_onnx(2 ** 20))).fetchone() == (1,)
    assert db.execute(IMPORT, ("plain", digit_model()[0])).fetchone() == (1,)
