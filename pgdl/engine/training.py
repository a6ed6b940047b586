"""A training job, run by the INSERT into pgdl.model_training (the leader).

Checks the job as the user, hands its spec and starting weights to its
segments (through the scan's shared memory, pgdl.engine.segment), runs one
parallel scan of pgdl_internal.training_segments in which every segment
trains in lockstep, and stores the result as a new version of the user's
model: pgdl.models, pgdl.model_weights, pgdl.model_onnx,
pgdl.training_history (pgdl.engine.registry).  It all happens in the
INSERT's transaction: a job that fails or is cancelled leaves no version
behind.
"""

import json
import time
from dataclasses import dataclass

import numpy as np

from pgdl import names, server
from pgdl.engine import architecture, catalog, onnx_export, registry
from pgdl.engine import segment as segment_training
from pgdl.engine import weights as weight_vectors
from pgdl.engine.keras_loader import keras
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, privileged

METHODS = ("average", "easgd", "ensemble", "group")
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
    rows = catalog.execute(sql, [kind for kind, _ in args], [value for _, value in args])
    return dict(rows[0]) if rows else None


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


def _check_fit_params(params):
    unknown = set(params) - FIT_PARAMS
    if unknown:
        raise _error("unknown fit_params %s" % ", ".join(sorted(unknown)),
                     hint="Known: %s." % ", ".join(sorted(FIT_PARAMS)))
    for name in ("batch_size", "epochs"):
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise _error("fit_params %s must be a whole number of at least 1, not %s"
                         % (name, json.dumps(value)))
    split = params.get("validation_split")
    if split is not None and (isinstance(split, bool) or not isinstance(split, (int, float))
                              or not 0 <= split < 1):
        raise _error("fit_params validation_split must be at least 0 and below 1, not %s"
                     % json.dumps(split))
    if "shuffle" in params and not isinstance(params["shuffle"], bool):
        raise _error("fit_params shuffle must be true or false, not %s"
                     % json.dumps(params["shuffle"]))
    weights = params.get("class_weight")
    if weights is not None and not isinstance(weights, dict):
        raise _error("fit_params class_weight must be an object of class index: weight")


def _moving_rate(values, method):
    rate = values.get("moving_rate")
    if method != "easgd":
        if rate is not None:
            raise _error("moving_rate is for method easgd, not %s" % method,
                         hint="Leave moving_rate NULL, or use method easgd.")
        return None
    if rate is None:
        return 0.5
    if not 0 < rate < 1:
        raise _error("moving_rate must be above 0 and below 1, not %r" % rate)
    return rate


def _packed(name, what, hint):
    """The pgdl.packed row of a packed table the user may see, with its name
    schema-qualified (as segments read it, whatever their search_path)."""
    if name is None:
        raise _error("a training job needs a %s, not NULL" % what, sqlstate="22004")
    found = names.relation(name, "table")
    row = _one("SELECT * FROM pgdl.packed WHERE output = $1", ("oid", found.oid))
    if row is None:
        raise _error('"%s" is not a packed table' % name, hint=hint, sqlstate="42P01")
    row["qualified"] = found.qualified
    row["output"] = found.name
    row["output_oid"] = found.oid
    return row


@dataclass
class JobPlan:
    """A checked job: what the user asked for, resolved and validated as the user."""

    owner: str
    name: str
    iterations: int
    method: str
    moving_rate: float
    seed: int
    warm_start: bool
    architecture: dict          # the pgdl.architectures row
    packed: dict                # the pgdl.packed rows (_packed)
    validation: dict
    segments: int
    compile_params: dict
    fit_params: dict
    model: object               # the Keras model, built (and seeded) once
    description: object         # architecture.describe(model)
    start: list                 # the starting weights
    warm_version: int = None
    group_by: str = None        # a model per value of this column (method group)

    def spec(self):
        """What every segment needs to build and train its model."""
        packed = self.packed
        return {"keras_json": self.architecture["keras_json"],
                "compile_params": self.compile_params, "fit_params": self.fit_params,
                "iterations": self.iterations, "method": self.method,
                "moving_rate": self.moving_rate, "seed": self.seed,
                "feature_shape": packed["feature_shape"], "task": packed["task"],
                "num_classes": packed["num_classes"], "tensor_shapes": self.description.tensors,
                "parameters": self.description.parameters,
                "metric_names": _metric_names(self.compile_params),
                "groups": self.group_by is not None}

    def job_row(self):
        """The job's pgdl.training_jobs row, as it starts."""
        return {"owner": self.owner, "model": self.name, "architecture": self.architecture["name"],
                "source": self.packed["output"],
                "validation_source": self.validation["output"] if self.validation else None,
                "compile_params": json.dumps(self.compile_params),
                "fit_params": json.dumps(self.fit_params), "iterations": self.iterations,
                "segments": self.segments, "method": self.method, "seed": self.seed,
                "warm_start": self.warm_start, "moving_rate": self.moving_rate,
                "group_by": self.group_by, "status": "running"}


def run_job(values):
    """The INSERT into pgdl.model_training: check, train, store a version."""
    started = time.perf_counter()
    plan = check(values)
    job = registry.new_job(plan.job_row())
    if plan.group_by:
        return _run_groups(job, plan, started)
    rows, moved = run_segments(job, plan)
    finished = time.perf_counter()
    version, last, iteration_seconds = store_version(plan, rows, finished - started)
    per_iteration = float(np.mean(iteration_seconds)) if iteration_seconds else None
    return registry.finish_job(job, {
        "status": "finished", "version": version, "iteration": plan.iterations,
        "loss": last.get("loss"), "metrics": last.get("metrics"),
        "validation_metrics": last.get("validation_metrics"),
        "seconds": finished - started, "seconds_per_iteration": per_iteration,
        "fixed_seconds": (finished - started) - sum(iteration_seconds),
        "bytes_per_iteration": moved})


def check(values):
    """A JobPlan from the INSERT's values, every check run as the user."""
    name = values.get("model")
    if not name:
        raise _error("a training job needs a model name", sqlstate="23502")
    owner = acting_role()
    iterations = 1 if values.get("iterations") is None else values["iterations"]
    if iterations < 1:
        raise _error("iterations must be at least 1, not %d" % iterations)
    method = values.get("method") or "average"
    if method not in METHODS:
        raise _error('unknown method "%s"' % method, hint="Methods: %s." % ", ".join(METHODS))
    moving_rate = _moving_rate(values, method)

    arch = _one("SELECT * FROM pgdl.architectures WHERE name = $1",
                ("text", values.get("architecture")))
    if arch is None:
        raise _error('architecture "%s" does not exist' % values.get("architecture"),
                     hint="INSERT it into pgdl.architectures first.", sqlstate="42704")
    packed, validation = _sources(values)
    group_by = _group_by(values, packed, method)
    if group_by:
        method = "group"
    segments = packed["segments"] if values.get("segments") is None else values["segments"]
    if segments < 1:
        raise _error("segments must be at least 1, not %d" % segments)
    buffers = sum(packed["buffers_per_segment"])
    if segments > buffers:
        raise _error("%d segments for %d buffers of %s" % (segments, buffers, packed["output"]),
                     hint="Use at most %d segments, or pack with a smaller buffer_size."
                     % buffers)

    compile_params = _json(values.get("compile_params"), "compile_params")
    fit_params = _json(values.get("fit_params"), "fit_params")
    _check_fit_params(fit_params)
    architecture.check_config(compile_params, "compile_params")
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
    _check_compile(model, compile_params, name)

    seed = values.get("seed")
    if seed is not None:
        keras().utils.set_random_seed(int(seed))
        model = architecture.build(arch["name"], arch["keras_json"])
    warm_version, start = _start(values, owner, name, arch, model, description)
    return JobPlan(owner=owner, name=name, iterations=iterations, method=method,
                   moving_rate=moving_rate, seed=seed, warm_start=bool(values.get("warm_start")),
                   architecture=arch, packed=packed, validation=validation, segments=segments,
                   compile_params=compile_params, fit_params=fit_params, model=model,
                   description=description, start=start, warm_version=warm_version,
                   group_by=group_by)


def _group_by(values, packed, method):
    """The group column of a job over a packed table grouped by it (method
    group: a model per group), or None."""
    grouped = packed.get("group_by")
    asked = values.get("group_by")
    if asked is not None and asked != grouped:
        raise _error("group_by %s: %s is %s" % (asked, packed["output"],
                                                 "grouped by %s" % grouped if grouped
                                                 else "not grouped"),
                     hint="Pack it with pgdl.preprocess(..., group_by => '%s')." % asked)
    if grouped and method not in ("average", "group") or \
            grouped and method == "average" and values.get("method"):
        raise _error("%s is grouped by %s: its job trains a model per group (method group), "
                     "not method %s" % (packed["output"], grouped, method),
                     hint="Leave method NULL, or pack without group_by.")
    if not grouped and method == "group":
        raise _error("method group needs a packed table grouped by a column",
                     hint="Pack it with pgdl.preprocess(..., group_by => 'column').")
    if grouped and values.get("warm_start"):
        raise _error("warm_start of a model per group is not supported yet",
                     sqlstate="0A000")
    return grouped


def _run_groups(job, plan, started):
    """A model per group: every segment trains the groups it holds, and
    each group's model becomes a version with its group value."""
    rows = run_lockstep(job, segment_training.JobInputs(
        json.dumps(plan.spec()).encode(), weight_vectors.flatten(plan.start).tobytes(),
        plan.segments, plan.description.parameters, plan.packed["qualified"],
        plan.validation["qualified"] if plan.validation else None, grouped=True),
        columns="segment, group_value")
    by_group = {}
    for row in rows:
        by_group.setdefault(row["group_value"], []).append(row)
    version, rows_seen, loss = None, 0, 0.0
    for group in sorted(by_group):
        version, last, _ = store_version(plan, by_group[group], time.perf_counter() - started,
                                         {"group_by": plan.group_by, "group_value": group,
                                          "group_job": job})
        if last.get("loss") is not None:
            rows_seen += last["rows"]
            loss += last["rows"] * last["loss"]
    finished = time.perf_counter()
    return registry.finish_job(job, {
        "status": "finished", "version": version, "iteration": plan.iterations,
        "loss": loss / rows_seen if rows_seen else None, "groups": len(by_group),
        "seconds": finished - started})


def _sources(values):
    """The packed training table and, if given, the validation one, which
    must match it (classes, features, where its segments are)."""
    packed = _packed(values.get("source"), "source", "Pack it with pgdl.preprocess first.")
    validation = None
    if values.get("validation_source"):
        validation = _packed(values["validation_source"], "validation_source",
                             "Pack it with pgdl.preprocess(..., validation_of => ...).")
        if validation["class_values"] != packed["class_values"] or \
                validation["feature_shape"] != packed["feature_shape"]:
            raise _error("validation source %s has other classes or features than %s"
                         % (validation["output"], packed["output"]),
                         hint="Pack it with validation_of => '%s'." % packed["output"])
        if validation.get("group_by") != packed.get("group_by"):
            raise _error("validation source %s is grouped otherwise than %s"
                         % (validation["output"], packed["output"]),
                         hint="Pack it with validation_of => '%s'." % packed["output"])
        if bool(validation.get("segment_ids")) != bool(packed.get("segment_ids")):
            on, off = (packed, validation) if packed.get("segment_ids") else (validation, packed)
            raise _error("%s is on the Citus workers; %s is not" % (on["output"], off["output"]),
                         hint="Pack both from distributed tables, or both from local ones, "
                              "with validation_of.")
    return packed, validation


def _start(values, owner, name, arch, model, description):
    """(warm start version or None, starting weights): the model's latest
    version, the architecture's initial weights, or the fresh model's."""
    warm_version = None
    if values.get("warm_start"):
        latest = _one("SELECT max(version) AS v FROM pgdl.models WHERE owner = $1 AND model = $2",
                      ("name", owner), ("text", name))
        if latest is None or latest["v"] is None:
            raise _error('warm start of model "%s": it has no version yet' % name,
                         sqlstate="42704")
        warm_version = latest["v"]
        start = registry.load_weights(owner, name, warm_version)
    elif arch["initial_weights"] is not None:
        start = architecture.unpack_weights(arch["name"], arch["initial_weights"],
                                            description.tensors)
    else:
        start = model.get_weights()
    if [list(a.shape) for a in start] != description.tensors:
        raise _error("the starting weights do not fit architecture \"%s\"" % arch["name"])
    return warm_version, start


def run_segments(job, plan):
    """(the segments' rows: history, then final tensors; bytes moved per
    iteration on Citus, else None)."""
    spec = plan.spec()
    if plan.packed.get("segment_ids"):
        from pgdl.distributed import training as distributed
        rows, traffic = distributed.run(job, spec, plan.start, plan.packed, plan.validation,
                                        plan.segments)
        return rows, (traffic.sent + traffic.received) // plan.iterations
    return _train_here(job, spec, plan.start, plan.packed, plan.validation, plan.segments,
                       plan.description), None


@dataclass
class TrainedVersion:
    """A trained model, ready to store: its pgdl.models row (but for its
    version number), ONNX export, weights and history."""

    row: dict
    onnx: bytes
    weights: list
    weight_names: list
    history: list
    last: dict                  # the last merged history row
    iteration_seconds: list


def store_version(plan, rows, seconds, extra=None):
    """Stores the trained model as the next version (extra: more pgdl.models
    columns): (version, the last merged history row, seconds of each
    iteration)."""
    trained = trained_version(plan, rows, seconds, extra)
    version = registry.next_version(plan.owner, plan.name)
    registry.add_version(dict(trained.row, version=version), trained.onnx, trained.weights,
                         trained.weight_names, trained.history)
    return version, trained.last, trained.iteration_seconds


def trained_version(plan, rows, seconds, extra=None):
    """The TrainedVersion of a job's rows: history, then final tensors."""
    history = [r for r in rows if r["tensor"] is None]
    tensors = {}
    for r in rows:
        if r["tensor"] is not None:
            tensors.setdefault(r["segment"], {})[r["tensor"]] = r["data"]
    keras_json = plan.architecture["keras_json"]
    model, description = plan.model, plan.description
    if -1 in tensors[0]:        # an ensemble: a model of its own
        keras_json = tensors[0].pop(-1).decode()
        model = keras().models.model_from_json(keras_json)
        description = architecture.describe(model)
    final = [np.frombuffer(tensors[0][t], "<f4").reshape(shape)
             for t, shape in enumerate(description.tensors)]
    merged = [h for h in history if h["segment"] is None]
    last = merged[-1] if merged else {}

    model.set_weights(final)
    onnx = onnx_export.export(model, description.input_shape)
    packed, validation = plan.packed, plan.validation
    row = dict(extra or {}, **{
        "owner": plan.owner, "model": plan.name,
        "architecture": plan.architecture["name"], "keras_json": keras_json,
        "source": packed["output"],
        "validation_source": validation["output"] if validation else None,
        "compile_params": json.dumps(plan.compile_params),
        "fit_params": json.dumps(plan.fit_params), "method": plan.method,
        "segments": plan.segments, "iterations": plan.iterations, "seed": plan.seed,
        "warm_start_version": plan.warm_version, "task": packed["task"],
        "class_values": packed["class_values"], "class_type": packed["class_type"],
        "feature_shape": packed["feature_shape"], "normalization": packed["normalization"],
        "normalizing_const": packed["normalizing_const"],
        "feature_mean": packed["feature_mean"], "feature_std": packed["feature_std"],
        "metrics": _with_loss(last, "loss", "metrics"),
        "validation_metrics": _with_loss(last, "validation_loss", "validation_metrics"),
        "parameters": description.parameters, "training_seconds": seconds,
        "features": packed["features"], "feature_kind": packed["feature_kind"],
        "label": packed["label"], "key": packed["key"]})
    return TrainedVersion(row, onnx, final, [w.path for w in model.weights], history, last,
                          [h["seconds"] for h in merged])


def _train_here(job, spec, start, packed, validation, segments, description):
    """Trains on this server's parallel participants, in lockstep."""
    return run_lockstep(job, segment_training.JobInputs(
        json.dumps(spec).encode(), weight_vectors.flatten(start).tobytes(), segments,
        description.parameters, packed["qualified"],
        validation["qualified"] if validation else None))


def run_lockstep(job, inputs, columns="segment"):
    """The rows of one lockstep scan of job's segments (pgdl.engine.segment).
    The job's inputs reach its segments through the scan's shared memory,
    from this process (segment 0), never through a table or the query text."""
    segment_training.RUNNING[job] = inputs
    try:
        with privileged():
            return server.plpy.execute(
                "SELECT %s, iteration, rows, loss, metrics, validation_loss, "
                "validation_metrics, seconds, tensor, data FROM pgdl_internal.training_segments "
                "WHERE job = %d" % (columns, int(job)))
    finally:
        segment_training.RUNNING.pop(job, None)


def _with_loss(row, loss, metrics):
    if not row or row.get(loss) is None:
        return None
    values = json.loads(row[metrics]) if row.get(metrics) else {}
    values["loss"] = row[loss]
    return json.dumps(values)
