"""kind 'predictions': scoring source rows with a model, as a foreign table.

Two forms:

* per model: OPTIONS (kind 'predictions', model 'm', source 't', key 'id')
  (version: default latest).  Its columns: the key, `class` (the class value,
  typed like the training labels), `probability`, `probabilities` (every
  class, in class order), `top_classes` and `top_probabilities` (top_k, 3
  by default), `value` (regression), `version`, and any other column is
  passed through from the source row of the same name.
  pgdl.create_predictions_table makes one with the right types.
* generic (no model option): pgdl.predictions, where WHERE model = '...'
  AND source = '...' pick them; its key is text.

At plan time, in the leader, the wrapper checks model, source and columns
and works out the SQL of the source rows (the plan state).  Each segment
then reads, as its source rows, the model version's metadata and (unless
this process already has a session for it) its ONNX bytes, followed by its
share of the source rows: a block range of the table, or a hash of the key
for views.  Quals on the key and pass-through columns become the source
query's WHERE.  Batches start small and double, so a LIMIT stops early.

A lookup (`key = value`, as a nested loop's parameterized scan asks one per
outer row) on an integer key with a unique btree index reads a window of the
source in key order: when the keys come in order, as from an index scan,
each window doubles and later lookups find their row already scored, so a
join reads the source once per window of keys instead of once per key.
Windows hold for one statement only.
"""

import json
from collections import OrderedDict

import numpy as np

from pgdl import batches, names, server
from pgdl.data.source import Source, feature_columns, feature_expression
from pgdl.distributed import scoring as distributed_scoring
from pgdl.distributed.layout import distribution, distribution_column, shards as shards_of
from pgdl.engine import catalog, scored, scoring
from pgdl.errors import PgdlError, invalid_option
from pgdl.foreign import deparse
from pgdl.foreign.base import Parameter, PgdlWrapper, positive_int
from pgdl.foreign.buffers import required_table
from pgdl.multicorn.extensions import Segment
from pgdl.sql import ident, literal

PREDICTED = ("class", "probability", "probabilities", "top_classes", "top_probabilities",
             "value", "version")
GENERIC = ("model", "source", "key") + PREDICTED
# a model per group (0.6.0), read so that a database not yet updated works too
GROUP_COLUMNS = (", features, to_jsonb(models) ->> 'group_by' AS group_by, "
                 "(to_jsonb(models) ->> 'group_job')::int8 AS group_job")
FIRST_BATCH = 64
DEFAULT_BATCH = 4096
LARGEST_WINDOW = 1024
INTEGER_TYPES = {"smallint", "integer", "bigint"}

# The session key of each running segment scan, by (model choice, segment):
# its first batch brings the model row, its later batches find the session
# by this key in the bounded cache of pgdl.engine.scoring.  Keys only, so no
# wrapper instance keeps a session alive.
_running = OrderedDict()
RUNNING = 256


def on_error(name, text):
    if text not in ("error", "null"):
        raise invalid_option('invalid value for option "%s": "%s"' % (name, text),
                             hint="Use error (the default) or null.")
    return text


class Predictions(PgdlWrapper):
    OPTIONS = dict(PgdlWrapper.OPTIONS, model=lambda name, text: text,
                   owner=lambda name, text: text, version=positive_int,
                   source=required_table, key=lambda name, text: text,
                   features=lambda name, text: text, on_error=on_error,
                   batch_size=positive_int, top_k=positive_int)

    @classmethod
    def validate_options(cls, options):
        parsed = super().validate_options(options)
        if ("model" in parsed) != ("source" in parsed):
            raise invalid_option('a predictions table needs both options "model" and "source", '
                                 'or neither (then WHERE model = ... AND source = ... pick them)')
        for option in ("version", "owner"):
            if "model" not in parsed and option in parsed:
                raise invalid_option('option "%s" needs option "model"' % option)
        return parsed

    def __init__(self, fdw_options, fdw_columns):
        super().__init__(fdw_options, fdw_columns)
        self.generic = "model" not in self.options
        self._plans = {}
        self._windows = OrderedDict()   # lookups' windows, by what they read
        self._pending = None            # the lookup whose rows a scan brings
        self._answers = (None, None)    # what the Citus workers answered this statement

    # -- planning (in the leader, where SQL runs) ------------------------------

    def _choice(self, quals):
        """(owner, model, source, version) from the options, or from the quals
        (generic; owner None: the model the querying role means by its name)."""
        if not self.generic:
            return (self.options.get("owner"), self.options["model"], self.options["source"],
                    self.options.get("version"))
        found = {}
        for qual in quals:
            if qual.field_name in ("model", "source", "version") and qual.operator == "=" \
                    and qual.value is not None:
                found[qual.field_name] = qual.value
        if "model" not in found or "source" not in found:
            raise PgdlError("pgdl.predictions needs WHERE model = '...' AND source = '...'",
                            hint="Give both, as constants or parameters; or create a "
                                 "predictions table of your own with "
                                 "pgdl.create_predictions_table.",
                            sqlstate="22023")
        return None, found["model"], found["source"], found.get("version")

    @staticmethod
    def _deferred(choice):
        """A generic plan's choice names its model, source or version by a
        parameter: the plan is worked out at executor start."""
        return any(isinstance(value, Parameter) for value in choice)

    def is_parallel_safe(self, quals, columns):
        # a deferred plan runs SQL when the scan starts: only the leader can;
        # Citus runs no distributed query from a parallel worker
        plan = self._plan(quals)
        return "deferred" not in plan and plan["relkind"] != "distributed"

    def _plan(self, quals):
        """The plan state: the model, its source and the SQL that reads it,
        worked out as the querying role (what a role sees and means by a
        name is its own, so each role plans for itself).  Kept for a table's
        pinned source; for the generic table's source, named in the query,
        within one statement only."""
        plpy = server.plpy
        choice = self._choice(quals)
        if self._deferred(choice):
            return {"deferred": [repr(value) for value in choice]}
        now = plpy.execute("SELECT current_user AS role, statement_timestamp()::text AS at")[0]
        cache_key = (choice, now["role"], now["at"] if self.generic else None)
        plan = self._plans.get(cache_key)
        if plan is not None:
            return plan
        owner, model_name, source_name, version = choice
        row = catalog.model_row(model_name, version, extra=GROUP_COLUMNS, owner=owner)
        table = Source(source_name, None if self.generic else self.options.get("key"))
        key = table.key
        if key is None:
            raise PgdlError("table %s has no primary key to name its rows by" % table.name,
                            hint="Give the key column: option key.", sqlstate="42P10")
        listed = self.options.get("features")
        columns = [n.strip() for n in listed.split(",")] if listed else row["features"]
        if not columns:
            raise PgdlError('model "%s" does not say which columns hold its features'
                            % model_name, hint="Give them: option features.", sqlstate="22023")
        expression, kind, shape = feature_expression(table, columns, None)
        size = int(np.prod(row["feature_shape"]))
        if shape is not None and int(np.prod(shape)) != size:
            raise PgdlError("the features of table %s (%s) hold %d values; model \"%s\" takes "
                            "shape %s" % (table.name, ", ".join(columns), int(np.prod(shape)),
                                          model_name, list(row["feature_shape"])),
                            sqlstate="22023")
        passed = {}
        if not self.generic:
            for name in self.columns:
                if name in PREDICTED or name == key:
                    continue
                column = table.column(name, "pass-through column")
                passed[name] = column["type"]
        relkind = plpy.execute(
            "SELECT relkind, reltuples, EXISTS (SELECT 1 FROM pg_index i "
            "JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am a ON a.oid = x.relam "
            "JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = i.indkey[0] "
            "WHERE i.indrelid = c.oid AND a.amname = 'btree' AND i.indisunique "
            "AND i.indnkeyatts = 1 AND k.attname = %s) AS indexed "
            "FROM pg_class c WHERE c.oid = %d" % (literal(key), table.oid))[0]
        method = distribution(table.oid) if relkind["relkind"] == "r" else None
        if method is not None:
            # Citus keeps a distributed table's rows in shards on the workers:
            # one segment of the coordinator asks the workers to score the
            # shards of a table distributed by hash, and reads the rows of
            # any other (a reference table) through Citus
            relkind = dict(relkind, relkind="distributed")
        types = {name: column["type"] for name, column in table.columns.items()}
        plan = {"owner": row["owner"], "model": model_name, "version": version,
                "planned_version": row["version"], "source": table.qualified,
                "source_oid": table.oid, "source_name": table.name, "relkind": relkind["relkind"],
                "rows": max(float(relkind["reltuples"]), 1000.0), "key": key,
                "key_type": types[key], "features": expression, "kind": kind,
                "feature_columns": feature_columns(table, columns),
                "feature_names": columns, "passed": passed, "task": row["task"],
                "ordered_key": bool(relkind["indexed"]) and types[key] in INTEGER_TYPES,
                "on_workers": method == "h" and distributed_scoring.scored_on_workers(table.oid),
                "distribution_column": distribution_column(table.oid) if method == "h" else None}
        if row["group_job"] is not None:
            plan["group"] = _groups(row, table, plan)
        if len(self._plans) > 32:
            self._plans.clear()
        self._plans[cache_key] = plan
        return plan

    def plan_state(self, quals, columns):
        return self._plan(quals)

    def _resolved(self, quals, plan):
        """The plan of a scan: planned, or worked out now from the values of
        the parameters it was planned with."""
        if plan is None or "deferred" in plan:
            return self._plan(quals)
        return plan

    def _key_column(self, plan):
        return "key" if self.generic else plan["key"]

    def _pushed(self, quals, plan):
        """The quals that become the source query's WHERE, as SQL."""
        return deparse.conditions(quals, plan, self._key_column(plan), self.generic)

    def _keyed(self, quals, plan):
        """True when the quals pick rows by key (=, IN): one segment will do."""
        key_column = self._key_column(plan)
        return any(q.field_name == key_column and q.value is not None and
                   (q.operator == "=" or q.operator == ("=", True)) for q in quals)

    def get_rel_size(self, quals, columns):
        plan = self._plan(quals)
        if "deferred" in plan:
            keyed = any(q.field_name == "key" and q.value is not None for q in quals)
            return (10.0 if keyed else 1000.0), 64
        if self._keyed(quals, plan):
            return max(_keys_picked(q) for q in quals
                       if q.field_name == self._key_column(plan) and q.value is not None), 64
        return plan["rows"], 64

    # A parallel participant starts Python, reads the model and builds its
    # ONNX session before its first row (about as long as scoring some
    # 50,000 rows of a small model); the leader keeps its session between
    # queries.  In the planner's units (fdw/plan.c: 0.25 per row), at the
    # default parallel_setup_cost, with which it scales.
    participant_cost = 12500.0

    def get_path_keys(self):
        """A join on the key looks rows up: one source row per key."""
        if self.generic:
            return [(("key",), 1)]
        return [((self.options.get("key") or self._plan([])["key"],), 1)]

    def get_segments(self, quals, columns):
        plan = self._plan(quals)
        if "deferred" in plan or plan["relkind"] == "distributed" or self._keyed(quals, plan):
            return 1
        return self.options.get("segments", 1)

    # -- the rows a segment reads ----------------------------------------------

    def _data_query(self, quals, plan, segment, window=None):
        return deparse.data_query(self._pushed(quals, plan), plan, segment, window)

    # -- lookups ---------------------------------------------------------------

    def _lookup(self, quals, plan, segment):
        """The key a scan looks up (its one qual on the key is key = integer),
        and the quals besides it; None when it is no lookup a window serves."""
        if self.generic or not plan.get("ordered_key") or segment.count > 1 or \
                plan.get("on_workers") or plan.get("group"):
            return None
        on_key = [q for q in quals if q.field_name == plan["key"]]
        if len(on_key) != 1 or on_key[0].operator != "=" or \
                type(on_key[0].value) is not int:
            return None
        return on_key[0].value, [q for q in quals if q is not on_key[0]]

    def _window(self, plan, others, columns):
        marker = server.statement()
        if marker is None:
            return None
        context = (self._choice_of(plan), tuple(sorted(columns)),
                   tuple(self._pushed(others, plan)))
        window = self._windows.get(context)
        if window is None or window.marker != marker:
            window = self._windows[context] = _Window(marker)
            while len(self._windows) > 8:
                self._windows.popitem(last=False)
        return window


    @staticmethod
    def _model_query(plan, segment, onnx=True):
        cached = scoring.cached_versions(plan["owner"], plan["model"],
                                         scoring.default_threads(segment.count))
        return deparse.model_query(plan, cached, onnx)

    def source(self, quals, columns, segment, plan_state=None):
        plan = self._resolved(quals, plan_state)
        batch = self.options.get("batch_size", DEFAULT_BATCH)
        self._pending = None
        lookup = self._lookup(quals, plan, segment)
        window = lookup and self._window(plan, lookup[1], columns)
        if window is not None and window.look_up(lookup[0]):
            # scored earlier in this statement, the model's rows read then:
            # one row that says so
            self._pending = (window, lookup[0], 0)
            return "SELECT 2::int4 AS part" + ", NULL::text" * (
                4 + deparse.feature_count(plan) + len(plan["passed"])), 1, 1
        # a new scan of this segment: its first batch must bring the model row
        _running.pop((self._choice_of(plan), segment.index), None)
        if plan.get("on_workers"):      # the model row alone; the workers read the source
            return self._model_query(plan, segment, onnx=False), batch, batch
        if window is not None:
            key, others = lookup
            size = window.next_size(key)
            self._pending = (window, key, size)
            sql = "(%s) UNION ALL (%s)" % (self._model_query(plan, segment),
                                           self._data_query(others, plan, segment,
                                                            window=(key, size)))
            return sql, size + FIRST_BATCH, size + FIRST_BATCH
        sql = "(%s) UNION ALL (%s)" % (self._model_query(plan, segment),
                                       self._data_query(quals, plan, segment))
        return sql, batch, min(FIRST_BATCH, batch)

    # -- scoring ---------------------------------------------------------------

    @staticmethod
    def _choice_of(plan):
        return plan["owner"], plan["model"], plan["version"], plan["source"]

    def _scorer(self, rows, first, plan, segment):
        """The scorer for this scan: built (or found) from the model rows
        (those before `first`) of a segment's first batch, remembered for its
        later batches.  No model row in a first batch: the querying role may
        not see the model (or it is gone)."""
        current = (self._choice_of(plan), segment.index)
        models = range(first)
        if not models:
            key = _running.get(current)
            if key is None:
                raise catalog.does_not_exist(plan["model"])
            if isinstance(key, dict):       # a model per group's scorers
                return key
            scorer = scoring.cached(key)
            if scorer is None:
                raise PgdlError('the ONNX session of model "%s" left the cache during the scan'
                                % plan["model"],
                                hint="Score fewer models in one query.", sqlstate="53000")
            return scorer
        if plan.get("group"):
            return self._group_scorers(rows, models, plan, segment, current)
        model = scoring.Model.from_row(json.loads(rows["meta"][models[0]]))
        threads = scoring.default_threads(segment.count)
        key = model.key + (threads,)
        scorer = scoring.cached(key)
        if scorer is None:
            chunks = [bytes(rows["onnx"][i]) for i in models if rows["onnx"][i] is not None]
            if not chunks:
                raise PgdlError('model "%s" version %d has no ONNX export'
                                % (model.model, model.version), sqlstate="42704")
            scorer = scoring.remember(key, scoring.Scorer(model, b"".join(chunks), threads,
                                                          segment.index))
        _running[current] = key
        _running.move_to_end(current)
        while len(_running) > RUNNING:
            _running.popitem(last=False)
        return scorer

    def _group_scorers(self, rows, models, plan, segment, current):
        """A model per group: {group value: scorer} of the versions whose
        rows (meta, then ONNX chunks unless this process has their session)
        this batch brought."""
        threads = scoring.default_threads(segment.count)
        chunks, metas = {}, {}
        for i in models:
            meta = json.loads(rows["meta"][i])
            metas[meta["version"]] = meta
            if rows["onnx"][i] is not None:
                chunks.setdefault(meta["version"], []).append(bytes(rows["onnx"][i]))
        keys = {}
        for version, meta in metas.items():
            model = scoring.Model.from_row(meta)
            key = model.key + (threads,)
            if scoring.cached(key) is None:
                if version not in chunks:
                    raise PgdlError('model "%s" version %d has no ONNX export'
                                    % (model.model, version), sqlstate="42704")
                scoring.remember(key, scoring.Scorer(model, b"".join(chunks[version]), threads,
                                                     segment.index))
            keys[version] = key
        scorers = {}
        for group, version in plan["group"]["versions"].items():
            scorer = scoring.cached(keys[version]) if version in keys else None
            if scorer is None:
                raise PgdlError('the ONNX sessions of model "%s" left the cache during the scan'
                                % plan["model"], hint="Score fewer models in one query.",
                                sqlstate="53000")
            scorers[group] = scorer
        _running[current] = scorers
        _running.move_to_end(current)
        while len(_running) > RUNNING:
            _running.popitem(last=False)
        return scorers

    def execute_columns(self, quals, columns, sortkeys=None, limit=None, offset=None,
                        segment=None, rows=None, plan_state=None):
        """Scores one batch of source rows; yields it as (rows, {column:
        values}) (numpy arrays for numbers), for the columns the query reads."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending[2]:        # a lookup the window holds
            found, values = pending[0].select(pending[1])
            if found:
                yield found, values
            return
        parts = np.asarray(rows["part"])
        data = np.flatnonzero(parts == 1)
        first = int(data[0]) if len(data) else len(parts)     # model rows come first
        plan = self._resolved(quals, plan_state)
        if plan.get("on_workers"):
            yield from self._score_on_workers(rows, first, plan, quals, set(columns))
            return
        scorer = self._scorer(rows, first, plan, segment)
        if pending is not None:             # a lookup that read a new window
            window, key, size = pending
            if first < len(parts):
                scored = self._score(scorer, rows, first, plan, quals, set(columns))
                window.fill(key, size, rows["key"][first:], *scored.columns())
            else:                           # no source row from key on
                window.fill(key, size, [], 0, {})
            found, values = window.select(key)
            if found:
                yield found, values
        elif first < len(parts):
            yield self._score(scorer, rows, first, plan, quals, set(columns)).columns()

    def _score_on_workers(self, rows, first, plan, quals, wanted):
        """Batches of the source's predictions, scored by the Citus workers
        that hold its shards (pgdl.distributed.scoring)."""
        if first == 0:
            raise catalog.does_not_exist(plan["model"])
        meta = json.loads(rows["meta"][0])
        conditions = self._pushed(quals, plan)
        routing = [] if self.generic else self._pushed(
            [q for q in quals if q.field_name == plan["distribution_column"]], plan)
        answers = distributed_scoring.Answers()
        self._answers = (server.statement(), answers)       # for EXPLAIN ANALYZE
        yield from distributed_scoring.predictions(plan, meta, wanted, conditions, routing,
                                                   self._batch_options(quals), answers)

    def _score(self, scorer, rows, first, plan, quals, wanted):
        """The batch's source rows (from `first` on), scored."""
        passed = {name: rows["pass_%d" % index][first:]
                  for index, name in enumerate(plan["passed"])}
        if plan.get("feature_columns"):
            features = scored.FeatureColumns([rows["feature_%d" % i][first:] for i in
                                              range(len(plan["feature_columns"]))])
        else:
            features = rows["features"][first:]
        if plan.get("group"):
            return scored.score_groups(scorer, rows["group_value"][first:], rows["key"][first:],
                                       features, passed, plan, wanted,
                                       self._batch_options(quals))
        return scored.score(scorer, rows["key"][first:], features, passed, plan,
                            wanted, self._batch_options(quals))

    def _batch_options(self, quals):
        return {"on_error": self.options.get("on_error", "error"),
                "top_k": self.options.get("top_k", 3),
                "generic": {"source": self._source_qual(quals)} if self.generic else None}

    @staticmethod
    def _source_qual(quals):
        for qual in quals:
            if qual.field_name == "source" and qual.operator == "=":
                return qual.value
        return None

    def explain(self, quals, columns, sortkeys=None, verbose=False, plan_state=None,
                participants=1):
        plan = plan_state or self._plan(quals)
        if "deferred" in plan:
            model, source, version = plan["deferred"][1:]
            lines = ["Model: %s, %s (resolved when the scan starts)"
                     % (model, "latest version" if version == "None" else "version " + version),
                     "Source: %s" % source]
            if verbose:
                pushed = self._pushed(quals, {"key": "key", "key_type": "text", "passed": {}})
                lines.append("Pushed Down: %s" % (" AND ".join(pushed) if pushed else "(none)"))
            return lines
        version = ("version %d" % plan["version"] if plan["version"] is not None
                   else "latest version (%d when planned)" % plan["planned_version"])
        lines = ["Model: %s, %s" % (plan["model"], version),
                 "Source: %s" % plan["source_name"]]
        if plan.get("group"):
            versions = plan["group"]["versions"]
            lines.append("Model Per Group: %s (%d groups, versions %d to %d)"
                         % (plan["group"]["column"], len(versions), min(versions.values()),
                            max(versions.values())))
        if plan.get("on_workers"):
            lines += self._worker_tasks(quals, plan)
            if verbose:
                pushed = self._pushed(quals, plan)
                lines.append("Pushed Down: %s" % (" AND ".join(pushed) if pushed else "(none)"))
            return lines
        planned = plan["version"] or plan["planned_version"]
        scorer = scoring.cached_scorer(plan["owner"], plan["model"], planned,
                                       scoring.default_threads(participants))
        if scorer is not None:      # the providers that run, as ONNX Runtime says
            lines.append("Execution Provider: %s" % ", ".join(scorer.providers))
            session = "reused, version %d" % planned
        else:
            lines.append("Execution Provider: %s (asked for; the session says at the first "
                         "batch)" % ", ".join(scoring.provider_names()))
            session = "built for version %d at the first batch" % planned
        if participants > 1:        # a worker is a new process: it builds its own
            session = "%s in the leader; built by each of %d workers" % (session,
                                                                        participants - 1)
        lines.append("ONNX Session: " + session)
        if verbose:
            pushed = self._pushed(quals, plan)
            lines.append("Pushed Down: %s" % (" AND ".join(pushed) if pushed else "(none)"))
            lines.append("Source Query: %s" % self._data_query(quals, plan, Segment(0, 1)))
        return lines


    def _worker_tasks(self, quals, plan):
        """EXPLAIN's lines on the tasks that score a distributed source."""
        column = None if self.generic else plan["distribution_column"]
        values = None
        for qual in quals:
            if qual.field_name != column or qual.value is None or \
                    isinstance(qual.value, Parameter):
                continue
            if qual.operator == "=":
                values = [qual.value]
            elif qual.operator == ("=", True) and isinstance(qual.value, list):
                values = [v for v in qual.value if v is not None]
        if values is not None:
            shards = distributed_scoring.routed(plan["source_oid"], values)
            routed = "%s = %s" % (column, values[0] if len(values) == 1 else
                                  "ANY (%d values)" % len(values))
        else:
            shards = shards_of(plan["source_oid"])
            routed = None
        nodes = OrderedDict()
        for shard, node in sorted(shards, key=lambda found: found[1]):
            nodes.setdefault(node, []).append(shard)
        if routed is not None and len(shards) <= 4:
            where = "; ".join("shard%s %s on %s" % ("s" if len(found) > 1 else "",
                                                   ", ".join(map(str, found)), node)
                              for node, found in nodes.items())
            tasks = "%s, routed by %s" % (where or "no shard", routed)
        else:
            tasks = "%d shards on %d workers (%s)%s" % (
                len(shards), len(nodes),
                ", ".join("%s: %d" % (node, len(found)) for node, found in nodes.items()),
                ", routed by %s" % routed if routed else "")
        lines = ["Scored On: Citus workers, each scoring the shards it holds; one shard per "
                 "worker at a time",
                 "Worker Tasks: %s" % tasks,
                 "ONNX Session: each worker's backend keeps its own between queries"]
        marker, answers = self._answers
        if answers is not None and marker is not None and marker == server.statement():
            lines.append("Worker Answers: %s" % answers)     # EXPLAIN ANALYZE ran the scan
        return lines


def _groups(row, table, plan):
    """A model per group: the source column of its groups and {group value:
    version} of the versions its job trained."""
    column = row["group_by"]
    if column not in table.columns:
        raise PgdlError('model "%s" is a model per group of column "%s"; table %s has no '
                        'such column' % (plan["model"], column, table.name),
                        hint="Score a table (or view) with the column the model was "
                             "grouped by.", sqlstate="42703")
    if plan["relkind"] == "distributed":
        raise PgdlError("a model per group scores no table distributed by Citus yet",
                        sqlstate="0A000")
    versions = catalog.execute(
        "SELECT group_value, version FROM pgdl.models WHERE owner = $1 AND model = $2 "
        "AND group_job = $3", ["name", "text", "int8"],
        [row["owner"], plan["model"], int(row["group_job"])])
    return {"column": column, "versions": {r["group_value"]: r["version"] for r in versions}}


def _keys_picked(qual):
    """How many rows a qual on the key picks at most (an array parameter: a guess)."""
    if isinstance(qual.value, list):
        return len(qual.value)
    if isinstance(qual.value, Parameter) and qual.is_list_operator:
        return 10
    return 1


def create_table(name, model, source, key=None, version=None, pass_through=None, segments=None,
                 features=None, on_error_option=None, top_k=None, batch_size=None, view=None):
    """pgdl.create_predictions_table: a predictions table with columns typed
    for the model, pinned to the model's owner and to the source table; with
    `view`, a view over it too (BI tools list views, not foreign tables)."""
    plpy = server.plpy
    row = catalog.model_row(model, version, extra=", features")
    table = Source(source, key)
    if table.key is None:
        raise PgdlError("table %s has no primary key to name its rows by" % table.name,
                        hint="Name the key column: key => '...'.", sqlstate="42P10")
    key_column = table.column(table.key, "key")
    names_ = [n.strip() for n in features.split(",")] if features else row["features"]
    if not names_:
        raise PgdlError('model "%s" does not say which columns hold its features' % model,
                        hint="Give them: features => '...'.", sqlstate="22023")
    feature_expression(table, names_, None)       # the feature columns exist and can be features
    columns = [(table.key, key_column["type"]), ("version", "integer")]
    if row["task"] == "classification":
        class_type = _class_type(row["class_type"], model)
        columns += [("class", class_type), ("probability", "double precision"),
                    ("probabilities", "double precision[]"), ("top_classes", class_type + "[]"),
                    ("top_probabilities", "double precision[]")]
    else:
        columns.append(("value", "double precision"))
    for column in pass_through or []:
        if column in dict(columns):
            raise PgdlError('pass-through column "%s" clashes with a predictions column' % column,
                            sqlstate="42701")
        columns.append((column, table.column(column, "pass-through column")["type"]))
    options = [("kind", "predictions"), ("model", model), ("owner", row["owner"]),
               ("source", table.qualified), ("key", table.key), ("version", version),
               ("segments", segments), ("features", features), ("on_error", on_error_option),
               ("top_k", top_k), ("batch_size", batch_size)]
    target = names.new_relation(name, "predictions table")
    plpy.execute("CREATE FOREIGN TABLE %s (%s) SERVER pgdl OPTIONS (%s)" % (
        target, ", ".join("%s %s" % (ident(c), t) for c, t in columns),
        ", ".join("%s %s" % (ident(option), literal(value))
                  for option, value in options if value is not None)))
    if view is not None:
        shown = names.new_relation(view, "view")
        plpy.execute("CREATE VIEW %s AS SELECT * FROM %s" % (shown, target))
        plpy.execute("COMMENT ON VIEW %s IS %s" % (shown, literal(
            "predictions of model %s on %s (foreign table %s), for tools that list views"
            % (model, table.name, target))))
    return target


def _class_type(stored, model):
    """The type of a model's class column, as format_type writes it: the
    stored name must still name a type."""
    found = catalog.type_name(stored or "text")
    if found is None:
        raise PgdlError('model "%s" has class type "%s", which is not a type' % (model, stored),
                        sqlstate="42704")
    return found


class _Window:
    """Scored source rows of the keys from `low` to `high` (None: to the end
    of the source), all of them: what a statement's lookups read in key
    order.  Each lookup just past the window (keys coming in order) doubles
    the next window's size; a lookup elsewhere starts again at one row."""

    def __init__(self, marker):
        self.marker = marker
        self.low = self.high = self.last = None
        self.size = 0
        self.positions, self.columns = {}, {}

    def look_up(self, key):
        """Records a lookup of key (the order of lookups sizes the next
        window); whether the window holds key's rows already."""
        self.last, last = key, self.last
        self._in_order = last is not None and self.low is not None and last >= self.low and \
            self.high is not None and key > self.high
        return self.low is not None and self.low <= key and (self.high is None or
                                                             key <= self.high)

    def next_size(self, key):
        self.size = min(self.size * 2, LARGEST_WINDOW) if self._in_order else 1
        return self.size

    def fill(self, key, size, keys, rows, columns):
        keys = keys.tolist() if isinstance(keys, np.ndarray) else keys
        self.low = key
        self.high = keys[-1] if rows >= size else None
        self.positions = {}
        for position, found in enumerate(keys):
            self.positions.setdefault(found, []).append(position)
        self.columns = columns

    def select(self, key):
        """(rows, {column: values}) of the rows of `key` in the window."""
        positions = self.positions.get(key, [])
        return len(positions), {name: batches.take(values, positions)
                                for name, values in self.columns.items()}
