"""Quals handed to Python, pinned through EXPLAIN VERBOSE, and the values
Python received (reported by tests/wrappers RecordingFDW as INFO messages)."""

from decimal import Decimal

import pytest

from helpers import reported

TABLE = """
CREATE SERVER recording FOREIGN DATA WRAPPER pgdl_fdw
    OPTIONS (wrapper 'multicorn_style.RecordingFDW');
CREATE FOREIGN TABLE typed (i int4, b int8, f float8, t text, y bytea,
                            ia int4[], ta text[], flag bool, n numeric) SERVER recording;
"""


@pytest.fixture
def typed(db):
    db.execute(TABLE)
    return db


def explain_line(db, sql, label):
    plan = [row[0] for row in db.execute("EXPLAIN (VERBOSE, COSTS OFF) " + sql)]
    lines = [line.strip() for line in plan if line.strip().startswith(label + ":")]
    assert len(lines) == 1, plan
    return lines[0][len(label) + 1:].strip()


def received_quals(messages):
    return reported(messages, "quals: ", tuples_at=(1,))     # (operator, is ANY)


# (WHERE clause, what EXPLAIN VERBOSE shows, what Python receives)
CASES = [
    ("i = 5", "i = 5", ("i", "=", 5, "int")),  # equality, int4 constant
    ("i <> 5", "i <> 5", ("i", "<>", 5, "int")),
    ("i < 5", "i < 5", ("i", "<", 5, "int")),
    ("i <= 5", "i <= 5", ("i", "<=", 5, "int")),
    ("i > 5", "i > 5", ("i", ">", 5, "int")),
    ("i >= 5", "i >= 5", ("i", ">=", 5, "int")),
    ("5 < i", "i > 5", ("i", ">", 5, "int")),  # constant on the left: commuted
    ("b = 1099511627776", "b = '1099511627776'::bigint", ("b", "=", 2 ** 40, "int")),
    ("f >= 0.5", "f >= '0.5'::double precision", ("f", ">=", 0.5, "float")),
    ("n = 1.5", "n = 1.5", ("n", "=", Decimal("1.5"), "Decimal")),
    ("t = 'x'", "t = 'x'::text", ("t", "=", "x", "str")),
    ("t LIKE 'a%'", "t ~~ 'a%'::text", ("t", "~~", "a%", "str")),
    ("y = '\\x00ff'", "y = '\\x00ff'::bytea", ("y", "=", b"\x00\xff", "bytes")),
    ("flag", "flag = true", ("flag", "=", True, "bool")),  # a boolean column on its own
    ("flag = true", "flag = true", ("flag", "=", True, "bool")),
    ("NOT flag", "flag = false", ("flag", "=", False, "bool")),
    ("ia = '{1,2}'", "ia = '{1,2}'::integer[]", ("ia", "=", [1, 2], "list")),
    ("i IN (1, 2)", "i = ANY ('{1,2}'::integer[])", ("i", ("=", True), [1, 2], "list")),
    ("i = ANY (ARRAY[3, 4])", "i = ANY ('{3,4}'::integer[])", ("i", ("=", True), [3, 4], "list")),
    ("i <> ALL (ARRAY[3, 4])", "i <> ALL ('{3,4}'::integer[])",
     ("i", ("<>", False), [3, 4], "list")),
    ("t = ANY ('{a,NULL}')", "t = ANY ('{a,NULL}'::text[])",
     ("t", ("=", True), ["a", None], "list")),
    ("t IS NULL", "t IS NULL", ("t", "=", None, "NoneType")),
    ("t IS NOT NULL", "t IS NOT NULL", ("t", "<>", None, "NoneType")),
    # boolean tests, as multicorn2 hands them: "IS" / "IS NOT" and True, False or None
    ("flag IS TRUE", "flag IS true", ("flag", "IS", True, "bool")),
    ("flag IS NOT TRUE", "flag IS NOT true", ("flag", "IS NOT", True, "bool")),
    ("flag IS FALSE", "flag IS false", ("flag", "IS", False, "bool")),
    ("flag IS NOT FALSE", "flag IS NOT false", ("flag", "IS NOT", False, "bool")),
    ("flag IS UNKNOWN", "flag IS UNKNOWN", ("flag", "IS", None, "NoneType")),
    ("flag IS NOT UNKNOWN", "flag IS NOT UNKNOWN", ("flag", "IS NOT", None, "NoneType")),
]


@pytest.mark.parametrize("where, shown, handed", CASES, ids=[case[0] for case in CASES])
def test_qual_against_a_constant(typed, messages, where, shown, handed):
    sql = "SELECT * FROM typed WHERE " + where
    assert explain_line(typed, sql, "Python Quals") == shown
    typed.execute(sql).fetchall()
    assert received_quals(messages) == [handed]


PARAM_CASES = [
    ("i = $1", "int4", 7, "i = $1", ("i", "=", 7, "int")),
    ("i < $1", "int4", 7, "i < $1", ("i", "<", 7, "int")),
    ("t >= $1", "text", "m", "t >= $1", ("t", ">=", "m", "str")),
    ("f <> $1", "float8", 2.5, "f <> $1", ("f", "<>", 2.5, "float")),
    ("y = $1", "bytea", b"\x01", "y = $1", ("y", "=", b"\x01", "bytes")),
    ("flag = $1", "bool", True, "flag = $1", ("flag", "=", True, "bool")),
    ("i = ANY ($1)", "int4[]", [5, 6], "i = ANY ($1)", ("i", ("=", True), [5, 6], "list")),
]


@pytest.mark.parametrize("where, type_, value, shown, handed", PARAM_CASES,
                         ids=[case[0] for case in PARAM_CASES])
def test_qual_against_a_query_parameter(typed, messages, where, type_, value, shown, handed):
    typed.execute("SET plan_cache_mode = force_generic_plan")
    typed.execute("PREPARE q(%s) AS SELECT * FROM typed WHERE %s" % (type_, where))
    literal = {"int4": "7", "text": "'m'", "float8": "2.5", "bytea": "'\\x01'",
               "int4[]": "'{5,6}'", "bool": "true"}[type_]
    assert explain_line(typed, "EXECUTE q(%s)" % literal, "Python Quals") == shown
    typed.execute("EXECUTE q(%s)" % literal).fetchall()
    assert received_quals(messages) == [handed]


@pytest.mark.parametrize("where", [
    "i + 1 = 5",            # an expression on the column
    "i = b",                # two columns
    "i = 1 OR i = 2",       # OR of quals
    "f > random()",         # a volatile value
])
def test_quals_that_stay_local(typed, messages, where):
    sql = "SELECT * FROM typed WHERE " + where
    assert explain_line(typed, sql, "Python Quals") == ""
    assert "Filter:" in "".join(r[0] for r in typed.execute("EXPLAIN (VERBOSE) " + sql))
    typed.execute(sql).fetchall()
    assert received_quals(messages) == []


def test_postgresql_rechecks_every_qual(typed):
    # RecordingFDW ignores its quals and yields all rows: the filter still holds.
    assert typed.execute("SELECT i FROM typed WHERE i = 3").fetchall() == [(3,)]
    assert typed.execute("SELECT count(*) FROM typed WHERE t IS NULL").fetchone() == (1,)


def test_columns_handed_are_those_the_query_reads(typed, messages):
    assert explain_line(typed, "SELECT t FROM typed WHERE i = 1", "Python Columns") == "i, t"
    typed.execute("SELECT t FROM typed WHERE i = 1").fetchall()
    assert [m for m in messages if m[1].startswith("columns")][-1][1] == "columns: ['i', 't']"
    assert explain_line(typed, "SELECT count(*) FROM typed", "Python Columns") == ""
    assert explain_line(typed, "SELECT typed FROM typed", "Python Columns") == \
        "i, b, f, t, y, ia, ta, flag, n"


def test_series_pushdown_narrows_the_rows_python_makes(db):
    db.execute("""CREATE FOREIGN TABLE nums (value int8) SERVER pgdl
                  OPTIONS (kind 'series', start '1', stop '1000000')""")
    line = explain_line(db, "SELECT * FROM nums WHERE value > 10 AND value <= 15", "Series")
    assert line == "5 values from 1 by 1"
    rows = db.execute("SELECT value FROM nums WHERE value > 10 AND value <= 15").fetchall()
    assert [r[0] for r in rows] == [11, 12, 13, 14, 15]
    assert db.execute("SELECT value FROM nums WHERE value IN (3, 999999)").fetchall() == \
        [(3,), (999999,)]
