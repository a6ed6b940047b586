"""Batches of rows as columns, on their way to C (fdw/columns.c).

A column of integers, floats or booleans for a column of such a type goes
as little-endian binary (with a NULL mask when it has NULLs); anything else
as the text form of each value, which C reads with the column type's input
function.  Both skip PL/Python's per-value conversions.
"""

import json

import numpy as np

from pgdl import records

# type OIDs of PostgreSQL's built-in types
BINARY = {20: "int8", 21: "int8", 23: "int8", 700: "float8", 701: "float8", 16: "bool"}
DTYPES = {"int8": "<i8", "float8": "<f8", "bool": "?"}


def _datum(**fields):
    return records.record(records.DATUM_FIELDS, **fields)


def encode_batch(rows, columns, types):
    """A batch of `rows` rows, given as {column name: values}, as pgdl.datum
    rows: first the row count (a datum without a name), then each column."""
    return [_datum(i=rows)] + [encode(name, values, types.get(name))
                               for name, values in columns.items()]


def encode(name, values, type_oid):
    """One column of a batch as a pgdl.datum (a dict of its fields)."""
    form = BINARY.get(type_oid)
    if form is not None:
        return _binary(name, values, form)
    return _datum(name=name, ta=[None if v is None else text(v) for v in values])


def _binary(name, values, form):
    if isinstance(values, np.ndarray):
        data, mask = values.astype(DTYPES[form], copy=False), None
    else:
        mask = [v is None for v in values]
        if any(mask):
            values = [0 if v is None else v for v in values]
        else:
            mask = None
        data = np.asarray(values, dtype=DTYPES[form])
    parts = [data.tobytes()]
    if mask is not None:
        parts.append(np.asarray(mask, dtype=np.uint8).tobytes())
    return _datum(name=name, op=form, ya=parts)


def text(value):
    """A Python value in PostgreSQL's text form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, tuple)):
        return "{%s}" % ",".join(_element(v) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _element(value):
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        return text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return '"%s"' % text(value).replace("\\", "\\\\").replace('"', '\\"')
