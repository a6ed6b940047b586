"""A training job, run by the INSERT into pgdl.model_training (the leader).

Checks the job, writes its spec and starting weights for the segments
(pgdl.training_runs), runs one parallel scan of pgdl._training_segments in
which every segment trains in lockstep (pgdl.engine.segment), and stores
the result as a new version: pgdl.models, pgdl.model_weights,
pgdl.training_history.  It all happens in the INSERT's transaction: a job
that fails or is cancelled leaves no version behind.
"""

import json
import time

import numpy as np

from pgdl import server
from pgdl.engine import architecture, onnx_export, weights as weight_vectors
from pgdl.engine.keras_loader import keras
from pgdl.errors import PgdlError

METHODS = ("average", "easgd", "ensemble")
FIT_PARAMS = {"batch_size", "epochs", "shuffle", "class_weight", "validation_split"}


def _error(message, hint=None, sqlstate="22023"):
    return PgdlError(message, hint=hint, sqlstate=sqlstate)


def _json(value, name):
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise _error("%s is not JSON: %s" % (name, exc))
    if not isinstance(parsed, dict):
        raise _error("%s must be a JSON object" % name)
    return parsed


def _one(sql, *args):
    plpy = server.plpy
    plan = plpy.prepare(sql, [kind for kind, _ in args])
    rows = plpy.execute(plan, [value for _, value in args])
    return rows[0] if rows else None


def _check_compile(model, params, name):
    k = keras()
    if "loss" not in params:
        raise _error("compile_params of model \"%s\" have no loss" % name,
                     hint='Give one, as in {"optimizer": "adam", "loss": '
                          '"categorical_crossentropy", "metrics": ["accuracy"]}.')
    unknown = set(params) - {"optimizer", "loss", "metrics", "loss_weights", "jit_compile"}
    if unknown:
        raise _error("unknown compile_params %s" % ", ".join(sorted(unknown)),
                     hint="Known: optimizer, loss, metrics, loss_weights.")
    for key, getter in (("optimizer", k.optimizers.get), ("loss", k.losses.get)):
        if key in params:
            try:
                getter(params[key])
            except (ValueError, TypeError) as exc:
                raise _error("unknown %s %s: %s" % (key, json.dumps(params[key]), exc))
    for metric in params.get("metrics", []):
        try:
            k.metrics.get(metric)
        except (ValueError, TypeError) as exc:
            raise _error("unknown metric %s: %s" % (json.dumps(metric), exc))
    model.compile(**params)


def _metric_names(params):
    names = []
    for metric in params.get("metrics", []):
        names.append(metric if isinstance(metric, str) else metric.get("config", {}).get("name"))
    return [n for n in names if n]


def run_job(values):
    plpy = server.plpy
    started = time.perf_counter()
    name = values.get("model")
    if not name:
        raise _error("a training job needs a model name", sqlstate="23502")
    iterations = 1 if values.get("iterations") is None else values["iterations"]
    if iterations < 1:
        raise _error("iterations must be at least 1, not %d" % iterations)
    method = values.get("method") or "average"
    if method not in METHODS:
        raise _error('unknown method "%s"' % method, hint="Methods: %s." % ", ".join(METHODS))
    moving_rate = values.get("moving_rate") or 0.5 if method == "easgd" else None
    if moving_rate is not None and not 0 < moving_rate < 1:
        raise _error("moving_rate must be between 0 and 1, not %r" % moving_rate)

    arch = _one("SELECT * FROM pgdl.architectures WHERE name = $1",
                ("text", values.get("architecture")))
    if arch is None:
        raise _error('architecture "%s" does not exist' % values.get("architecture"),
                     hint="INSERT it into pgdl.architectures first.", sqlstate="42704")
    packed = _one("SELECT * FROM pgdl.packed WHERE output = to_regclass($1)",
                  ("text", values.get("source")))
    if packed is None:
        raise _error('"%s" is not a packed table' % values.get("source"),
                     hint="Pack it with pgdl.preprocess first.", sqlstate="42P01")
    validation = None
    if values.get("validation_source"):
        validation = _one("SELECT * FROM pgdl.packed WHERE output = to_regclass($1)",
                          ("text", values["validation_source"]))
        if validation is None:
            raise _error('"%s" is not a packed table' % values["validation_source"],
                         hint="Pack it with pgdl.preprocess(..., validation_of => ...).",
                         sqlstate="42P01")
        if validation["class_values"] != packed["class_values"] or \
                validation["feature_shape"] != packed["feature_shape"]:
            raise _error("validation source %s has other classes or features than %s"
                         % (validation["output"], packed["output"]),
                         hint="Pack it with validation_of => '%s'." % packed["output"])

    segments = packed["segments"] if values.get("segments") is None else values["segments"]
    if segments < 1:
        raise _error("segments must be at least 1, not %d" % segments)
    buffers = sum(packed["buffers_per_segment"])
    if segments > buffers:
        raise _error("%d segments for %d buffers of %s" % (segments, buffers, packed["output"]),
                     hint="Use at most %d segments, or pack with a smaller buffer_size."
                     % buffers)

    model = architecture.build(arch["name"], arch["keras_json"])
    description = architecture.describe(model)
    if description.input_shape != list(packed["feature_shape"]):
        raise _error("architecture \"%s\" takes input of shape %s; %s holds features of shape %s"
                     % (arch["name"], description.input_shape, packed["output"],
                        list(packed["feature_shape"])))
    outputs = packed["num_classes"] if packed["task"] == "classification" else 1
    if description.output_shape != [outputs]:
        raise _error("architecture \"%s\" has output shape %s; %s needs %d outputs"
                     % (arch["name"], description.output_shape, packed["output"], outputs))
    compile_params = _json(values.get("compile_params"), "compile_params")
    fit_params = _json(values.get("fit_params"), "fit_params")
    unknown = set(fit_params) - FIT_PARAMS
    if unknown:
        raise _error("unknown fit_params %s" % ", ".join(sorted(unknown)),
                     hint="Known: %s." % ", ".join(sorted(FIT_PARAMS)))
    _check_compile(model, compile_params, name)

    seed = values.get("seed")
    if seed is not None:
        keras().utils.set_random_seed(int(seed))
        model = architecture.build(arch["name"], arch["keras_json"])
    warm_version = None
    if values.get("warm_start"):
        latest = _one("SELECT max(version) AS v FROM pgdl.models WHERE model = $1", ("text", name))
        if latest is None or latest["v"] is None:
            raise _error('warm start of model "%s": it has no version yet' % name,
                         sqlstate="42704")
        warm_version = latest["v"]
        start = load_weights(name, warm_version)
    elif arch["initial_weights"] is not None:
        start = architecture.unpack_weights(arch["name"], arch["initial_weights"],
                                            description.tensors)
    else:
        start = model.get_weights()
    if [list(a.shape) for a in start] != description.tensors:
        raise _error("the starting weights do not fit architecture \"%s\"" % arch["name"])

    job = _one("""INSERT INTO pgdl.training_jobs (model, architecture, source, validation_source,
                  compile_params, fit_params, iterations, segments, method, seed, warm_start,
                  moving_rate, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                  'running') RETURNING job""",
               ("text", name), ("text", arch["name"]), ("text", packed["output"]),
               ("text", validation["output"] if validation else None),
               ("jsonb", json.dumps(compile_params)), ("jsonb", json.dumps(fit_params)),
               ("int4", iterations), ("int4", segments), ("text", method), ("int8", seed),
               ("bool", bool(values.get("warm_start"))), ("float8", moving_rate))["job"]
    spec = {"keras_json": arch["keras_json"], "compile_params": compile_params,
            "fit_params": fit_params, "iterations": iterations, "method": method,
            "moving_rate": moving_rate, "seed": seed, "feature_shape": packed["feature_shape"],
            "task": packed["task"], "num_classes": packed["num_classes"],
            "tensor_shapes": description.tensors, "parameters": description.parameters,
            "metric_names": _metric_names(compile_params)}
    _one("INSERT INTO pgdl.training_runs (job, spec, weights) VALUES ($1, $2, $3) RETURNING job",
         ("int8", job), ("text", json.dumps(spec)),
         ("bytea", weight_vectors.flatten(start).tobytes()))

    rows = plpy.execute(
        "SELECT segment, iteration, rows, loss, metrics, validation_loss, validation_metrics, "
        "seconds, tensor, data FROM pgdl._training_segments WHERE job = %d AND train = %s "
        "AND validation %s AND segments = %d AND parameters = %d"
        % (job, plpy.quote_literal(packed["output"]),
           ("= " + plpy.quote_literal(validation["output"])) if validation else "IS NULL",
           segments, description.parameters))
    finished = time.perf_counter()

    history = [r for r in rows if r["tensor"] is None]
    tensors = {}
    for r in rows:
        if r["tensor"] is not None:
            tensors.setdefault(r["segment"], {})[r["tensor"]] = r["data"]
    keras_json = arch["keras_json"]
    if -1 in tensors[0]:        # an ensemble: a model of its own
        keras_json = tensors[0].pop(-1).decode()
        model = keras().models.model_from_json(keras_json)
        description = architecture.describe(model)
    final = [np.frombuffer(tensors[0][t], "<f4").reshape(shape)
             for t, shape in enumerate(description.tensors)]
    merged = [h for h in history if h["segment"] is None]
    last = merged[-1] if merged else {}
    iteration_seconds = [h["seconds"] for h in merged]

    version = _one("SELECT coalesce(max(version), 0) + 1 AS v FROM pgdl.models WHERE model = $1",
                   ("text", name))["v"]
    _one("""INSERT INTO pgdl.models (model, version, architecture, keras_json, source,
            validation_source, compile_params, fit_params, method, segments, iterations, seed,
            warm_start_version, task, class_values, class_type, feature_shape, normalization,
            normalizing_const, feature_mean, feature_std, metrics, validation_metrics,
            parameters, training_seconds, features, feature_kind, label, key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
            RETURNING version""",
         ("text", name), ("int4", version), ("text", arch["name"]), ("text", keras_json),
         ("text", packed["output"]), ("text", validation["output"] if validation else None),
         ("jsonb", json.dumps(compile_params)), ("jsonb", json.dumps(fit_params)),
         ("text", method), ("int4", segments), ("int4", iterations), ("int8", seed),
         ("int4", warm_version), ("text", packed["task"]), ("text[]", packed["class_values"]),
         ("text", packed["class_type"]), ("int4[]", packed["feature_shape"]),
         ("text", packed["normalization"]), ("float8", packed["normalizing_const"]),
         ("real[]", packed["feature_mean"]), ("real[]", packed["feature_std"]),
         ("jsonb", _with_loss(last, "loss", "metrics")),
         ("jsonb", _with_loss(last, "validation_loss", "validation_metrics")),
         ("int8", description.parameters), ("float8", finished - started),
         ("text[]", packed["features"]), ("text", packed["feature_kind"]),
         ("text", packed["label"]), ("text", packed["key"]))
    store_weights(name, version, final, [w.path for w in model.weights])
    model.set_weights(final)
    store_onnx(name, version, onnx_export.export(model, description.input_shape))
    insert_history = plpy.prepare(
        "INSERT INTO pgdl.training_history VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        ["text", "int4", "int4", "int4", "int8", "float8", "jsonb", "float8", "jsonb", "float8"])
    for h in history:
        plpy.execute(insert_history, [name, version, h["iteration"], h["segment"], h["rows"],
                                      h["loss"], h["metrics"], h["validation_loss"],
                                      h["validation_metrics"], h["seconds"]])
    plpy.execute("DELETE FROM pgdl.training_runs WHERE job = %d" % job)
    per_iteration = float(np.mean(iteration_seconds)) if iteration_seconds else None
    row = _one("""UPDATE pgdl.training_jobs SET status = 'finished', version = $2, iteration = $3,
                  loss = $4, metrics = $5, validation_metrics = $6, seconds = $7,
                  seconds_per_iteration = $8, fixed_seconds = $9, finished = now()
                  WHERE job = $1 RETURNING *""",
               ("int8", job), ("int4", version), ("int4", iterations),
               ("float8", last.get("loss")), ("jsonb", last.get("metrics")),
               ("jsonb", last.get("validation_metrics")),
               ("float8", finished - started), ("float8", per_iteration),
               ("float8", (finished - started) - sum(iteration_seconds)))
    return dict(row)


def _with_loss(row, loss, metrics):
    if not row or row.get(loss) is None:
        return None
    values = json.loads(row[metrics]) if row.get(metrics) else {}
    values["loss"] = row[loss]
    return json.dumps(values)


def store_weights(model, version, arrays, names=None):
    plpy = server.plpy
    insert = plpy.prepare("INSERT INTO pgdl.model_weights VALUES ($1, $2, $3, $4, $5, $6, $7)",
                          ["text", "int4", "int4", "int4", "text", "int4[]", "bytea"])
    for tensor, chunk, name, shape, data in weight_vectors.to_rows(arrays, names):
        plpy.execute(insert, [model, version, tensor, chunk, name, shape, data])


def load_weights(model, version):
    plpy = server.plpy
    plan = plpy.prepare("SELECT tensor, chunk, shape, data FROM pgdl.model_weights "
                        "WHERE model = $1 AND version = $2", ["text", "int4"])
    rows = plpy.execute(plan, [model, version])
    return weight_vectors.from_rows([(r["tensor"], r["chunk"], r["shape"], r["data"])
                                     for r in rows])


def store_onnx(model, version, data):
    plpy = server.plpy
    insert = plpy.prepare("INSERT INTO pgdl.model_onnx VALUES ($1, $2, $3, $4)",
                          ["text", "int4", "int4", "bytea"])
    chunk_bytes = weight_vectors.CHUNK_BYTES
    for chunk in range(max(1, -(-len(data) // chunk_bytes))):
        plpy.execute(insert, [model, version, chunk,
                              data[chunk * chunk_bytes:(chunk + 1) * chunk_bytes]])
