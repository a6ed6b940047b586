"""A batch of source rows scored: packed with the model's normalization,
run through its ONNX session, and turned into the columns of a predictions
table (class, probability, probabilities, top_classes, top_probabilities,
value, version, the key and pass-through columns).

The same code scores a batch in a predictions scan on one node and in a
segment task on a Citus worker (pgdl.distributed.scoring).
"""

import numpy as np

from pgdl.batches import BytesColumn, Coded
from pgdl.errors import PgdlError
from pgdl.kernels import PackError


class FeatureColumns:
    """Features that are numeric columns, one sequence of values per column
    (numpy arrays as fdw/source.c hands them over, lists where a column has
    NULLs), so that no array is formed per row."""

    def __init__(self, columns):
        self.columns = columns

    def __len__(self):
        return len(self.columns[0]) if self.columns else 0

    def matrix(self):
        """(float64 values (rows, columns), rows with a NULL: bool mask)."""
        rows = len(self)
        values = np.empty((rows, len(self.columns)), np.float64)
        nulls = np.zeros(rows, np.bool_)
        for index, column in enumerate(self.columns):
            if isinstance(column, np.ndarray):
                values[:, index] = column
            else:
                missing = np.fromiter((v is None for v in column), np.bool_, rows)
                nulls |= missing
                values[:, index] = [0.0 if v is None else v for v in column]
        return values, nulls


def _pack_columns(scorer, keys, features, plan, on_error):
    """pack() for FeatureColumns: value * scale + offset in float64, rounded
    once to float32, as the packing kernel computes it."""
    values, nulls = features.matrix()      # as many columns as the model takes (plan)
    good = np.flatnonzero(~nulls)
    bad = np.flatnonzero(nulls).tolist()
    if bad and on_error == "error":
        _raise_unscorable(scorer, keys, plan, bad[0], "has a NULL element")
    if bad:
        values = values[good]
    scale = np.asarray(scorer.scale, np.float32).astype(np.float64)
    offset = np.asarray(scorer.offset, np.float32).astype(np.float64)
    x = (values * scale + offset).astype(np.float32)
    return x, (good.tolist() if bad else range(len(values))), bad


def _raise_unscorable(scorer, keys, plan, position, reason):
    raise PgdlError(
        'cannot score the row of %s at %s = %s: its features (%s) %s'
        % (plan["source_name"], plan["key"], keys[position],
           ", ".join(plan["feature_names"]), reason),
        hint="The model takes %d values of shape %s. Option on_error 'null' "
             "scores such rows as NULL." % (scorer.model.size, scorer.model.feature_shape),
        sqlstate="22004" if reason == "is NULL" else "22023")


def pack(scorer, keys, features, plan, on_error):
    """Packed rows, the positions of the rows packed and of those whose
    features cannot be scored (on_error 'null'; 'error' raises)."""
    if isinstance(features, FeatureColumns):
        return _pack_columns(scorer, keys, features, plan, on_error)
    if isinstance(features, BytesColumn):     # the whole batch in one buffer (fdw/source.c)
        try:
            return scorer.pack_column(features, plan["kind"]), range(len(features)), []
        except PackError:
            features = features.tolist()    # row by row: names or skips the bad rows
    bad = []
    good = list(range(len(features)))
    while True:
        try:
            return scorer.pack([features[i] for i in good], plan["kind"]), good, bad
        except PackError as error:
            position = good[error.row]
            if on_error == "error":
                _raise_unscorable(scorer, keys, plan, position, error.reason)
            bad.append(position)
            del good[error.row]


def score(scorer, keys, features, passed, plan, wanted, options):
    """Scored rows: keys, their features and pass-through values ({column:
    values}) of one batch.  options: on_error, top_k, and generic (None,
    or {"source": ...} for pgdl.predictions, whose key is text)."""
    x, good, bad = pack(scorer, keys, features, plan, options["on_error"])
    fixed = _fixed(np.full(len(keys), scorer.model.version), keys, passed, plan, wanted, options)
    return Scored(scorer.run(x), scorer.model, len(keys), good, bad, fixed, wanted,
                  options["top_k"])


def _fixed(versions, keys, passed, plan, wanted, options):
    """The columns of a batch that scoring does not compute."""
    fixed = {"version": versions}
    if options["generic"] is not None:
        fixed["key"] = [None if k is None else str(k) for k in keys]
        fixed["model"] = [plan["model"]] * len(keys)
        fixed["source"] = [options["generic"]["source"]] * len(keys)
    else:
        fixed[plan["key"]] = keys
        for name, values in passed.items():
            if name in wanted:
                fixed[name] = values
    return fixed


def _take(values, positions):
    """The values at positions, of a column in any form a batch holds."""
    if isinstance(values, FeatureColumns):
        return FeatureColumns([_take(column, positions) for column in values.columns])
    if isinstance(values, np.ndarray):
        return values[positions]
    return [values[p] for p in positions]


def score_groups(scorers, groups, keys, features, passed, plan, wanted, options):
    """score() for a model per group: each row by the model of its group
    (scorers: {group value: Scorer}).  A row whose group has no model
    cannot be scored: an error, or NULL with on_error 'null'."""
    rows = len(keys)
    members = {}
    for position, group in enumerate(groups):
        members.setdefault(group, []).append(position)
    model = next(iter(scorers.values())).model
    outputs, good, bad = None, [], []
    versions = [None] * rows
    for group, positions in members.items():
        scorer = scorers.get(group)
        if scorer is None:
            if options["on_error"] == "error":
                raise PgdlError('model "%s" has no version for %s = %s, the group of the row of '
                                '%s at %s = %s' % (plan["model"], plan["group"]["column"], group,
                                                   plan["source_name"], plan["key"],
                                                   keys[positions[0]]),
                                hint="Train the model on a table with that group, or filter "
                                     "it out. Option on_error 'null' scores such rows as NULL.",
                                sqlstate="22023")
            bad.extend(positions)
            continue
        x, packed, unscorable = pack(scorer, _take(keys, positions), _take(features, positions),
                                     plan, options["on_error"])
        out = scorer.run(x)
        if outputs is None:
            outputs = np.zeros((rows, out.shape[1]), out.dtype)
        chosen = [positions[i] for i in packed]
        outputs[chosen] = out
        good.extend(chosen)
        bad.extend(positions[i] for i in unscorable)
        for position in chosen:
            versions[position] = scorer.model.version
    good.sort()
    if outputs is None:
        outputs = np.zeros((0, len(model.class_values or [None])), np.float32)
    else:
        outputs = outputs[good]
    fixed = _fixed(versions if bad else np.asarray(versions, np.int32), keys, passed, plan,
                   wanted, options)
    return Scored(outputs, model, rows, good if bad else range(rows), sorted(bad), fixed,
                  wanted, options["top_k"])


class Scored:
    """A scored batch: the model's outputs and what its columns need."""

    def __init__(self, outputs, model, rows, good, bad, fixed, wanted, top_k):
        self.outputs, self.model, self.rows = outputs, model, rows
        self.good, self.bad, self.fixed, self.wanted, self.top_k = good, bad, fixed, wanted, top_k

    def _spread(self, computed):
        """Values of the rows that were scored, None for the rows that could not be."""
        if not self.bad:
            return computed
        full = [None] * self.rows
        for position, value in zip(self.good, list(computed)):
            full[position] = value
        return full

    def _spread_codes(self, codes):
        """Codes of the rows that were scored, -1 (NULL) for the others."""
        if not self.bad:
            return codes
        full = np.full(self.rows, -1, np.int32)
        full[self.good] = codes
        return full

    def columns(self):
        """(rows, {column: values}): numbers as numpy arrays, classes coded
        (batches.Coded) and arrays as 2-D arrays where no row is NULL, so
        that nothing here works a row at a time."""
        out = self.outputs
        wanted, spread = self.wanted, self._spread
        values = dict(self.fixed)
        if self.model.task == "classification":
            classes = self.model.typed_classes()
            best = out.argmax(axis=1) if len(out) else np.zeros(0, np.int64)
            if "class" in wanted:
                values["class"] = Coded(classes, self._spread_codes(best.astype(np.int32)))
            if "probability" in wanted:
                values["probability"] = spread(out[np.arange(len(out)), best])
            if "probabilities" in wanted:
                values["probabilities"] = out if not self.bad else spread(out.tolist())
            if "top_classes" in wanted or "top_probabilities" in wanted:
                k = min(self.top_k, out.shape[1])
                order = np.argsort(-out, axis=1, kind="stable")[:, :k]
                top = np.take_along_axis(out, order, axis=1)
                if self.bad:
                    values["top_classes"] = spread(Coded(classes, order).tolist())
                    values["top_probabilities"] = spread(top.tolist())
                else:
                    values["top_classes"] = Coded(classes, order)
                    values["top_probabilities"] = top
        elif "value" in wanted:
            values["value"] = spread(out[:, 0])
        return self.rows, {name: column for name, column in values.items() if name in wanted}
