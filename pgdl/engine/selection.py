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

import dataclasses
import json
import math
import time

import numpy as np

from pgdl.engine import catalog, registry, search
from pgdl.engine import segment as segment_training
from pgdl.engine import training
from pgdl.engine.hopper import state_shapes
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, privileged

LOWER_IS_BETTER = ("loss", "error")
METHODS = ("all", "random", "hyperband")
JOB_TYPES = {
    "owner": "name", "model": "text", "search": "text", "source": "text",
    "validation_source": "text", "iterations": "int4", "segments": "int4", "schedule": "text",
    "method": "text", "samples": "int4", "hyperband_r": "int4", "eta": "int4",
    "skip_last": "int4", "metric": "text", "higher_is_better": "bool", "seed": "int8",
    "status": "text", "configs": "int4",
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
    """The INSERT into pgdl.model_selection: check the configurations, train
    them (all, a random sample, or Hyperband's brackets), store each as a
    version."""
    started = time.perf_counter()
    name, search_name = values.get("model"), values.get("search")
    if not name:
        raise _error("a selection job needs a model name", sqlstate="23502")
    if not search_name:
        raise _error("a selection job needs a search (pgdl.model_configs)", sqlstate="23502")
    method = values.get("method") or "all"
    if method not in METHODS:
        raise _error('unknown selection method "%s"' % method,
                     hint="Methods: %s." % ", ".join(METHODS))
    owner = acting_role()
    configs = _configs(owner, search_name)
    seed = 0 if values.get("seed") is None else int(values["seed"])
    brackets = _brackets(values, method, len(configs))
    configs = _draw(configs, brackets, method, seed, search_name)
    packed, _ = training._sources(values)
    if packed.get("segment_ids"):
        raise PgdlError("%s is on the Citus workers; model selection runs on one node so far"
                        % packed["output"],
                        hint="Pack a local table, or train each configuration with "
                             "INSERT INTO pgdl.model_training.", sqlstate="0A000")
    if packed.get("group_by"):
        raise PgdlError("%s is grouped by %s; model selection of a model per group is not "
                        "supported yet" % (packed["output"], packed["group_by"]),
                        hint="Select over a table packed without group_by, then train the "
                             "best configuration per group.", sqlstate="0A000")
    segments = packed["segments"] if values.get("segments") is None else values["segments"]
    plans = _plans(values, owner, configs, segments, seed)
    metric, higher = _metric(values, plans)
    first = plans[0]
    job = _insert_job({
        "owner": owner, "model": name, "search": search_name, "source": first.packed["output"],
        "validation_source": first.validation["output"] if first.validation else None,
        "iterations": max(r for _, rounds in brackets for _, r in rounds),
        "segments": segments,
        "schedule": _schedule(brackets[0][1][0][0], segments), "method": method,
        "samples": values.get("samples"), "hyperband_r": values.get("hyperband_r"),
        "eta": values.get("eta"), "skip_last": values.get("skip_last"),
        "metric": metric, "higher_is_better": higher, "seed": values.get("seed"),
        "status": "running", "configs": len(plans)})
    search = _Search(job, search_name, metric, higher, segments, first.validation is not None)
    runs = dict(zip((c["config"] for c in configs), plans))
    offset = 0
    for bracket, rounds in brackets:
        count = rounds[0][0]
        search.bracket(bracket, [c["config"] for c in configs[offset:offset + count]], rounds,
                       runs)
        offset += count

    best = None
    for config, (version, value) in search.stored.items():
        if value is not None and (best is None or (value > best[1] if higher else
                                                   value < best[1])):
            best = (version, value)
    return _finish_job(job, {"status": "finished", "best_version": best and best[0],
                             "best_value": best and best[1],
                             "seconds": time.perf_counter() - started})


def _schedule(configs, segments):
    return "hopper" if configs >= segments else "average"


def _whole(values, name, default, low, high):
    value = values.get(name)
    if value is None:
        return default
    if not low <= value <= high:
        raise _error("%s must be between %d and %d, not %d" % (name, low, high, value))
    return value


def _brackets(values, method, available):
    """[(bracket, [(configurations, total iterations) per round])]: one
    round of every configuration, or Hyperband's brackets."""
    for option in ("hyperband_r", "eta", "skip_last"):
        if method != "hyperband" and values.get(option) is not None:
            raise _error("%s is for method hyperband, not %s" % (option, method))
    if method != "random" and values.get("samples") is not None:
        raise _error("samples is for method random, not %s" % method)
    iterations = _whole(values, "iterations", 1, 1, 100_000)
    if method == "all":
        return [(0, [(available, iterations)])]
    if method == "random":
        if values.get("samples") is None:
            raise _error("method random needs samples: how many configurations to draw")
        return [(0, [(_whole(values, "samples", None, 1, 100_000), iterations)])]
    if values.get("iterations") is not None:
        raise _error("iterations is not for method hyperband",
                     hint="hyperband_r is the most iterations a configuration gets.")
    return hyperband_schedule(_whole(values, "hyperband_r", 9, 1, 10_000),
                              _whole(values, "eta", 3, 2, 100),
                              _whole(values, "skip_last", 0, 0, 100))


def hyperband_schedule(r, eta, skip_last):
    """Hyperband's brackets (Li et al.) for at most r iterations per
    configuration: bracket s starts n configurations with r / eta^s
    iterations, then keeps the best 1/eta of them for eta times as many,
    and so on up to r; skip_last drops the last rounds of every bracket."""
    s_max = 0
    while eta ** (s_max + 1) <= r:
        s_max += 1
    budget = (s_max + 1) * r
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil(budget / r * eta ** s / (s + 1))
        rounds = []
        for i in range(s + 1 - skip_last):
            total = max(1, round(r * eta ** (i - s)))
            count = max(1, math.floor(n * eta ** -i))
            if rounds and total <= rounds[-1][1]:
                continue
            rounds.append((count, total))
        if rounds:
            brackets.append((s, rounds))
    if not brackets:
        raise _error("skip_last %d leaves no round to run" % skip_last,
                     hint="Hyperband with hyperband_r %d and eta %d has %d rounds in its "
                          "largest bracket." % (r, eta, s_max + 1))
    return brackets


def _draw(configs, brackets, method, seed, name):
    """The configurations the brackets start: all of them in order, or
    drawn without repeats with the job's seed."""
    needed = sum(rounds[0][0] for _, rounds in brackets)
    if method == "all":
        return configs
    if needed > len(configs):
        raise _error('method %s needs %d configurations; search "%s" has %d'
                     % (method, needed, name, len(configs)),
                     hint="Add configurations with pgdl.generate_model_configs(..., "
                          "method => 'random', samples => %d)." % (needed - len(configs)))
    order = np.random.default_rng(seed).permutation(len(configs))[:needed]
    return [configs[i] for i in order]


class _Search:
    """Runs the rounds of a selection job and stores each configuration as
    a version when it stops (eliminated or done), with its whole history."""

    def __init__(self, job, name, metric, higher, segments, validation):
        self.job, self.name, self.metric, self.higher = job, name, metric, higher
        self.segments, self.validation = segments, validation
        self.history = {}           # config -> history rows so far
        self.stored = {}            # config -> (version, value)
        self.started = time.perf_counter()

    def bracket(self, bracket, live, rounds, plans):
        states, done, values = {}, 0, {}
        for number, (count, total) in enumerate(rounds):
            live = self._survivors(live, values, count)
            chosen = {c: dataclasses.replace(plans[c], iterations=total - done) for c in live}
            schedule = _schedule(len(live), self.segments)
            if schedule == "hopper":
                rows = _hop(self.job, chosen, states)
            else:
                rows = {c: self._average(plan, states.get(c)) for c, plan in chosen.items()}
            states, values = {}, {}
            for config, config_rows in rows.items():
                history = [dict(r, iteration=r["iteration"] + done) for r in config_rows
                           if r["tensor"] is None]
                self.history.setdefault(config, []).extend(history)
                states[config] = {r["tensor"]: r["data"] for r in config_rows
                                  if r["tensor"] is not None}
                merged = [h for h in history if h["segment"] is None]
                values[config] = _value(merged[-1] if merged else None, self.metric,
                                        self.validation)
            last = number == len(rounds) - 1
            going = set() if last else set(self._survivors(live, values, rounds[number + 1][0]))
            for config in live:
                _record_run(self.job, bracket, number, config, schedule, total - done, total,
                            values[config], config in going)
                if config not in going:
                    self._store(plans[config], config, states[config], total, values[config],
                                schedule)
            done = total

    def _survivors(self, live, values, count):
        """The best `count` of live by their values (none yet: the first)."""
        if not values:
            return live[:count]

        def rank(config):
            value = values[config]
            return (value is None, 0 if value is None else -value if self.higher else value)
        return sorted(live, key=rank)[:count]

    def _average(self, plan, state):
        if state is not None:
            plan = dataclasses.replace(plan, start=[
                np.frombuffer(state[t], "<f4").reshape(shape)
                for t, shape in enumerate(plan.description.tensors)])
        return training._train_here(-self.job, plan.spec(), plan.start, plan.packed,
                                    plan.validation, plan.segments, plan.description)

    def _store(self, plan, config, state, total, value, schedule):
        plan = dataclasses.replace(plan, method=schedule, iterations=total)
        rows = self.history[config] + [
            {"segment": 0, "tensor": tensor, "data": data, "iteration": None}
            for tensor, data in state.items()]
        version, _, _ = training.store_version(
            plan, rows, time.perf_counter() - self.started,
            {"origin": "selection", "search": self.name, "config": config,
             "selection_job": self.job})
        self.stored[config] = (version, value)
        with privileged():
            catalog.execute("UPDATE pgdl.selection_runs SET version = $3 "
                            "WHERE job = $1 AND config = $2", ["int8", "int4", "int4"],
                            [self.job, config, version])


def _record_run(job, bracket, number, config, schedule, iterations, total, value, survived):
    with privileged():
        catalog.execute(
            "INSERT INTO pgdl.selection_runs (job, bracket, round, config, schedule, "
            "iterations, total_iterations, value, survived, owner) "
            "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, owner FROM pgdl.selection_jobs "
            "WHERE job = $1",
            ["int8", "int4", "int4", "int4", "text", "int4", "int4", "float8", "bool"],
            [job, bracket, number, config, schedule, iterations, total, value, survived])


def _value(last, metric, validation):
    loss, metrics = ("validation_loss", "validation_metrics") if validation else \
        ("loss", "metrics")
    if not last:
        return None
    if metric == "loss":
        return last.get(loss)
    return json.loads(last[metrics]).get(metric) if last.get(metrics) else None


def _hop(job, plans, states):
    """The configurations of plans ({config: plan}) trained by model hopper
    in one lockstep scan, each going on from its state where it has one:
    {config: its rows}."""
    entries, largest, starts = [], 0, []
    for config, plan in plans.items():
        spec = plan.spec()
        shapes, weight_count = state_shapes(spec["keras_json"], spec["compile_params"])
        size = sum(math.prod(shape) for shape in shapes)
        largest = max(largest, size)
        entry = {"config": config, "seed": plan.seed, "keras_json": spec["keras_json"],
                 "compile_params": spec["compile_params"], "fit_params": spec["fit_params"],
                 "metric_names": spec["metric_names"], "tensor_shapes": spec["tensor_shapes"],
                 "state_shapes": shapes, "weight_count": weight_count, "state_size": size}
        state = states.get(config)
        if state:
            tensors = [state[t] for t in range(len(state))]
            starts.extend(tensors)
            entry["start_tensors"] = len(tensors)
            entry["start_size"] = sum(len(t) for t in tensors) // 4
        entries.append(entry)
    first = next(iter(plans.values()))
    spec = dict(first.spec(), method="hopper", configs=entries, parameters=largest)
    rows = training.run_lockstep(-job, segment_training.JobInputs(
        json.dumps(spec).encode(), b"".join(starts), first.segments, largest,
        first.packed["qualified"], first.validation["qualified"] if first.validation else None),
        columns="config, segment")
    by_config = {config: [] for config in plans}
    for row in rows:
        by_config[row["config"]].append(dict(row))
    return by_config


def _insert_job(row):
    return registry._insert("selection_jobs", row, JOB_TYPES, returning="job")[0]["job"]


def _finish_job(job, values):
    with privileged():
        return dict(catalog.execute(
            "UPDATE pgdl.selection_jobs SET status = $2, best_version = $3, best_value = $4, "
            "seconds = $5, finished = now() WHERE job = $1 RETURNING *",
            ["int8", "text", "int4", "float8", "float8"],
            [job, values["status"], values["best_version"], values["best_value"],
             values["seconds"]])[0])
