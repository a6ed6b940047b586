"""Batches of rows as columns, both ways between C and Python.

To C (fdw/columns.c): a column of integers, floats or booleans for a column
of such a type goes as little-endian binary (with a NULL mask when it has
NULLs); anything else as the text form of each value, which C reads with
the column type's input function.  Both skip PL/Python's per-value
conversions.

From C (fdw/source.c, a segment's source rows): numbers, booleans and
bytea come in one buffer per column (decode_column), read here as a numpy
array or a BytesColumn; other types as a list of values.
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


# float8[] and real[]: rows of a 2-D float array go as one buffer
FLOAT_ARRAYS = {1021, 1022}


class Coded:
    """A column given as its distinct values and an int32 code per row
    (-1: NULL), so that each value is converted once, not once per row: a
    class column.  Codes of shape (rows, width) give each row an array of
    `width` such values (top classes)."""

    __slots__ = ("values", "codes")

    def __init__(self, values, codes):
        self.values, self.codes = list(values), np.asarray(codes, dtype=np.int32)

    def __len__(self):
        return len(self.codes)

    def take(self, positions):
        return Coded(self.values, self.codes[positions])

    def tolist(self):
        def value(code):
            return None if code < 0 else self.values[code]
        if self.codes.ndim == 1:
            return [value(code) for code in self.codes.tolist()]
        return [[value(code) for code in row] for row in self.codes.tolist()]


def take(values, positions):
    """The values of a column at positions (a list of row numbers)."""
    if isinstance(values, (np.ndarray, Coded)):
        return values.take(positions) if isinstance(values, Coded) else values[positions]
    return [values[p] for p in positions]


def encode(name, values, type_oid):
    """One column of a batch as a pgdl.datum (a dict of its fields)."""
    if isinstance(values, Coded):
        return _datum(name=name, op="dict" if values.codes.ndim == 1 else "dict[]",
                      i=values.codes.shape[1] if values.codes.ndim == 2 else None,
                      ta=[text(v) for v in values.values],
                      ya=[values.codes.astype("<i4", copy=False).tobytes()])
    if isinstance(values, np.ndarray) and values.ndim == 2:
        if type_oid in FLOAT_ARRAYS:
            return _datum(name=name, op="float8[]", i=values.shape[1],
                          ya=[values.astype("<f8", copy=False).tobytes()])
        values = values.tolist()
    form = BINARY.get(type_oid)
    if form is not None:
        return _binary(name, values, form)
    return _text_column(name, values)


# Python types a list may hold to go in binary form (None aside): an int
# column takes ints only, so that 1.5 is an error, not 1.
EXACT = {"int8": {int}, "float8": {int, float}, "bool": {bool}}


def _binary(name, values, form):
    if isinstance(values, np.ndarray):
        data, mask = values.astype(DTYPES[form], copy=False), None
    else:
        kinds = set(map(type, values))
        nulls = type(None) in kinds
        kinds.discard(type(None))
        if not kinds <= EXACT[form]:
            return _text_column(name, values)
        mask = None
        if nulls:
            mask = [v is None for v in values]
            values = [0 if v is None else v for v in values]
        try:
            data = np.asarray(values, dtype=DTYPES[form])
        except OverflowError:       # past int64: the column type's input says so
            return _text_column(name, values)
    parts = [data.tobytes()]
    if mask is not None:
        parts.append(np.asarray(mask, dtype=np.uint8).tobytes())
    return _datum(name=name, op=form, ya=parts)


# Column types whose rows may travel in batches (extensions.BatchesRows):
# numbers, booleans, text, bytea, numeric, dates and times, uuid, json.
ROW_TYPES = {16, 17, 20, 21, 23, 25, 700, 701, 1042, 1043, 1700, 1082, 1083, 1114, 1184,
             1186, 2950, 114, 3802}


def _text_column(name, values):
    """A column in its values' text form, which C reads with the column type's input."""
    return _datum(name=name, ta=[None if v is None else text(v) for v in values])


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


# -- source rows from C ------------------------------------------------------

class BytesColumn:
    """bytea values as fdw/source.c hands them over: one buffer, the offsets
    where each value starts (len + 1 of them, int64), and a NULL mask or
    None.  Indexing gives bytes (None for NULL), slicing another column."""

    __slots__ = ("data", "offsets", "mask")

    def __init__(self, data, offsets, mask=None):
        self.data, self.offsets, self.mask = data, offsets, mask

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("a BytesColumn slices with step 1 only")
            stop = max(start, stop)
            return BytesColumn(self.data, self.offsets[start:stop + 1],
                               None if self.mask is None else self.mask[start:stop])
        if index < 0:
            index += len(self)
        if self.mask is not None and self.mask[index]:
            return None
        return bytes(self.data[self.offsets[index]:self.offsets[index + 1]])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def tolist(self):
        return list(self)


def decode_column(datum):
    """A source column (a pgdl.datum from fdw/source.c) as Python values: a
    numpy array for numbers and booleans without NULLs, a list with None
    where they have NULLs, a BytesColumn for bytea, else a list."""
    form = datum["op"]
    if form is None:
        for slot in records.DATUM_VALUE_SLOTS:
            if datum[slot] is not None:
                return datum[slot]
        return []
    parts = datum["ya"]
    mask = np.frombuffer(parts[-1], np.bool_) if len(parts) == (3 if form == "bytea" else 2) \
        else None
    if form == "bytea":
        return BytesColumn(memoryview(parts[0]), np.frombuffer(parts[1], "<i8"), mask)
    values = np.frombuffer(parts[0], DTYPES[form])
    if mask is None:
        return values
    listed = values.tolist()
    for row in np.flatnonzero(mask).tolist():
        listed[row] = None
    return listed
