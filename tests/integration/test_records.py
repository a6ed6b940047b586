"""The records C and Python exchange agree with their SQL definitions:
pgdl.datum field by field in order (C reads it by position), and the OUT
parameters of the dispatcher functions that C reads by name."""

import re
from pathlib import Path

from pgdl import records

FDW = Path(__file__).resolve().parents[2] / "fdw"


def _sql_fields(db, kind, name):
    if kind == "type":
        return tuple(a for a, in db.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = (SELECT typrelid FROM pg_type "
            "WHERE oid = %s::regtype) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (name,)))
    names, modes = db.execute("SELECT proargnames, proargmodes::text[] FROM pg_proc "
                              "WHERE oid = %s::regproc", (name,)).fetchone()
    return tuple(n for n, m in zip(names, modes) if m in ("o", "b"))


def _c_enum(name):
    header = (FDW / "pgdl_fdw.h").read_text()
    body = re.search(r"typedef enum %s\s*\{(.*?)\}" % name, header, re.S).group(1)
    return tuple(entry.strip()[len("DATUM_"):].lower() for entry in body.split(",")
                 if entry.strip() and entry.strip() != "DATUM_NATTS")


def _c_names_read(source, pattern=r'pgdl_record_field\(td, "(\w+)"'):
    return set(re.findall(pattern, (FDW / source).read_text()))


def test_pgdl_datum_is_the_same_in_sql_c_and_python(db):
    fields = _sql_fields(db, "type", "pgdl.datum")
    assert fields == records.DATUM_FIELDS
    assert _c_enum("PgdlDatumField") == fields


def test_the_dispatcher_records_c_reads_by_name_are_the_sql_ones(db):
    plan = _sql_fields(db, "function", "pgdl_internal._fdw_plan")
    assert plan == records.PLAN_FIELDS and _c_names_read("plan.c") == set(plan)
    source = _sql_fields(db, "function", "pgdl_internal._fdw_source")
    assert source == records.SOURCE_FIELDS and _c_names_read("scan.c") == set(source)
    error = _sql_fields(db, "function", "pgdl_internal._fdw_take_error")
    assert error == records.ERROR_FIELDS
    names = re.search(r"names\[\] = \{(.*?)\}", (FDW / "python_call.c").read_text()).group(1)
    assert tuple(re.findall(r'"(\w+)"', names)) == error


def test_a_record_names_every_field_and_refuses_others():
    assert records.record(records.SOURCE_FIELDS, sql="SELECT 1") == \
        {"sql": "SELECT 1", "batch_size": None, "first_batch": None}
    try:
        records.record(records.SOURCE_FIELDS, rows=1)
    except KeyError as error:
        assert "rows" in str(error)
    else:
        raise AssertionError("an unknown field was accepted")
