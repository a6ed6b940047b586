"""PostgreSQL's JIT and TensorFlow each load LLVM, and a process holding
both crashes, taking the whole cluster down with it.  A session that runs
pgdl's Python compiles nothing with JIT, whatever jit says; a session that
JIT-compiled before gets a clear error instead of Keras."""

import psycopg
import pytest

from helpers import keras

JIT_QUERY = ("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) "
             "SELECT sum(x) FROM generate_series(1, 10) x")


def dense_json():
    k = keras()
    return k.Sequential([k.Input((4,)), k.layers.Dense(2)]).to_json()


def jit_used(conn):
    return any(row[0].strip().startswith("JIT") for row in conn.execute(JIT_QUERY))


def test_a_session_that_ran_pgdl_compiles_nothing_with_jit(connect):
    conn = connect()
    conn.execute("SET jit = on")
    conn.execute("SET jit_above_cost = 0")
    assert jit_used(conn)                  # JIT works here, before pgdl
    other = connect()
    other.execute("SET jit = on")
    other.execute("SET jit_above_cost = 0")
    other.execute("SELECT count(*) FROM pgdl.model_training").fetchone()
    assert not jit_used(other)
    other.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('j', %s)",
                  [dense_json()])
    assert not jit_used(other)
    assert other.execute("SELECT 1").fetchone() == (1,)


def test_keras_refuses_a_session_that_used_jit(connect):
    conn = connect()
    conn.execute("SET jit = on")
    conn.execute("SET jit_above_cost = 0")
    assert jit_used(conn)
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                       match="Keras cannot load in a session that compiled a query with JIT"):
        conn.execute("INSERT INTO pgdl.architectures (name, keras_json) VALUES ('j', %s)",
                     [dense_json()])
    # the server is still up, and so is the session
    assert conn.execute("SELECT 1").fetchone() == (1,)
    assert connect().execute("SELECT 1").fetchone() == (1,)
