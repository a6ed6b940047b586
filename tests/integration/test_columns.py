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
    assert_fails_in_mode(batches, "numbers", mode, error, message)


def assert_fails_in_mode(db, table, mode, error, message):
    db.execute("ALTER FOREIGN TABLE %s OPTIONS (ADD mode '%s')" % (table, mode))
    with pytest.raises(error) as caught:
        db.execute("SELECT * FROM %s" % table).fetchall()
    assert caught.value.diag.message_primary == message


# Coded columns and 2-D arrays (what predictions send)

@pytest.fixture
def coded(db):
    db.execute("""CREATE SERVER coded FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'batch_style.CodedFDW');
                  CREATE FOREIGN TABLE graded (id int8, grade text, pair float8[],
                                               ranks text[], level int4) SERVER coded""")
    return db


def test_coded_columns_and_float_arrays_arrive_as_values(coded):
    rows = coded.execute("SELECT * FROM graded ORDER BY id").fetchall()
    assert rows[:3] == [(0, "low", [0.0, 0.0], ["low", "mid"], 10),
                        (1, "mid", [0.5, 0.25], ["mid", "high"], 20),
                        (2, "high", [1.0, 0.5], ["high", "low"], 30)]
    assert len(rows) == 5


def test_a_code_of_minus_one_is_null(coded):
    coded.execute("ALTER FOREIGN TABLE graded OPTIONS (ADD bad '1')")
    assert coded.execute("SELECT grade, level FROM graded WHERE id = 1").fetchone() \
        == (None, None)


def test_a_float_array_for_another_array_type_goes_as_text(coded):
    coded.execute("ALTER FOREIGN TABLE graded ALTER COLUMN pair TYPE int4[]")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation,
                       match='invalid input syntax for type integer: "0.0"'):
        coded.execute("SELECT pair FROM graded").fetchall()


# Plain rows in batches (batch_rows)

@pytest.fixture
def plain(db):
    db.execute("""CREATE SERVER plain FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'batch_style.RowsFDW');
                  CREATE FOREIGN TABLE made (id int4, label varchar(8), score float4,
                                             flag bool, data bytea) SERVER plain""")
    return db


def test_plain_rows_in_batches_arrive_as_the_row_path_gives_them(plain):
    rows = plain.execute("SELECT * FROM made ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [0, 1, 2, 4, 5, 6, 8, 9]        # None rows skipped
    assert rows[:3] == [(0, None, 0.0, True, None), (1, "row 1", 0.25, False, b"\x01"),
                        (2, "row 2", 0.5, False, None)]
    plan = "\n".join(r[0] for r in plain.execute("EXPLAIN SELECT * FROM made"))
    assert "Foreign Scan on made" in plan


def test_a_limit_stops_a_batched_scan_early(plain, messages):
    plain.execute("ALTER FOREIGN TABLE made OPTIONS (ADD rows '100000')")
    assert len(plain.execute("SELECT id FROM made LIMIT 3").fetchall()) == 3
    made = [int(text.split()[1]) for _, text, _ in messages if text.startswith("made ")]
    assert made and made[-1] <= 64 * 4 // 3 + 1     # the first batch: 64 rows, None skipped


@pytest.mark.parametrize("mode, error, message", [
    ("float", psycopg.errors.InvalidTextRepresentation,
     'invalid input syntax for type integer: "1.5"'),
    ("long", psycopg.errors.StringDataRightTruncation,
     "value too long for type character varying(8)"),
])
def test_values_a_column_cannot_hold_are_errors_in_batches_too(plain, mode, error, message):
    assert_fails_in_mode(plain, "made", mode, error, message)


# Source rows (fdw/source.c): numbers, booleans and bytea in one buffer each

def test_source_rows_round_trip_every_form_with_nulls(db):
    db.execute("""CREATE TABLE origin (id int8, small int2, ratio float4, ok bool, blob bytea,
                                       note text);
                  INSERT INTO origin VALUES (1, 7, 0.5, true, '\\x00ff', 'a'),
                                            (2, NULL, NULL, NULL, NULL, NULL),
                                            (3, -2, 1.25, false, '', 'c'),
                                            (4, 32767, -3, true, '\\x0102', 'd'),
                                            (5, 1, 2, false, '\\x03', NULL);
                  CREATE SERVER sourced FOREIGN DATA WRAPPER pgdl_fdw
                      OPTIONS (wrapper 'batch_style.SourceFDW');
                  CREATE FOREIGN TABLE mirror (id int8, small int2, ratio float4, ok bool,
                                               blob bytea, note text)
                      SERVER sourced OPTIONS (table 'public.origin')""")
    assert db.execute("SELECT * FROM mirror").fetchall() == \
        db.execute("SELECT * FROM origin ORDER BY id").fetchall()
