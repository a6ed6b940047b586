"""pgdl.evaluate: a model version scored against a labelled table.

Scores with the same ONNX session as predictions, then measures the loss
and every metric the model was compiled with (in numpy, as Keras defines
them, so the figures match model.evaluate without loading TensorFlow:
pgdl.engine.measures; Keras itself only for what that does not know), and
counts the confusion matrix.  Imported models use categorical cross-entropy and accuracy
(classification) or mean squared and absolute error (regression).

On a table distributed by hash over Citus workers, each worker scores its
shards and answers the outputs and labels (pgdl.distributed.scoring); the
figures are computed here from all of them, as on one node (AUC and the
like need every row, not per-shard sums).
"""

import json

import numpy as np

from pgdl.data.source import Source, feature_expression
from pgdl.distributed import scoring as distributed_scoring
from pgdl.engine import catalog, measures, scoring
from pgdl.errors import PgdlError
from pgdl.kernels import PackError

DEFAULTS = {"classification": ("categorical_crossentropy", ["accuracy"]),
            "regression": ("mean_squared_error", ["mean_absolute_error"])}


def scorer_for(row):
    model = scoring.Model.from_row(row)
    key = model.key + (scoring.default_threads(1),)
    found = scoring.cached(key)
    if found is None:
        found = scoring.remember(key, scoring.Scorer(
            model, catalog.onnx_bytes(model.owner, model.model, model.version), key[-1]))
    return found


def _name(metric):
    return metric if isinstance(metric, str) else metric.get("config", {}).get("name", "metric")


def _metric(metric, y_true, y_pred, task):
    value = measures.metric(metric, y_true, y_pred, task)
    if value is not None:
        return value
    from pgdl.engine.keras_loader import keras
    found = keras().metrics.get(metric)
    if isinstance(found, type):
        found = found()
    if hasattr(found, "update_state"):
        found.update_state(y_true, y_pred)
        return float(found.result())
    return float(np.mean(np.asarray(found(y_true, y_pred))))


def evaluate(model, source, version=None, label=None, features=None):
    row = catalog.model_row(model, version, extra=", features, label, compile_params")
    table = Source(source, None)
    label = label or row["label"]
    if not label:
        raise PgdlError('model "%s" does not say which column holds its labels' % model,
                        hint="Give it: label => '...'.", sqlstate="22023")
    table.column(label, "label")
    names = [n.strip() for n in features.split(",")] if features else row["features"]
    if not names:
        raise PgdlError('model "%s" does not say which columns hold its features' % model,
                        hint="Give them: features => '...'.", sqlstate="22023")
    expression, kind, _ = feature_expression(table, names, None)
    if distributed_scoring.scored_on_workers(table.oid):
        # scored on the Citus workers, which answer outputs and labels
        plan = {"key": table.key, "features": expression, "kind": kind, "feature_names": names,
                "passed": {}, "source": table.qualified, "source_name": table.name,
                "source_oid": table.oid, "model": model}
        y_pred, labels = distributed_scoring.outputs(plan, scoring.Model.from_row(row), label)
        if not len(labels):
            raise PgdlError("table %s has no rows to evaluate on" % table.name,
                            sqlstate="22023")
    else:
        y_pred, labels = labelled_outputs(table, scorer_for(row), expression, kind, names, label,
                                          model)

    task = row["task"]
    compile_params = row["compile_params"]
    compile_params = json.loads(compile_params) if isinstance(compile_params, str) else \
        (compile_params or {})
    loss, metrics = DEFAULTS[task]
    loss = compile_params.get("loss", loss)
    metrics = compile_params.get("metrics", []) if compile_params else metrics

    results = []
    if task == "classification":
        classes = scoring.Model.from_row(row).typed_classes()
        indices = labels.astype(np.int64)
        y_true = np.eye(len(classes), dtype=np.float32)[indices]
    else:
        y_true = labels.astype(np.float32).reshape(-1, 1)

    value = measures.loss(loss, y_true, y_pred)
    if value is None:
        from pgdl.engine.keras_loader import keras
        value = float(np.mean(np.asarray(keras().losses.get(loss)(y_true, y_pred))))
    results.append({"metric": "loss", "value": value, "actual": None, "predicted": None})
    for metric in metrics:
        results.append({"metric": _name(metric), "value": _metric(metric, y_true, y_pred, task),
                        "actual": None, "predicted": None})
    if task == "classification":
        counts = np.zeros((len(classes), len(classes)), np.int64)
        np.add.at(counts, (indices, y_pred.argmax(axis=1)), 1)
        for actual, predicted in np.ndindex(*counts.shape):
            results.append({"metric": "confusion", "value": float(counts[actual, predicted]),
                            "actual": str(classes[actual]), "predicted": str(classes[predicted])})
    return results


def labelled_outputs(table, scorer, expression, kind, names, label, model, relation=None):
    """The model's outputs on every row of the table (or of `relation`, one
    of its shards) and the rows' labels: class indices (classification) or
    values (regression)."""
    keys, rows, labels = table.read(expression, label, relation)
    if not rows and relation is None:
        raise PgdlError("table %s has no rows to evaluate on" % table.name, sqlstate="22023")
    if None in labels:
        raise PgdlError('NULL label in column "%s" of table %s %s'
                        % (label, table.name, table.where(keys[labels.index(None)])),
                        sqlstate="22004")
    try:
        x = scorer.pack(rows, kind)
    except PackError as error:
        raise PgdlError('cannot score the row of %s %s: its features (%s) %s'
                        % (table.name, table.where(keys[error.row]), ", ".join(names),
                           error.reason), sqlstate="22023")
    y_pred = scorer.run(x)
    if scorer.model.task != "classification":
        return y_pred, np.asarray([float(v) for v in labels], np.float32)
    classes = scorer.model.typed_classes()
    lookup = {str(value): i for i, value in enumerate(classes)}
    indices = np.empty(len(labels), np.int64)
    for position, value in enumerate(labels):
        index = lookup.get(str(value))
        if index is None:
            raise PgdlError('label %r of table %s %s is not a class of model "%s"'
                            % (value, table.name, table.where(keys[position]), model),
                            hint="Its classes: %s." % ", ".join(map(str, classes)),
                            sqlstate="22023")
        indices[position] = index
    return y_pred, indices
