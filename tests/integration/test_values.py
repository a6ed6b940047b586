"""Values cross between PostgreSQL and Python in their natural types."""

from decimal import Decimal

import pytest

from helpers import reported


@pytest.fixture
def typed(db):
    db.execute("""
        CREATE SERVER recording FOREIGN DATA WRAPPER pgdl_fdw
            OPTIONS (wrapper 'multicorn_style.RecordingFDW');
        CREATE FOREIGN TABLE typed (i int4, b int8, f float8, t text, y bytea,
                                    ia int4[], ta text[], flag bool, n numeric)
            SERVER recording""")
    db.commit()
    return db


def test_rows_from_python_arrive_typed(typed):
    rows = typed.execute("SELECT * FROM typed").fetchall()
    assert rows[0] == (1, 2 ** 40, 0.1, "one", b"\x00\x01\xff", [1, 2, 3], ["a", None, "c"],
                       True, Decimal("1.5"))
    assert rows[1] == (None,) * 9      # None for every column, from a dict
    assert rows[2] == (3, 4, 2.5, "three", b"", [[1, 2], [3, 4]], [], False, Decimal(7))


def test_insert_hands_python_typed_values_and_returning_shows_its_row(typed, messages):
    row = typed.execute("""
        INSERT INTO typed VALUES (21, 2, 0.25, 'x', '\\x0102', '{1,NULL}', '{a}', false, 1.25)
        RETURNING i, b, f, t, y, ia, ta, flag, n""").fetchone()
    received = reported(messages, "insert: ")
    assert received == sorted([
        ("b", 2, "int"), ("f", 0.25, "float"), ("flag", False, "bool"), ("i", 21, "int"),
        ("ia", [1, None], "list"), ("n", Decimal("1.25"), "Decimal"), ("t", "x", "str"),
        ("ta", ["a"], "list"), ("y", b"\x01\x02", "bytes")])
    # RecordingFDW doubles i in the row it returns; RETURNING shows that row.
    assert row == (42, 2, 0.25, "x", b"\x01\x02", [1, None], ["a"], False, Decimal("1.25"))


def test_insert_of_several_rows_and_nulls(typed, messages):
    typed.execute("INSERT INTO typed (i, t) SELECT g, 'row ' || g FROM generate_series(1, 3) g")
    reports = [text for _, text, _ in messages if text.startswith("insert: ")]
    assert len(reports) == 3
    last = reported(messages, "insert: ")
    assert ("b", None, "NoneType") in last and ("i", 3, "int") in last


def test_update_and_delete_hand_over_the_rowid_and_typed_values(typed, messages):
    typed.execute("UPDATE typed SET t = 'x', flag = true WHERE i = 1")
    received = reported(messages, "update: ")
    assert received[0] == ("rowid", 1, "int")
    assert ("flag", True, "bool") in received and ("t", "x", "str") in received
    typed.execute("DELETE FROM typed WHERE i = 3")
    assert reported(messages, "delete: ") == [("rowid", 3, "int")]


def test_a_row_with_the_wrong_number_of_values_is_an_error(db):
    db.execute("""CREATE SERVER recording FOREIGN DATA WRAPPER pgdl_fdw
                  OPTIONS (wrapper 'multicorn_style.RecordingFDW')""")
    db.execute("CREATE FOREIGN TABLE narrow (i int4, t text) SERVER recording")
    import psycopg
    with pytest.raises(psycopg.errors.InternalError, match="has 9 values; the table has 2"):
        # the third row of RecordingFDW is a 9-tuple
        db.execute("SELECT * FROM narrow").fetchall()
