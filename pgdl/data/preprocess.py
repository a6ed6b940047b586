"""pgdl.preprocess: pack a table into per-segment float32 buffers.

Reads the source table with the caller's privileges, checks every row,
and writes the packed table and its summary (a row of pgdl.packed) in the
caller's transaction, so a failure leaves neither behind.
"""

import json
import os

import numpy as np

from pgdl import names, server, sql
from pgdl.data import packing
from pgdl.errors import PgdlError
from pgdl.kernels import PackError
from pgdl.privilege import privileged, user_path

ARRAY_ELEMENTS = {"int2", "int4", "int8", "float4", "float8"}
NUMERIC = ARRAY_ELEMENTS | {"numeric"}
FETCH = 5000


class Source:
    """The source table: its name, columns and key, looked up in the catalogs."""

    def __init__(self, name, key):
        plpy = server.plpy
        found = names.relation(name)
        self.oid = found.oid
        self.name = found.name              # for messages
        self.qualified = found.qualified    # for SQL, whatever the search_path
        self.columns = {
            r["attname"]: r for r in plpy.execute(
                """SELECT a.attname, t.typname, e.typname AS element,
                          format_type(a.atttypid, a.atttypmod) AS type
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
                   WHERE a.attrelid = %d AND a.attnum > 0 AND NOT a.attisdropped""" % self.oid)}
        if key is None:
            primary = plpy.execute(
                """SELECT a.attname FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = %d AND i.indisprimary AND i.indnatts = 1""" % self.oid)
            key = primary[0]["attname"] if primary else None
        if key is not None:
            self.column(key, "key")
        self.key = key

    def column(self, name, role):
        if name not in self.columns:
            raise PgdlError('column "%s" does not exist in table %s' % (name, self.name),
                            hint="The %s must be a column of the source table." % role,
                            sqlstate="42703")
        return self.columns[name]

    def read(self, features, label):
        """Every row's key (ctid as text without a key column), feature
        expression and label, as three lists."""
        plpy = server.plpy
        key = plpy.quote_ident(self.key) if self.key else "ctid::text"
        cursor = plpy.cursor("SELECT %s AS key, %s AS features, %s AS label FROM %s"
                             % (key, features, plpy.quote_ident(label), self.qualified))
        keys, rows, labels = [], [], []
        while True:
            batch = cursor.fetch(FETCH)
            if not batch:
                break
            for record in batch:
                keys.append(record["key"])
                rows.append(record["features"])
                labels.append(record["label"])
        return keys, rows, labels

    def where(self, key):
        """Where a row is, for error messages."""
        if self.key is None:
            return "at ctid %s" % key
        return "at %s = %s" % (self.key, key)


def _features(source, names, feature_shape):
    """(SQL expression, packing kind, declared shape) for the feature columns."""
    plpy = server.plpy
    columns = [source.column(name, "feature column") for name in names]
    if not columns:
        raise PgdlError("no feature columns given", hint="Name one column, or several numeric "
                        "columns separated by commas.", sqlstate="22023")
    first = columns[0]
    if len(columns) == 1 and first["typname"] == "bytea":
        return plpy.quote_ident(first["attname"]), "uint8", feature_shape
    if len(columns) == 1 and first["element"] is not None:
        element = first["element"]
        if element in ARRAY_ELEMENTS:
            return "array_send(%s)" % plpy.quote_ident(first["attname"]), element, feature_shape
        if element == "numeric":
            return "array_send(%s::float8[])" % plpy.quote_ident(first["attname"]), "float8", \
                feature_shape
    for column in columns:
        if column["typname"] not in NUMERIC:
            raise PgdlError(
                'column "%s" of table %s has type %s' % (column["attname"], source.name,
                                                         column["type"]),
                hint="Features are one bytea column, one numeric array column, "
                     "or numeric columns.", sqlstate="42804")
    expression = "array_send(ARRAY[%s]::float8[])" % ", ".join(
        "%s::float8" % plpy.quote_ident(c["attname"]) for c in columns)
    return expression, "float8", feature_shape or [len(columns)]


def _array_shape(row):
    """The dimensions of an array in binary send format."""
    ndim = int(np.frombuffer(row, ">i4", 1)[0])
    return [int(d) for d in np.frombuffer(row, ">i4", 2 * ndim, 12)[0::2]]


def _summary_of(name):
    found = names.relation(name, "packed table")
    rows = server.plpy.execute("SELECT * FROM pgdl.packed WHERE output = %d" % found.oid)
    if not rows:
        raise PgdlError('"%s" is not a packed table' % name,
                        hint="Pack it with pgdl.preprocess first.", sqlstate="42P01")
    return rows[0]


def preprocess(source, output, features, label, key=None, buffer_size=None, segments=None,
               normalizing_const=None, normalization=None, class_values=None, num_classes=None,
               feature_shape=None, seed=None, validation_of=None, task=None):
    plpy = server.plpy
    for name, value in (("buffer_size", buffer_size), ("segments", segments),
                        ("num_classes", num_classes)):
        if value is not None and value < 1:
            raise PgdlError("%s must be at least 1, not %d" % (name, value), sqlstate="22023")
    if features is None or label is None:
        raise PgdlError("pgdl.preprocess needs the %s column, not NULL"
                        % ("features" if features is None else "label"), sqlstate="22004")
    if feature_shape is not None and (not feature_shape or None in feature_shape or
                                      any(d < 1 for d in feature_shape)):
        raise PgdlError("feature_shape %s must have dimensions of at least 1"
                        % list(feature_shape), sqlstate="22023")
    table = Source(source, key)
    training = _summary_of(validation_of) if validation_of else None
    label_column = table.column(label, "label")
    expression, kind, shape = _features(table, [n.strip() for n in features.split(",")],
                                        feature_shape)
    target = names.new_relation(output, "packed table")

    if task is None:
        task = training["task"] if training else (
            "regression" if label_column["typname"] in {"float4", "float8", "numeric"}
            else "classification")
    if task not in ("classification", "regression"):
        raise PgdlError('unknown task "%s"' % task,
                        hint="Use classification or regression.", sqlstate="22023")
    if normalization not in (None, "none", "standard"):
        raise PgdlError('unknown normalization "%s"' % normalization,
                        hint="Use standard (per-feature mean and std), or normalizing_const.",
                        sqlstate="22023")
    if normalizing_const is not None and normalizing_const <= 0:
        raise PgdlError("normalizing_const must be positive, not %r" % normalizing_const,
                        sqlstate="22023")

    keys, rows, labels = table.read(expression, label)

    for name, values in ((features, rows), (label, labels)):
        if None in values:
            raise PgdlError('NULL in column "%s" of table %s %s'
                            % (name, table.name, table.where(keys[values.index(None)])),
                            sqlstate="22004")
    if not rows:
        raise PgdlError("table %s has no rows to pack" % table.name, sqlstate="22023")

    if training and shape is None:
        shape = list(training["feature_shape"])
    if kind == "uint8":
        size = len(rows[0])
        shape = shape or [size]
    else:
        shape = shape or _array_shape(rows[0])
        size = int(np.prod(shape))
    if int(np.prod(shape)) != (len(rows[0]) if kind == "uint8" else size):
        raise PgdlError("feature_shape %s does not fit the %d values of column \"%s\" of "
                        "table %s %s" % (shape, len(rows[0]), features, table.name,
                                         table.where(keys[0])), sqlstate="22023")

    if training:
        if list(training["feature_shape"]) != list(shape):
            raise PgdlError("features of table %s have shape %s; packed table %s has %s"
                            % (table.name, list(shape), validation_of,
                               list(training["feature_shape"])), sqlstate="22023")
        scaling = packing.Normalization(
            training["normalization"], training["normalizing_const"],
            None if training["feature_mean"] is None else np.asarray(training["feature_mean"],
                                                                     np.float32),
            None if training["feature_std"] is None else np.asarray(training["feature_std"],
                                                                    np.float32))
    elif normalization == "standard":
        try:
            scaling = packing.standardization(rows, kind, size)
        except PackError as error:
            raise _row_error(error, table, features, keys)
    elif normalizing_const is not None:
        scaling = packing.Normalization("constant", float(normalizing_const))
    else:
        scaling = packing.Normalization("none")

    classes = None
    if task == "classification":
        if training:
            classes = packing.Classes(_typed(training["class_values"], labels))
        elif class_values is not None:
            classes = packing.Classes(_typed(class_values, labels))
        elif num_classes is not None:
            classes = packing.Classes(list(range(num_classes)))
        else:
            classes = packing.Classes.from_labels(labels)
        indices, unknown = classes.indices(labels)
        if unknown is not None:
            origin = ("packed table %s" % validation_of) if training else "the class values"
            raise PgdlError('label %r in column "%s" of table %s %s is not one of %s'
                            % (labels[unknown], label, table.name, table.where(keys[unknown]),
                               origin), sqlstate="22023")
        label_values = indices
    else:
        label_values = np.asarray([float(v) for v in labels], dtype=np.float32)

    if segments is None:
        segments = training["segments"] if training else _default_segments()
    if buffer_size is None:
        buffer_size = packing.default_buffer_size(len(rows), segments, size)
    buffers = packing.layout(len(rows), segments, buffer_size, seed)

    key_type = table.columns[table.key]["type"] if table.key else "text"
    plpy.execute("""CREATE TABLE %s (buffer_id int4 PRIMARY KEY, segment int4 NOT NULL,
                    rows int4 NOT NULL, features bytea NOT NULL, labels bytea NOT NULL,
                    keys %s[] NOT NULL)""" % (target, key_type))
    insert = plpy.prepare("INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6::%s[])"
                          % (target, key_type),
                          ["int4", "int4", "int4", "bytea", "bytea", "text[]"])
    rows_per_segment = [0] * segments
    buffers_per_segment = [0] * segments
    for buffer_id, (segment, positions) in enumerate(buffers):
        chunk = [rows[p] for p in positions]
        try:
            batch = packing.pack(chunk, kind, size, scaling)
        except PackError as error:
            raise _row_error(error, table, features, [keys[p] for p in positions])
        plpy.execute(insert, [buffer_id, segment, len(positions),
                              batch.astype("<f4").tobytes(),
                              label_values[positions].astype("<i4" if classes else "<f4").tobytes(),
                              [str(keys[p]) for p in positions]])
        rows_per_segment[segment] += len(positions)
        buffers_per_segment[segment] += 1

    summary = {
        "source": table.name, "features": [n.strip() for n in features.split(",")],
        "feature_kind": kind, "feature_shape": list(shape), "label": label, "key": table.key,
        "task": task,
        "class_values": None if classes is None else [str(v) for v in classes.values],
        "class_type": label_column["type"] if classes else None,
        "num_classes": None if classes is None else len(classes.values),
        "normalization": scaling.kind, "normalizing_const": scaling.constant,
        "feature_mean": None if scaling.mean is None else scaling.mean.tolist(),
        "feature_std": None if scaling.std is None else scaling.std.tolist(),
        "buffer_size": buffer_size, "segments": segments,
        "rows_per_segment": rows_per_segment, "buffers_per_segment": buffers_per_segment,
        "total_rows": len(rows), "seed": seed, "validation_of": validation_of,
    }
    summary["output"] = plpy.execute("SELECT %s::regclass::oid AS oid" % sql.literal(target))[0]["oid"]
    summary.update(plpy.execute("SELECT current_user AS owner, now()::text AS created")[0])
    with privileged():
        plpy.execute(plpy.prepare(
            "INSERT INTO pgdl.packed SELECT * FROM json_populate_record(NULL::pgdl.packed, $1)",
            ["json"]), [json.dumps(summary)])
    with user_path():       # names as the user writes them
        return list(plpy.execute("SELECT * FROM pgdl.packed WHERE output = %d"
                                 % summary["output"]))


def _typed(class_values, labels):
    """Class values (stored as text) in the type of the labels."""
    if labels and isinstance(labels[0], int) and not isinstance(labels[0], bool):
        return [int(v) for v in class_values]
    if labels and isinstance(labels[0], bool):
        return [v in ("t", "true", "True") for v in class_values]
    return list(class_values)


def _default_segments():
    """One segment per parallel participant a scan may have, up to the CPUs."""
    plpy = server.plpy
    workers = int(plpy.execute("SHOW max_parallel_workers_per_gather")[0]
                  ["max_parallel_workers_per_gather"])
    return max(1, min(workers + 1, os.cpu_count() or 1))


def _row_error(error, table, column, keys):
    return PgdlError('column "%s" of table %s %s: the value %s'
                     % (column, table.name, table.where(keys[error.row]), error.reason),
                     sqlstate="22023")
