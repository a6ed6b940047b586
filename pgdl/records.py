"""The records C and Python exchange, defined once on the Python side.

Each is a SQL composite type or a function's OUT parameters
(sql/pgdl--0.1.0.sql and its upgrades); fdw/pgdl_fdw.h names the same
fields for C.  tests/integration/test_records.py checks all three against
pg_attribute.  PL/Python reads and forms records by field name, so Python
builds them as dicts with these names.
"""

from typing import Any, Mapping

# A record as PL/Python hands it over (a pgdl.datum row) and as Python forms one.
Datum = Mapping[str, Any]
Record = dict[str, Any]

# pgdl.datum: a qual or column value on its way to Python (fdw/values.c), or
# a column of a batch on its way back (fdw/columns.c), in the slot of its
# natural Python type.  C reads and forms it by position (PgdlDatumField).
DATUM_FIELDS = ("name", "op", "quantifier", "i", "f", "n", "b", "t", "y",
                "ia", "fa", "na", "ba", "ta", "ya")
DATUM_VALUE_SLOTS = DATUM_FIELDS[3:]

# pgdl_internal._fdw_plan's OUT parameters, read by fdw/plan.c by name
PLAN_FIELDS = ("rows", "width", "segments", "parallel_safe", "has_source", "exchange_bytes",
               "state", "columnar", "participant_cost", "path_keys", "startup_cost")

# pgdl_internal._fdw_source's, read by fdw/scan.c by name
SOURCE_FIELDS = ("sql", "batch_size", "first_batch")

# pgdl_internal._fdw_take_error's, read by fdw/python_call.c by name
ERROR_FIELDS = ("message", "detail", "hint", "sqlstate", "context")


def record(fields: tuple[str, ...], **values: Any) -> Record:
    """A record of these fields as PL/Python forms it: every field named."""
    unknown = set(values) - set(fields)
    if unknown:
        raise KeyError("not a field of this record: %s" % ", ".join(sorted(unknown)))
    return {field: values.get(field) for field in fields}
