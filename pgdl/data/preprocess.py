"""pgdl.preprocess: pack a table into per-segment float32 buffers.

Reads the source table with the caller's privileges, checks every row,
and writes the packed table and its summary (a row of pgdl.packed) in the
caller's transaction, so a failure leaves neither behind.
"""

import json
import os
from dataclasses import dataclass

import numpy as np

from pgdl import names, server, sql
from pgdl.data import packing
from pgdl.data.source import Source, feature_expression
from pgdl.distributed.layout import distribution
from pgdl.errors import PgdlError
from pgdl.kernels import PackError
from pgdl.privilege import privileged, user_path

MAX_GROUPS = 1000


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
               feature_shape=None, seed=None, validation_of=None, task=None, group_by=None):
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
    expression, kind, shape = feature_expression(table, [n.strip() for n in features.split(",")],
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

    group_by = _group_by(table, group_by, training, validation_of)
    request = Request(table, target, [n.strip() for n in features.split(",")], expression, kind,
                      shape, label, label_column, task, training, validation_of, normalization,
                      normalizing_const, class_values, num_classes, segments, buffer_size, seed,
                      features, group_by)
    if distribution(table.oid) == "h":
        if group_by:
            raise PgdlError("group_by on table %s, which is distributed by Citus: not yet"
                            % table.name,
                            hint="Pack a local table for a model per group.", sqlstate="0A000")
        from pgdl.distributed import packing as distributed
        summary = distributed.preprocess(request)
    else:
        summary = _pack_here(request)
    return record(request, summary)


@dataclass
class Request:
    """What pgdl.preprocess was asked for, checked; the packing is to be done."""

    table: Source
    target: str                 # schema-qualified name of the packed table
    features: list              # feature column names
    expression: str             # SQL of a row's features
    kind: str                   # how packing reads them (uint8, float8, ...)
    shape: list                 # None: from the first row
    label: str
    label_column: dict
    task: str
    training: dict              # validation_of's pgdl.packed row, or None
    validation_of: str
    normalization: str
    normalizing_const: float
    class_values: list
    num_classes: int
    segments: int
    buffer_size: int
    seed: int
    features_text: str          # as the user gave them (for messages)
    group_by: str = None        # a model per value of this column

    def shape_of(self, first, where):
        """(shape, values per row), from the first row's features."""
        shape = self.shape
        if self.training and shape is None:
            shape = list(self.training["feature_shape"])
        if self.kind == "uint8":
            size = len(first)
            shape = shape or [size]
        else:
            shape = shape or _array_shape(first)
            size = int(np.prod(shape))
        if int(np.prod(shape)) != (len(first) if self.kind == "uint8" else size):
            raise PgdlError("feature_shape %s does not fit the %d values of column \"%s\" of "
                            "table %s %s" % (shape, len(first), self.features_text,
                                             self.table.name, where), sqlstate="22023")
        if self.training and list(self.training["feature_shape"]) != list(shape):
            raise PgdlError("features of table %s have shape %s; packed table %s has %s"
                            % (self.table.name, list(shape), self.validation_of,
                               list(self.training["feature_shape"])), sqlstate="22023")
        return list(shape), size

    def scaling(self, standardize):
        """The normalization to pack with; standardize() computes it from the rows."""
        training = self.training
        if training:
            return packing.Normalization(
                training["normalization"], training["normalizing_const"],
                None if training["feature_mean"] is None
                else np.asarray(training["feature_mean"], np.float32),
                None if training["feature_std"] is None
                else np.asarray(training["feature_std"], np.float32))
        if self.normalization == "standard":
            return standardize()
        if self.normalizing_const is not None:
            return packing.Normalization("constant", float(self.normalizing_const))
        return packing.Normalization("none")

    def classes(self, labels):
        """The classes of a classification (None for a regression), from the
        labels (all of them, or the distinct ones)."""
        if self.task != "classification":
            return None
        if self.training:
            return packing.Classes(typed(self.training["class_values"], labels))
        if self.class_values is not None:
            return packing.Classes(typed(self.class_values, labels))
        if self.num_classes is not None:
            return packing.Classes(list(range(self.num_classes)))
        return packing.Classes.from_labels(labels)

    def unknown_label(self, label, where=""):
        origin = ("packed table %s" % self.validation_of) if self.training \
            else "the class values"
        return PgdlError('label %r in column "%s" of table %s%s is not one of %s'
                         % (label, self.label, self.table.name, where, origin),
                         sqlstate="22023")

    def default_segments(self):
        return self.training["segments"] if self.training else _default_segments()

    def key_type(self):
        return self.table.columns[self.table.key]["type"] if self.table.key else "text"


def _group_by(table, group_by, training, validation_of):
    """The group column: the one asked for, or for a validation table that
    of the table it validates, which it must match."""
    trained_by = training and training.get("group_by")
    if training and group_by not in (None, trained_by):
        raise PgdlError("group_by %s does not match packed table %s, grouped by %s"
                        % (group_by, validation_of, trained_by or "nothing"),
                        hint="Leave group_by out: a validation table is grouped as the "
                             "table it validates.", sqlstate="22023")
    group_by = group_by or trained_by
    if group_by is not None:
        table.column(group_by, "group_by column")
    return group_by


def _group_values(request, keys, groups):
    """Checks the groups: no NULL, at most MAX_GROUPS of them, and in a
    validation table only groups the table it validates has ({group:
    segment} of those)."""
    table = request.table
    if None in groups:
        raise PgdlError('NULL in group_by column "%s" of table %s %s'
                        % (request.group_by, table.name, table.where(keys[groups.index(None)])),
                        hint="Every row needs its group: filter the NULLs out with a view, "
                             "or give them a value of their own.", sqlstate="22004")
    distinct = set(groups)
    if len(distinct) > MAX_GROUPS:
        raise PgdlError('column "%s" of table %s has %d distinct values; a model per group '
                        'takes at most %d' % (request.group_by, table.name, len(distinct),
                                              MAX_GROUPS),
                        hint="Group by a coarser column, or train one model with the group "
                             "as a feature.", sqlstate="54000")
    if not request.training:
        return None
    placed = dict(zip(request.training["group_values"], request.training["group_segments"]))
    unknown = sorted(distinct - set(placed))
    if unknown:
        where = table.where(keys[groups.index(unknown[0])])
        raise PgdlError('group %s = %s of table %s %s is not a group of packed table %s'
                        % (request.group_by, unknown[0], table.name, where,
                           request.validation_of),
                        hint="Validate a model per group only on groups it trains.",
                        sqlstate="22023")
    return placed


def check_not_null(request, keys, rows, labels):
    for name, values in ((request.features_text, rows), (request.label, labels)):
        if None in values:
            raise PgdlError('NULL in column "%s" of table %s %s'
                            % (name, request.table.name,
                               request.table.where(keys[values.index(None)])),
                            sqlstate="22004")


def _pack_here(request):
    plpy = server.plpy
    table = request.table
    read = table.read(request.expression, request.label, group=request.group_by)
    keys, rows, labels = read[:3]
    check_not_null(request, keys, rows, labels)
    if not rows:
        raise PgdlError("table %s has no rows to pack" % table.name, sqlstate="22023")
    shape, size = request.shape_of(rows[0], table.where(keys[0]))

    def standardize():
        try:
            return packing.standardization(rows, request.kind, size)
        except PackError as error:
            raise row_error(error, table, request.features_text, keys)

    scaling = request.scaling(standardize)
    classes = request.classes(labels)
    label_values = label_array(request, classes, keys, labels)

    segments = request.segments or request.default_segments()
    buffer_size = request.buffer_size or packing.default_buffer_size(len(rows), segments, size)
    grouped = request.group_by is not None
    if grouped:
        groups = read[3]
        placed = _group_values(request, keys, groups)
        buffers = packing.grouped_layout(groups, segments, buffer_size, request.seed, placed)
    else:
        buffers = [(segment, None, positions) for segment, positions
                   in packing.layout(len(rows), segments, buffer_size, request.seed)]

    plpy.execute(create_table_sql(request.target, request.key_type(), grouped=grouped))
    insert = insert_plan(request.target, request.key_type(), grouped=grouped)
    rows_per_segment = [0] * segments
    buffers_per_segment = [0] * segments
    group_rows = {}
    for buffer_id, (segment, group, positions) in enumerate(buffers):
        write_buffer(insert, buffer_id, segment, request, [rows[p] for p in positions],
                     label_values[positions], [keys[p] for p in positions], size, scaling,
                     classes, group)
        rows_per_segment[segment] += len(positions)
        buffers_per_segment[segment] += 1
        if grouped:
            placed_at, count = group_rows.get(group, (segment, 0))
            group_rows[group] = (placed_at, count + len(positions))
    summary = summary_of(request, shape, scaling, classes, buffer_size, segments,
                         rows_per_segment, buffers_per_segment, len(rows))
    if grouped:
        values = sorted(group_rows)
        summary.update(group_by=request.group_by, group_values=values,
                       group_segments=[group_rows[v][0] for v in values],
                       group_rows=[group_rows[v][1] for v in values])
    return summary


def label_array(request, classes, keys, labels):
    """Class indices (int32) or values (float32) of the labels."""
    if classes is None:
        return np.asarray([float(v) for v in labels], dtype=np.float32)
    indices, unknown = classes.indices(labels)
    if unknown is not None:
        raise request.unknown_label(labels[unknown], " " + request.table.where(keys[unknown]))
    return indices


def create_table_sql(target, key_type, distributed=False, grouped=False):
    primary = "PRIMARY KEY (buffer_id, segment)" if distributed else "PRIMARY KEY (buffer_id)"
    return ("CREATE TABLE %s (buffer_id int4 NOT NULL, segment int4 NOT NULL, "
            "rows int4 NOT NULL, features bytea NOT NULL, labels bytea NOT NULL, "
            "keys %s[] NOT NULL, %s%s)" % (target, key_type,
                                           "group_value text NOT NULL, " if grouped else "",
                                           primary))


def insert_plan(target, key_type, grouped=False):
    return server.plpy.prepare(
        "INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6::%s[]%s)"
        % (target, key_type, ", $7" if grouped else ""),
        ["int4", "int4", "int4", "bytea", "bytea", "text[]"] + (["text"] if grouped else []))


def write_buffer(insert, buffer_id, segment, request, chunk, labels, keys, size, scaling,
                 classes, group=None):
    try:
        batch = packing.pack(chunk, request.kind, size, scaling)
    except PackError as error:
        raise row_error(error, request.table, request.features_text, keys)
    server.plpy.execute(insert, [buffer_id, segment, len(chunk),
                                 batch.astype("<f4").tobytes(),
                                 labels.astype("<i4" if classes else "<f4").tobytes(),
                                 [str(k) for k in keys]] + ([group] if group is not None else []))


def summary_of(request, shape, scaling, classes, buffer_size, segments, rows_per_segment,
               buffers_per_segment, total_rows):
    return {
        "source": request.table.name, "features": request.features,
        "feature_kind": request.kind, "feature_shape": list(shape), "label": request.label,
        "key": request.table.key, "task": request.task,
        "class_values": None if classes is None else [str(v) for v in classes.values],
        "class_type": request.label_column["type"] if classes else None,
        "num_classes": None if classes is None else len(classes.values),
        "normalization": scaling.kind, "normalizing_const": scaling.constant,
        "feature_mean": None if scaling.mean is None else scaling.mean.tolist(),
        "feature_std": None if scaling.std is None else scaling.std.tolist(),
        "buffer_size": buffer_size, "segments": segments,
        "rows_per_segment": rows_per_segment, "buffers_per_segment": buffers_per_segment,
        "total_rows": total_rows, "seed": request.seed, "validation_of": request.validation_of,
    }


def record(request, summary):
    """Writes the summary into pgdl.packed; the row as the user sees it."""
    plpy = server.plpy
    summary["output"] = plpy.execute("SELECT %s::regclass::oid AS oid"
                                     % sql.literal(request.target))[0]["oid"]
    summary.update(plpy.execute("SELECT current_user AS owner, now()::text AS created")[0])
    with privileged():
        plpy.execute(plpy.prepare(
            "INSERT INTO pgdl.packed SELECT * FROM json_populate_record(NULL::pgdl.packed, $1)",
            ["json"]), [json.dumps(summary)])
    with user_path():       # names as the user writes them
        return list(plpy.execute("SELECT * FROM pgdl.packed WHERE output = %d"
                                 % summary["output"]))


def typed(class_values, labels):
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


def row_error(error, table, column, keys):
    return PgdlError('column "%s" of table %s %s: the value %s'
                     % (column, table.name, table.where(keys[error.row]), error.reason),
                     sqlstate="22023")
