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

from pgdl import server
from pgdl.engine import apart, catalog, registry, search
from pgdl.engine import segment as segment_training
from pgdl.engine import training
from pgdl.engine.hopper import state_shapes
from pgdl.errors import PgdlError
from pgdl.privilege import acting_role, privileged

LOWER_IS_BETTER = ("loss", "error")
METHODS = ("all", "random", "hyperband")
PROGRESS_SECONDS = 10.0     # how often a running configuration's row is updated (a call is ~0.15 s)


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
    version as it finishes.  With only a job number: resume that stopped
    job."""
    started = time.perf_counter()
    _check_installed()
    if values.get("job") is not None:
        return _resume(values, started)
    job = _prepare(values)
    job.number = int(apart.call("job", {"row": dict(job.row, xact=_xact())}))
    return _execute(job, {}, started)


@dataclasses.dataclass
class _Job:
    """A checked selection job, ready to run."""

    row: dict                   # its pgdl.selection_jobs row
    configs: list
    brackets: list
    plans: dict                 # config -> training plan
    metric: str
    higher: bool
    number: int = None


def _prepare(values):
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
    _check_lock(owner, name)
    first = plans[0]
    row = {"owner": owner, "model": name, "search": search_name,
           "source": first.packed["output"],
           "validation_source": first.validation["output"] if first.validation else None,
           "iterations": max(r for _, rounds in brackets for _, r in rounds),
           "segments": segments, "schedule": _schedule(brackets[0][1][0][0], segments),
           "method": method, "samples": values.get("samples"),
           "hyperband_r": values.get("hyperband_r"), "eta": values.get("eta"),
           "skip_last": values.get("skip_last"), "metric": metric, "higher_is_better": higher,
           "seed": values.get("seed"), "status": "running", "configs": len(plans)}
    return _Job(row, configs, brackets, dict(zip((c["config"] for c in configs), plans)),
                metric, higher)


def _execute(job, resumed, started):
    first = job.plans[job.configs[0]["config"]]
    search = _Search(job, job.row["segments"], first.validation is not None, resumed)
    offset = 0
    for bracket, rounds in job.brackets:
        count = rounds[0][0]
        search.bracket(bracket, [c["config"] for c in job.configs[offset:offset + count]],
                       rounds)
        offset += count

    best = None
    for config, (version, value) in search.stored.items():
        if value is not None and (best is None or (value > best[1] if job.higher else
                                                   value < best[1])):
            best = (version, value)
    return _finish_job(job.number, {"status": "finished", "best_version": best and best[0],
                                    "best_value": best and best[1],
                                    "seconds": time.perf_counter() - started})


def _check_installed():
    with privileged():
        ok = catalog.execute("SELECT pg_catalog.to_regprocedure("
                             "'pgdl_internal._in_apart(text, bytea)') IS NOT NULL AS ok")[0]["ok"]
    if not ok:
        raise _error("model selection needs pgdl 0.6.0 in this database",
                     hint="ALTER EXTENSION pgdl UPDATE.", sqlstate="55000")


def _xact():
    return catalog.execute("SELECT pg_catalog.txid_current() AS x")[0]["x"]


def _check_lock(owner, name):
    """A job stores its versions apart from its transaction: one that already
    stored a version of the model would wait for itself."""
    if catalog.execute(
            "SELECT 1 FROM pg_catalog.pg_locks WHERE pid = pg_catalog.pg_backend_pid() "
            "AND locktype = 'advisory' AND objsubid = 2 "
            "AND classid::int8 = (pg_catalog.hashtext($1)::int8 & 4294967295) "
            "AND objid::int8 = (pg_catalog.hashtext($2)::int8 & 4294967295)",
            ["text", "text"], [owner, name]):
        raise _error('this transaction stored a version of model "%s"; a selection job '
                     'stores its versions apart from its transaction' % name,
                     hint="Commit first, then run the selection job.", sqlstate="55006")


def _resume(values, started):
    """Goes on with stopped job values["job"]: the runs it finished are kept,
    the others train."""
    number = values["job"]
    given = sorted(k for k, v in values.items() if v is not None and k != "job")
    if given:
        raise _error("to resume job %d, give only its job number, not %s"
                     % (number, ", ".join(given)),
                     hint="INSERT INTO pgdl.model_selection (job) VALUES (%d)" % number)
    rows = catalog.execute("SELECT *, pgdl.job_status(status, xact) AS now FROM "
                           "pgdl.selection_jobs WHERE job = $1", ["int8"], [number])
    if not rows:
        raise _error("selection job %d does not exist" % number, sqlstate="42704")
    stopped = dict(rows[0])
    if stopped["now"] != "stopped":
        raise _error("selection job %d is %s, not stopped" % (number, stopped["now"]),
                     hint="Only a job that was cancelled or failed resumes.",
                     sqlstate="55000")
    again = {key: stopped[key] for key in ("model", "search", "source", "validation_source",
                                          "segments", "method", "samples", "hyperband_r",
                                          "eta", "skip_last", "metric", "seed")}
    if stopped["method"] != "hyperband":
        again["iterations"] = stopped["iterations"]
    job = _prepare(again)
    if not apart.call("resume", {"job": number, "xact": _xact()}):
        raise _error("selection job %d is no longer stopped" % number, sqlstate="55000")
    job.number = number
    server.report(server.NOTICE, "resuming selection job %d" % number)
    return _execute(job, _finished_runs(number), started)


@dataclasses.dataclass
class _Run:
    """A configuration's run in one round: its history (iterations counted
    from the bracket's start), its state (tensor -> bytes) and value, and
    its version if it stopped there."""

    history: list
    state: dict
    value: float
    version: int = None


def _finished_runs(job):
    """{(bracket, round, config): _Run} of the runs a stopped job finished."""
    runs = {}
    with privileged():
        states = {(r["bracket"], r["round"], r["config"]): r for r in catalog.execute(
            "SELECT bracket, round, config, history::text AS history, state "
            "FROM pgdl_internal.selection_states WHERE job = $1", ["int8"], [job])}
    for r in catalog.execute("SELECT bracket, round, config, value, version "
                             "FROM pgdl.selection_runs WHERE job = $1 AND status = 'finished'",
                             ["int8"], [job]):
        key = (r["bracket"], r["round"], r["config"])
        kept = states.get(key)
        if r["version"] is None and kept is None:
            continue
        _, parts = apart.decode(kept["state"]) if kept else (None, [])
        runs[key] = _Run(json.loads(kept["history"]) if kept else [], dict(enumerate(parts)),
                         r["value"], r["version"])
    return runs


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
    """Runs the rounds of a selection job; each configuration is stored as a
    version when it stops (eliminated, or done), with its whole history."""

    def __init__(self, job, segments, validation, resumed):
        self.job, self.segments, self.validation = job, segments, validation
        self.history = {}           # config -> history rows of its earlier rounds
        self.stored = {}            # config -> (version, value)
        self.resumed = resumed      # (bracket, round, config) -> _Run finished before
        self.started = time.perf_counter()

    def bracket(self, bracket, live, rounds):
        states, done, values = {}, 0, {}
        for number, (count, total) in enumerate(rounds):
            live = self._survivors(live, values, count)
            last = number == len(rounds) - 1
            step = _Round(self, bracket, number, done, total, last)
            runs = step.run(live, states)
            states = {c: run.state for c, run in runs.items()}
            values = {c: run.value for c, run in runs.items()}
            going = set() if last else set(self._survivors(live, values, rounds[number + 1][0]))
            for config in live:
                if config not in self.stored and config not in going:
                    self.store(step, config, states[config], values[config],
                               runs[config].history)
                self.history.setdefault(config, []).extend(runs[config].history)
            if going:       # those that stopped said so as they were stored
                apart.call("runs", {"rows": [dict(step.key(c), survived=True) for c in going]})
            done = total

    def _survivors(self, live, values, count):
        """The best `count` of live by their values (none yet: the first)."""
        if not values:
            return live[:count]

        def rank(config):
            value = values[config]
            return (value is None, 0 if value is None else -value if self.job.higher else value)
        return sorted(live, key=rank)[:count]

    def _average(self, plan, state):
        if state is not None:
            plan = dataclasses.replace(plan, start=[
                np.frombuffer(state[t], "<f4").reshape(shape)
                for t, shape in enumerate(plan.description.tensors)])
        return training._train_here(-self.job.number, plan.spec(), plan.start, plan.packed,
                                    plan.validation, plan.segments, plan.description)

    def store(self, step, config, state, value, history):
        """Stores config as a version, committed apart from the job: its
        history is that of its earlier rounds and `history` (this round's)."""
        plan = dataclasses.replace(self.job.plans[config], method=step.schedule,
                                   iterations=step.total)
        rows = self.history.get(config, []) + list(history) + [
            {"segment": 0, "tensor": tensor, "data": data, "iteration": None}
            for tensor, data in state.items()]
        trained = training.trained_version(
            plan, rows, time.perf_counter() - self.started,
            {"origin": "selection", "search": self.job.row["search"], "config": config,
             "selection_job": self.job.number})
        version = int(apart.call(
            "version", {"row": trained.row, "names": trained.weight_names,
                        "shapes": [list(np.shape(w)) for w in trained.weights],
                        "history": trained.history,
                        "run": dict(step.key(config), status="finished", value=value,
                                    survived=False)},
            [trained.onnx] + [np.ascontiguousarray(w, "<f4").tobytes()
                              for w in trained.weights]))
        self.stored[config] = (version, value)
        return version


class _Round:
    """One round of a bracket: the configurations that finished it before
    (a resumed job) are kept, the others train, each reported as it goes.
    Segment 0 of a model hopper scan calls progress and finished (hooks)."""

    def __init__(self, search, bracket, number, done, total, last):
        self.search, self.bracket, self.number = search, bracket, number
        self.done, self.total, self.last = done, total, last
        self.schedule = None
        self.finished_rows = {}     # config -> the rows finished() had
        self.values = {}
        self.reported = 0.0

    def key(self, config):
        return {"job": self.search.job.number, "bracket": self.bracket, "round": self.number,
                "config": config}

    def run_row(self, config, **values):
        return dict(self.key(config), schedule=self.schedule, owner=self.search.job.row["owner"],
                    iterations=self.total - self.done, total_iterations=self.total, **values)

    def run(self, live, states):
        """{config: _Run} of every live configuration."""
        search = self.search
        runs = {c: search.resumed[(self.bracket, self.number, c)] for c in live
                if (self.bracket, self.number, c) in search.resumed}
        for config, run in runs.items():
            if run.version is not None:
                search.stored[config] = (run.version, run.value)
        todo = [c for c in live if c not in runs]
        self.schedule = _schedule(len(todo) or len(live), search.segments)
        server.report(server.NOTICE, "bracket %d, round %d: %d configurations, %d iterations "
                      "each%s" % (self.bracket, self.number, len(live), self.total - self.done,
                                  " (%d finished before)" % len(runs) if runs else ""))
        if not todo:
            return runs
        apart.call("runs", {"rows": [self.run_row(c, status="queued") for c in todo]})
        chosen = {c: dataclasses.replace(search.job.plans[c], iterations=self.total - self.done)
                  for c in todo}
        if self.schedule == "hopper":
            rows = _hop(search.job.number, chosen, states, self)
        else:
            rows = {}
            for config, plan in chosen.items():
                apart.call("runs", {"rows": [self.run_row(config, status="running")]})
                rows[config] = [dict(r) for r in search._average(plan, states.get(config))]
                self.finished(config, rows[config])
        for config, config_rows in rows.items():
            history = self._history(config_rows)
            if config in search.stored and len(self.finished_rows[config]) < len(config_rows):
                # stored from segment 0's rows as it finished: the other segments' too
                registry.add_history(search.job.row["owner"], search.job.row["model"],
                                     search.stored[config][0],
                                     [h for h in history if h["segment"] not in (None, 0)])
            runs[config] = _Run(history, _state(config_rows), self.values[config])
        return runs

    def _history(self, rows):
        return [dict(r, iteration=r["iteration"] + self.done, tensor=None, data=None)
                for r in rows if r.get("tensor") is None]

    def progress(self, config, iteration, merged):
        now = time.monotonic()
        if now - self.reported < PROGRESS_SECONDS:
            return
        self.reported = now
        apart.call("runs", {"rows": [self.run_row(config, status="running",
                                                  iteration=iteration, loss=merged["loss"])]})

    def finished(self, config, rows):
        """config finished this round (rows: its history, then its state):
        kept at once, as a version if it stops here, else its state."""
        search = self.search
        self.finished_rows[config] = rows
        history = self._history(rows)
        merged = [h for h in history if h["segment"] is None]
        value = _value(merged[-1] if merged else None, search.job.metric, search.validation)
        self.values[config] = value
        state = _state(rows)
        shown = "-" if value is None else "%.4f" % value
        if self.last:
            version = search.store(self, config, state, value, history)
            server.report(server.NOTICE, "configuration %d finished: %s %s, version %d"
                          % (config, search.job.metric, shown, version))
            return
        run = self.run_row(config, status="finished", value=value,
                           iteration=self.total - self.done,
                           loss=merged[-1]["loss"] if merged else None)
        apart.call("state", {"run": run, "history": history},
                   [apart.encode({}, [state[t] for t in range(len(state))])])
        server.report(server.NOTICE, "configuration %d finished round %d: %s %s"
                      % (config, self.number, search.job.metric, shown))


def _state(rows):
    return {r["tensor"]: r["data"] for r in rows if r.get("tensor") is not None}


def _value(last, metric, validation):
    loss, metrics = ("validation_loss", "validation_metrics") if validation else \
        ("loss", "metrics")
    if not last:
        return None
    if metric == "loss":
        value = last.get(loss)
    else:
        value = json.loads(last[metrics]).get(metric) if last.get(metrics) else None
    return None if value is None else float(value)


def _hop(job, plans, states, hooks):
    """The configurations of plans ({config: plan}) trained by model hopper
    in one lockstep scan, each going on from its state where it has one:
    {config: its rows}.  hooks: told by segment 0 as they go (_Round)."""
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
        first.packed["qualified"], first.validation["qualified"] if first.validation else None,
        hooks=hooks), columns="config, segment")
    by_config = {config: [] for config in plans}
    for row in rows:
        by_config[row["config"]].append(dict(row))
    return by_config


def _finish_job(job, values):
    """Marks the job finished, in its own transaction (a job that does not
    commit stays stopped), and drops the states it kept to resume."""
    with privileged():
        catalog.execute("DELETE FROM pgdl_internal.selection_states WHERE job = $1", ["int8"],
                        [job])
        return dict(catalog.execute(
            "UPDATE pgdl.selection_jobs SET status = $2, best_version = $3, best_value = $4, "
            "seconds = $5, finished = now() WHERE job = $1 RETURNING *",
            ["int8", "text", "int4", "float8", "float8"],
            [job, values["status"], values["best_version"], values["best_value"],
             values["seconds"]])[0])
