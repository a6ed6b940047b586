"""Batches of rows handed over as columns (execute_columns, fdw/columns.c)."""

import datetime

import psycopg
import pytest


@pytest.fixture
def batches(db):
    db.execute("""CREATE SERVER batches FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'batch_style.BatchFDW')""")
    db.execute("""CREATE FOREIGN TABLE numbers (id int4, score float8, flag bool, label text,
                  tags text[], weights float8[], maybe int2, stamp timestamp, missing text)
                  SERVER batches""")
    db.commit()
    return db


def test_every_type_arrives_as_python_gave_it(batches):
    rows = batches.execute("SELECT * FROM numbers ORDER BY id").fetchall()
    assert len(rows) == 7
    assert rows[0] == (0, 0.0, True, None, ["a", 'b"c', None], [0.0, 0.5], 0,
                       datetime.datetime(2026, 11, 27, 10, 0), None)
    assert rows[5] == (5, 2.5, False, "row 5", ["a", 'b"c', None], [5.0, 5.5], None,
                       datetime.datetime(2026, 11, 27, 10, 5), None)


def test_only_the_columns_read_are_sent_and_row_counts_hold(batches):
    assert batches.execute("SELECT count(*) FROM numbers").fetchone() == (7,)
    assert batches.execute("SELECT sum(id), count(label) FROM numbers WHERE flag").fetchone() \
        == (12, 2)
    assert batches.execute("SELECT id FROM numbers LIMIT 2").fetchall() == [(0,), (1,)]


@pytest.mark.parametrize("mode, error, message", [
    ("short", psycopg.errors.FdwError, 'column "label" of a batch has 2 values, not 3'),
    ("unknown", psycopg.errors.FdwColumnNameNotFound,
     'a batch has column "nope", which the foreign table lacks'),
    ("overflow", psycopg.errors.NumericValueOutOfRange,
     'value 1099511627776 is out of range for column "maybe"'),
])
def test_a_malformed_batch_is_an_error(batches, mode, error, message):
    batches.execute("ALTER FOREIGN TABLE numbers OPTIONS (ADD mode '%s')" % mode)
    with pytest.raises(error) as caught:
        batches.execute("SELECT * FROM numbers").fetchall()
    assert caught.value.diag.message_primary == message
