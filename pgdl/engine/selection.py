"""Model selection: search spaces as rows, and the INSERT into
pgdl.model_selection that trains every configuration of one.

generate_model_configs expands a search space (pgdl.engine.search) into
rows of pgdl.model_configs, written as the user.  A selection job reads the
user's configurations of a search, checks each one as a training job would
(pgdl.engine.training.check: the architecture fits the packed data, the
params are valid), and fails before any training, naming the configuration.
With at least as many configurations as segments it trains them with model
hopper parallelism (pgdl.engine.hopper) in one lockstep scan; with fewer,
each trains over all segments with model averaging, one after another.
Every configuration becomes a version of the job's model (origin
'selection'), with its history; pgdl.model_selection_results ranks them.
"""

import json
import time

from pgdl import server
from pgdl.engine import catalog, search
from pgdl.engine import segment as segment_training
from pgdl.engine import training
from pgdl.engine.hopper import state_shapes
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, privileged

LOWER_IS_BETTER = ("loss", "error")
JOB_TYPES = {
    "owner": "name", "model": "text", "search": "text", "source": "text",
    "validation_source": "text", "iterations": "int4", "segments": "int4", "schedule": "text",
    "metric": "text", "higher_is_better": "bool", "seed": "int8", "status": "text",
    "configs": "int4",
}


def _error(message, hint=None, sqlstate="22023"):
    return PgdlError(message, hint=hint, sqlstate=sqlstate)


def _json_value(value, name):
    if value is None or isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise _error("%s is not JSON: %s" % (name, exc))


def generate_model_configs(name, architectures, compile_params, fit_params, method, samples,
                           seed):
    """Adds the configurations of a search space to the user's search `name`
    (numbered after any it has) and returns them."""
    compile_params = _json_value(compile_params, "compile_params")
    fit_params = _json_value(fit_params, "fit_params") or {}
    for architecture in architectures or []:
        if architecture is not None and not catalog.execute(
                "SELECT 1 FROM pgdl.architectures WHERE name = $1", ["text"], [architecture]):
            raise _error('architecture "%s" does not exist' % architecture,
                         hint="INSERT it into pgdl.architectures first.", sqlstate="42704")
    configs = search.expand(architectures, compile_params, fit_params, method, samples, seed)
    for architecture, compile_config, fit_config in configs:
        _check_params(compile_config, fit_config)
    owner = acting_role()
    last = catalog.execute("SELECT coalesce(max(config), 0) AS last FROM pgdl.model_configs "
                           "WHERE owner = $1 AND search = $2", ["name", "text"], [owner, name])
    first = last[0]["last"] + 1
    rows = []
    for number, (architecture, compile_config, fit_config) in enumerate(configs, first):
        rows.extend(catalog.execute(
            "INSERT INTO pgdl.model_configs (search, config, architecture, compile_params, "
            "fit_params) VALUES ($1, $2, $3, $4, $5) RETURNING *",
            ["text", "int4", "text", "jsonb", "jsonb"],
            [name, number, architecture, json.dumps(compile_config), json.dumps(fit_config)]))
    return rows


def _check_params(compile_params, fit_params):
    if "loss" not in compile_params:
        raise _error("compile_params have no loss",
                     hint='Give one, as in {"optimizer": "adam", "loss": '
                          '"categorical_crossentropy", "metrics": ["accuracy"]}.')
    training._check_fit_params(fit_params)


def _configs(owner, name):
    rows = catalog.execute(
        "SELECT config, architecture, compile_params::text AS compile_params, "
        "fit_params::text AS fit_params FROM pgdl.model_configs "
        "WHERE owner = $1 AND search = $2 ORDER BY config", ["name", "text"], [owner, name])
    if not rows:
        raise _error('search "%s" has no configurations' % name,
                     hint="Make them with pgdl.generate_model_configs, or INSERT them into "
                          "pgdl.model_configs.", sqlstate="42704")
    return [dict(r) for r in rows]


def _plans(values, owner, configs, segments, seed):
    """A checked training plan per configuration; a configuration that does
    not fit fails the job before any training, named."""
    plans = []
    for config in configs:
        job = {"model": values["model"], "architecture": config["architecture"],
               "source": values.get("source"), "validation_source": values.get("validation_source"),
               "compile_params": config["compile_params"], "fit_params": config["fit_params"],
               "iterations": values.get("iterations"), "segments": segments,
               "seed": seed + config["config"]}
        try:
            plan = training.check(job)
        except PgdlError as exc:
            raise PgdlError("configuration %d of search \"%s\": %s"
                            % (config["config"], values["search"], exc.message),
                            detail=exc.detail, hint=exc.hint, sqlstate=exc.sqlstate) from None
        plans.append(plan)
    return plans


def _metric(values, plans):
    metric = values.get("metric") or "loss"
    for plan in plans:
        known = ["loss"] + training._metric_names(plan.compile_params)
        if metric not in known:
            raise _error('metric "%s" is not among the metrics of every configuration' % metric,
                         hint="Configuration metrics: %s." % ", ".join(known))
    return metric, not any(word in metric for word in LOWER_IS_BETTER)


def run_selection(values):
    """The INSERT into pgdl.model_selection: check every configuration,
    train them all, store each as a version."""
    started = time.perf_counter()
    name, search_name = values.get("model"), values.get("search")
    if not name:
        raise _error("a selection job needs a model name", sqlstate="23502")
    if not search_name:
        raise _error("a selection job needs a search (pgdl.model_configs)", sqlstate="23502")
    owner = acting_role()
    configs = _configs(owner, search_name)
    packed, _ = training._sources(values)
    segments = packed["segments"] if values.get("segments") is None else values["segments"]
    seed = 0 if values.get("seed") is None else int(values["seed"])
    plans = _plans(values, owner, configs, segments, seed)
    metric, higher = _metric(values, plans)
    schedule = "hopper" if len(plans) >= segments else "average"
    first = plans[0]
    job = _insert_job({
        "owner": owner, "model": name, "search": search_name, "source": first.packed["output"],
        "validation_source": first.validation["output"] if first.validation else None,
        "iterations": first.iterations, "segments": segments, "schedule": schedule,
        "metric": metric, "higher_is_better": higher, "seed": values.get("seed"),
        "status": "running", "configs": len(plans)})

    if schedule == "hopper":
        rows = _hop(job, plans, configs)
        by_config = {c["config"]: [r for r in rows if r["config"] == c["config"]]
                     for c in configs}
    else:
        by_config = {}
        for config, plan in zip(configs, plans):
            by_config[config["config"]] = training._train_here(
                -job, plan.spec(), plan.start, plan.packed, plan.validation, plan.segments,
                plan.description)

    best = None
    for config, plan in zip(configs, plans):
        plan.method = schedule
        version, last, _ = training.store_version(
            plan, by_config[config["config"]], time.perf_counter() - started,
            {"origin": "selection", "search": search_name, "config": config["config"],
             "selection_job": job})
        value = _value(last, metric, plan.validation is not None)
        if value is not None and (best is None or (value > best[1] if higher else value < best[1])):
            best = (version, value)
    return _finish_job(job, {"status": "finished", "best_version": best and best[0],
                             "best_value": best and best[1],
                             "seconds": time.perf_counter() - started})


def _value(last, metric, validation):
    loss, metrics = ("validation_loss", "validation_metrics") if validation else \
        ("loss", "metrics")
    if not last:
        return None
    if metric == "loss":
        return last.get(loss)
    return json.loads(last[metrics]).get(metric) if last.get(metrics) else None


def _hop(job, plans, configs):
    """Every configuration trained by model hopper in one lockstep scan:
    the scan's rows, each with its configuration."""
    first = plans[0]
    entries, largest = [], 0
    for config, plan in zip(configs, plans):
        spec = plan.spec()
        shapes, weight_count = state_shapes(spec["keras_json"], spec["compile_params"])
        size = sum(_product(shape) for shape in shapes)
        largest = max(largest, size)
        entries.append({"config": config["config"], "seed": plan.seed,
                        "keras_json": spec["keras_json"], "compile_params": spec["compile_params"],
                        "fit_params": spec["fit_params"], "metric_names": spec["metric_names"],
                        "tensor_shapes": spec["tensor_shapes"], "state_shapes": shapes,
                        "weight_count": weight_count, "state_size": size})
    spec = dict(first.spec(), method="hopper", configs=entries, parameters=largest)
    key = -job
    segment_training.RUNNING[key] = segment_training.JobInputs(
        json.dumps(spec).encode(), b"", first.segments, largest, first.packed["qualified"],
        first.validation["qualified"] if first.validation else None)
    try:
        with privileged():
            return server.plpy.execute(
                "SELECT config, segment, iteration, rows, loss, metrics, validation_loss, "
                "validation_metrics, seconds, tensor, data "
                "FROM pgdl_internal.training_segments WHERE job = %d" % key)
    finally:
        segment_training.RUNNING.pop(key, None)


def _product(shape):
    total = 1
    for n in shape:
        total *= n
    return total


def _insert_job(row):
    names = list(row)
    sql = "INSERT INTO pgdl.selection_jobs (%s) VALUES (%s) RETURNING job" % (
        ", ".join(names), ", ".join("$%d" % (i + 1) for i in range(len(names))))
    with privileged():
        return catalog.execute(sql, [JOB_TYPES[n] for n in names],
                               [row[n] for n in names])[0]["job"]


def _finish_job(job, values):
    with privileged():
        return dict(catalog.execute(
            "UPDATE pgdl.selection_jobs SET status = $2, best_version = $3, best_value = $4, "
            "seconds = $5, finished = now() WHERE job = $1 RETURNING *",
            ["int8", "text", "int4", "float8", "float8"],
            [job, values["status"], values["best_version"], values["best_value"],
             values["seconds"]])[0])
